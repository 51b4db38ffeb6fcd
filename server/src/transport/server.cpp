#include "transport/server.hpp"

#include "api/ws_dispatch.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "transport/connection_limiter.hpp"
#include "transport/drain.hpp"
#include "transport/http_session.hpp"
#include "transport/session_env.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <sys/resource.h>

#include <csignal>
#include <optional>
#include <stdexcept>
#include <thread>

namespace parley::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::size_t raise_descriptor_limit() {
  constexpr rlim_t unlimited_as = 1 << 20;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  rlim_t want = lim.rlim_max == RLIM_INFINITY ? unlimited_as : lim.rlim_max;
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= want) return want;
  rlimit raised{want, lim.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return want;
  return lim.rlim_cur;
}

namespace {

constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The peer's address as the per-address cap counts it: IPv4 in IPv6 ("::ffff:1.2.3.4") is the
// IPv4 address.
std::string address_key(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

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
      // Mozilla's "intermediate" profile: TLS 1.2 with forward-secret AEAD suites only (ECDHE
      // with AES-GCM or ChaCha20-Poly1305; no static RSA key exchange, no CBC, no SHA-1 MACs),
      // and TLS 1.3 with OpenSSL's default suites (all of them AEAD and forward secret).
      SSL_CTX_set_min_proto_version(ssl_->native_handle(), TLS1_2_VERSION);
      if (SSL_CTX_set_cipher_list(ssl_->native_handle(), tls12_ciphers) != 1)
        throw std::runtime_error("OpenSSL refused the TLS 1.2 cipher list");
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

    auto descriptors = raise_descriptor_limit();
    connection_limits limits;
    limits.max_connections =
        cfg_.max_connections ? cfg_.max_connections : default_max_connections(descriptors);
    limits.max_per_address = cfg_.max_connections_per_address;
    limiter_ = connection_limiter::create(limits, &ctx_.stats.connections);
    log::info("connection_limits", {{"max_connections", limits.max_connections},
                                    {"max_connections_per_address", limits.max_per_address},
                                    {"ops_reserve", limits.ops_reserve},
                                    {"descriptor_limit", descriptors}});
    if (limits.max_connections + limits.ops_reserve + 64 > descriptors)
      log::warn("max_connections_near_descriptor_limit",
                {{"max_connections", limits.max_connections}, {"descriptor_limit", descriptors}});
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

  // Accepts for as long as the server runs. A failed accept (out of descriptors, mostly) never
  // stops the loop nor spins it: it frees a descriptor by reaping the oldest idle connection
  // and waits, 10 ms doubling to 1 s, before trying again.
  asio::awaitable<void> accept_loop() {
    auto pause = std::chrono::milliseconds(10);
    for (;;) {
      tcp::socket socket{asio::make_strand(next_context())};
      auto [ec] = co_await acceptor_.async_accept(socket, tuple_awaitable);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        ++ctx_.stats.accept_errors_total;
        if (limiter_->reap_oldest()) ++ctx_.stats.connections_reaped_total;
        // One line per run of failures, not one per attempt.
        if (pause == std::chrono::milliseconds(10))
          log::warn("accept_failed", {{"error", ec.message()}});
        asio::steady_timer t(ioc_, pause);
        co_await t.async_wait(tuple_awaitable);
        pause = std::min(pause * 2, std::chrono::milliseconds(1000));
        continue;
      }
      pause = std::chrono::milliseconds(10);
      beast::error_code rec;
      auto remote = socket.remote_endpoint(rec);
      if (rec) continue;  // already gone; the socket closes here
      auto remote_address = address_key(remote.address());
      // Each connection takes a slot, or is closed at once (connection_limiter.hpp).
      auto admission = limiter_->admit(remote_address);
      if (admission.reaped) ++ctx_.stats.connections_reaped_total;
      if (!admission.slot) {
        ctx_.stats.connections_refused_total.add(
            {admission.refused == connection_limiter::refusal::per_address ? "per_address"
                                                                           : "limit"});
        socket.close(rec);
        continue;
      }
      socket.set_option(tcp::no_delay(true), rec);
      if (ssl_) {
        start_http_session(beast::ssl_stream<beast::tcp_stream>(std::move(socket), *ssl_),
                           std::move(remote_address), env_, std::move(admission.slot));
      } else {
        start_http_session(beast::tcp_stream(std::move(socket)), std::move(remote_address), env_,
                           std::move(admission.slot));
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
    asio::co_spawn(ioc_, finish_drain(), asio::detached);
  }

  // Ends the run when the last session has gone (the registry wakes it) or at the drain
  // deadline, whichever comes first.
  asio::awaitable<void> finish_drain() {
    auto left = co_await registry_.wait_drained(std::chrono::seconds(cfg_.drain_timeout_s));
    log::info("drain_finished", {{"left", static_cast<std::int64_t>(left)}});
    stopping_ = true;
    ioc_.stop();
  }

  const transport_config cfg_;
  api::context& ctx_;
  api::http_api& http_;
  // The other I/O threads' contexts, kept running by their guards until the first one stops.
  // Declared before ioc_ so that they outlive it: destroying ioc_ destroys the accept loop it
  // still holds, whose next socket lives on a strand of one of these contexts.
  struct worker {
    asio::io_context ioc{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
        ioc.get_executor()};
  };
  std::vector<std::unique_ptr<worker>> workers_;
  asio::io_context ioc_;
  std::size_t next_ = 0;
  std::optional<asio::ssl::context> ssl_;
  std::shared_ptr<connection_limiter> limiter_;  // slots hold it too
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer ticker_;
  drain_registry registry_;
  const static_dir web_{cfg_.web_root};
  const static_dir sdk_{cfg_.sdk_dir};
  session_env env_{ctx_, http_, cfg_, registry_, web_, sdk_};
  std::atomic<bool> stopping_{false};
};

}  // namespace

std::unique_ptr<server> create_server(const transport_config& cfg, api::context& ctx,
                                      api::http_api& http) {
  return std::make_unique<server_impl>(cfg, ctx, http);
}

}  // namespace parley::transport
