#include "transport/ws_session.hpp"

#include "api/ws_dispatch.hpp"
#include "common/log.hpp"
#include "services/client_connection.hpp"
#include "services/limits.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>

namespace parley::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using asio::use_awaitable;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

template <class Stream>
class ws_session final : public std::enable_shared_from_this<ws_session<Stream>>,
                         public services::client_connection,
                         public drainable {
 public:
  ws_session(Stream&& stream, std::string remote, api::context& ctx, const transport_config& cfg)
      : ws_(std::move(stream)),
        hello_timer_(ws_.get_executor()),
        resume_timer_(ws_.get_executor()),
        remote_(std::move(remote)),
        ctx_(ctx),
        cfg_(cfg) {}

  ~ws_session() override { --ctx_.stats.ws_connections; }

  void start(http::request<http::string_body> req) {
    ++ctx_.stats.ws_connections;
    asio::co_spawn(
        ws_.get_executor(),
        [self = this->shared_from_this(), r = std::move(req)]() mutable {
          return self->run(std::move(r));
        },
        asio::detached);
  }

  // services::client_connection
  void send(std::string text) override {
    asio::dispatch(ws_.get_executor(),
                   [self = this->shared_from_this(), t = std::move(text)]() mutable {
                     self->enqueue(std::move(t));
                   });
  }

  void close(int code, std::string reason) override {
    asio::dispatch(ws_.get_executor(),
                   [self = this->shared_from_this(), code, r = std::move(reason)]() mutable {
                     self->begin_close(code, std::move(r));
                   });
  }

  void resume_reading() override {
    asio::dispatch(ws_.get_executor(), [self = this->shared_from_this()] {
      self->resumed_ = true;
      self->resume_timer_.cancel();
    });
  }

  // drainable
  void drain() override { close(services::close_code::going_away, "server going away"); }

 private:
  asio::awaitable<void> run(http::request<http::string_body> req) {
    auto self = this->shared_from_this();
    beast::get_lowest_layer(ws_).expires_never();
    // Beast sends a ping after heartbeat_s of silence and gives up after 2 × heartbeat_s:
    // the protocol's liveness rule, with no timer of our own per connection.
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(5);
    t.idle_timeout = std::chrono::seconds(2 * cfg_.heartbeat_s);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(limits::ws_message_bytes);
    ws_.auto_fragment(false);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "parleyd"); }));

    auto [ec] = co_await ws_.async_accept(req, tuple_awaitable);
    if (ec) co_return;
    accepted_ = true;
    handler_ = api::open_ws_handler(ctx_, self);
    arm_hello_timer();
    // A close requested during the handshake (a drain) goes out now that writes are allowed.
    if (pending_close_ && !writing_) {
      writing_ = true;
      asio::co_spawn(ws_.get_executor(), write_loop(), asio::detached);
    }

    for (;;) {
      auto [rec, n] = co_await ws_.async_read(buffer_, tuple_awaitable);
      if (rec) {
        if (rec == websocket::error::message_too_big)
          ctx_.stats.ws_closes_total.add({std::to_string(services::close_code::too_big)});
        break;
      }
      if (!got_first_) {
        got_first_ = true;
        hello_timer_.cancel();
      }
      bool held = false;
      if (!closing_) {
        auto data = buffer_.data();
        if (ws_.got_text())
          held = handler_->on_text(
              std::string_view(static_cast<const char*>(data.data()), data.size()));
        else
          handler_->on_binary();
      }
      buffer_.consume(buffer_.size());
      // An idle connection should not keep a large buffer from one big message.
      if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();
      // The answer comes later (a call change waiting for its commit): the next message waits
      // for it, so that this connection's requests apply in order. The answer always comes.
      while (held && !resumed_) {
        resume_timer_.expires_at(asio::steady_timer::time_point::max());
        (void)co_await resume_timer_.async_wait(tuple_awaitable);
      }
      resumed_ = false;
    }
    closing_ = true;
    hello_timer_.cancel();
    handler_->on_close();
    handler_.reset();  // the handler holds this session: break the cycle
    queue_.clear();
  }

  void arm_hello_timer() {
    hello_timer_.expires_after(std::chrono::milliseconds(cfg_.hello_timeout_ms));
    hello_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->got_first_) return;
      self->ctx_.stats.ws_closes_total.add({std::to_string(services::close_code::no_hello)});
      self->begin_close(services::close_code::no_hello, "no hello");
    });
  }

  void enqueue(std::string text) {
    if (closing_) return;
    if (queued_bytes_ + text.size() > cfg_.max_outbound_bytes) {
      // A slow consumer is closed rather than buffered without end.
      log::warn("ws_slow_consumer", {{"remote", remote_}});
      queue_.clear();
      queued_bytes_ = 0;
      begin_close(static_cast<int>(websocket::close_code::policy_error), "slow consumer");
      return;
    }
    queued_bytes_ += text.size();
    queue_.push_back(std::move(text));
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ws_.get_executor(), write_loop(), asio::detached);
    }
  }

  void begin_close(int code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    pending_close_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    // Beast allows one write at a time, and the handshake's 101 response is one: before it is
    // done, run() sends the close.
    if (!accepted_) return;
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ws_.get_executor(), write_loop(), asio::detached);
    }
  }

  // The one writer: sends queued messages in order, then the close frame if one is pending.
  asio::awaitable<void> write_loop() {
    auto self = this->shared_from_this();
    while (!queue_.empty()) {
      auto msg = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= msg.size();
      ws_.text(true);
      auto [ec, n] = co_await ws_.async_write(asio::buffer(msg), tuple_awaitable);
      if (ec) {
        queue_.clear();
        queued_bytes_ = 0;
        writing_ = false;
        co_return;
      }
    }
    if (pending_close_) {
      auto reason = *pending_close_;
      pending_close_.reset();
      auto [ec] = co_await ws_.async_close(reason, tuple_awaitable);
      (void)ec;
    }
    writing_ = false;
  }

  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  asio::steady_timer hello_timer_;
  asio::steady_timer resume_timer_;  // the read loop's wait for resume_reading
  std::string remote_;
  api::context& ctx_;
  const transport_config& cfg_;
  std::unique_ptr<api::ws_handler> handler_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::optional<websocket::close_reason> pending_close_;
  bool writing_ = false;
  bool closing_ = false;
  bool got_first_ = false;
  bool accepted_ = false;
  bool resumed_ = false;
};

}  // namespace

template <class Stream>
void start_ws_session(Stream stream, http::request<http::string_body> req,
                      std::string remote_address, api::context& ctx, const transport_config& cfg,
                      drain_registry& registry) {
  auto s =
      std::make_shared<ws_session<Stream>>(std::move(stream), std::move(remote_address), ctx, cfg);
  registry.add(s);
  s->start(std::move(req));
}

template void start_ws_session<beast::tcp_stream>(beast::tcp_stream,
                                                  http::request<http::string_body>, std::string,
                                                  api::context&, const transport_config&,
                                                  drain_registry&);
template void start_ws_session<beast::ssl_stream<beast::tcp_stream>>(
    beast::ssl_stream<beast::tcp_stream>, http::request<http::string_body>, std::string,
    api::context&, const transport_config&, drain_registry&);

}  // namespace parley::transport
