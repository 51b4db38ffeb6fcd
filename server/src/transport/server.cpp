#include "transport/server.hpp"

#include "api/ws_dispatch.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "transport/drain.hpp"
#include "transport/http_session.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <csignal>
#include <optional>
#include <stdexcept>
#include <thread>

namespace parley::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

class server_impl final : public server {
 public:
  server_impl(const transport_config& cfg, api::context& ctx, api::http_api& http)
      : cfg_(cfg),
        ctx_(ctx),
        http_(http),
        ioc_(1),
        acceptor_(ioc_),
        signals_(ioc_, SIGTERM, SIGINT),
        ticker_(ioc_) {
    if (!cfg_.tls_cert_file.empty() || !cfg_.tls_key_file.empty()) {
      if (cfg_.tls_cert_file.empty() || cfg_.tls_key_file.empty())
        throw std::runtime_error("--tls-cert and --tls-key go together");
      ssl_.emplace(asio::ssl::context::tls_server);
      ssl_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1);
      beast::error_code ec;
      ssl_->use_certificate_chain_file(cfg_.tls_cert_file, ec);
      if (ec) throw std::runtime_error("cannot load --tls-cert: " + ec.message());
      ssl_->use_private_key_file(cfg_.tls_key_file, asio::ssl::context::pem, ec);
      if (ec) throw std::runtime_error("cannot load --tls-key: " + ec.message());
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(cfg_.host, ec);
    if (ec) throw std::runtime_error("bad listen address " + cfg_.host);
    tcp::endpoint ep{address, cfg_.port};
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep, ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + cfg_.host + ":" + std::to_string(cfg_.port) +
                               ": " + ec.message());
    acceptor_.listen(asio::socket_base::max_listen_connections);
    for (int i = 1; i < cfg_.threads; ++i) workers_.push_back(std::make_unique<worker>());
  }

  std::uint16_t port() const override { return acceptor_.local_endpoint().port(); }
  bool tls() const override { return ssl_.has_value(); }

  // One io_context per I/O thread: a connection lives on one thread for its whole life, so its
  // handlers never wait for or wake another thread; only events for a connection of another
  // thread (a call's other party) cross over. The first context also accepts, ticks and drains.
  void run() override {
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    asio::co_spawn(ioc_, tick_loop(), asio::detached);
    signals_.async_wait([this](beast::error_code ec, int sig) {
      if (!ec) begin_drain(sig);
    });
    std::vector<std::thread> threads;
    for (auto& w : workers_) threads.emplace_back([&w] { w->ioc.run(); });
    ioc_.run();
    for (auto& w : workers_) {
      w->guard.reset();
      w->ioc.stop();
    }
    for (auto& t : threads) t.join();
  }

 private:
  // The context of the next accepted connection: the threads in turn.
  asio::io_context& next_context() {
    auto i = next_++ % (workers_.size() + 1);
    return i == 0 ? ioc_ : workers_[i - 1]->ioc;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket socket{asio::make_strand(next_context())};
      auto [ec] = co_await acceptor_.async_accept(socket, tuple_awaitable);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        // Out of descriptors or a transient error: wait a little rather than spin.
        log::warn("accept_failed", {{"error", ec.message()}});
        asio::steady_timer pause(ioc_, std::chrono::milliseconds(50));
        co_await pause.async_wait(tuple_awaitable);
        continue;
      }
      beast::error_code rec;
      auto remote = socket.remote_endpoint(rec);
      std::string remote_address = rec ? "unknown" : remote.address().to_string();
      socket.set_option(tcp::no_delay(true), rec);
      if (ssl_) {
        start_http_session(beast::ssl_stream<beast::tcp_stream>(std::move(socket), *ssl_),
                           std::move(remote_address), ctx_, http_, cfg_, registry_);
      } else {
        start_http_session(beast::tcp_stream(std::move(socket)), std::move(remote_address), ctx_,
                           http_, cfg_, registry_);
      }
    }
  }

  // Session expiry, call timers and rate-limit pruning: a quarter-second tick is well inside
  // the protocol's one-second promises. Call deadlines are rows, so a restart loses none.
  asio::awaitable<void> tick_loop() {
    int n = 0;
    while (!stopping_) {
      ticker_.expires_after(std::chrono::milliseconds(250));
      auto [ec] = co_await ticker_.async_wait(tuple_awaitable);
      if (ec) co_return;
      auto now = now_ms();
      api::sweep_sessions(ctx_, now);
      ctx_.calls.fire_timers(now);
      if (++n % 4 == 0) {
        ctx_.calls.record_alive(now);
        ctx_.auth.prune_sessions(now);
      }
      if (n % 240 == 0) ctx_.auth.prune(now);
    }
  }

  void begin_drain(int sig) {
    log::info("drain_started", {{"signal", sig}});
    ctx_.draining = true;
    beast::error_code ec;
    acceptor_.close(ec);
    registry_.drain_all();
    drain_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(cfg_.drain_timeout_s);
    asio::co_spawn(ioc_, wait_drained(), asio::detached);
  }

  asio::awaitable<void> wait_drained() {
    asio::steady_timer t(ioc_);
    while (registry_.live() > 0 && std::chrono::steady_clock::now() < drain_deadline_) {
      t.expires_after(std::chrono::milliseconds(20));
      co_await t.async_wait(tuple_awaitable);
    }
    log::info("drain_finished", {{"left", static_cast<std::int64_t>(registry_.live())}});
    stopping_ = true;
    ioc_.stop();
  }

  const transport_config cfg_;
  api::context& ctx_;
  api::http_api& http_;
  asio::io_context ioc_;
  // The other I/O threads' contexts, kept running by their guards until the first one stops.
  struct worker {
    asio::io_context ioc{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
        ioc.get_executor()};
  };
  std::vector<std::unique_ptr<worker>> workers_;
  std::size_t next_ = 0;
  std::optional<asio::ssl::context> ssl_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer ticker_;
  drain_registry registry_;
  std::chrono::steady_clock::time_point drain_deadline_;
  std::atomic<bool> stopping_{false};
};

}  // namespace

std::unique_ptr<server> create_server(const transport_config& cfg, api::context& ctx,
                                      api::http_api& http) {
  return std::make_unique<server_impl>(cfg, ctx, http);
}

}  // namespace parley::transport
