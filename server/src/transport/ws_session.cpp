#include "transport/ws_session.hpp"

#include "api/responses.hpp"
#include "api/ws_dispatch.hpp"
#include "common/log.hpp"
#include "services/client_connection.hpp"
#include "services/limits.hpp"
#include "transport/memory_stream.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <atomic>
#include <deque>

namespace parley::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using asio::use_awaitable;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

// Control frames (pings and pongs) a connection may send: a burst of control_burst, refilled at
// control_rate_per_s. A client's keep-alive needs one every few seconds; a flood makes the
// server write a pong per ping, so past the budget the connection is closed with 1008.
constexpr double control_burst = 20;
constexpr double control_rate_per_s = 2;

class control_budget {
 public:
  bool take() {
    auto now = std::chrono::steady_clock::now();
    tokens_ =
        std::min(control_burst,
                 tokens_ + control_rate_per_s * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double tokens_ = control_burst;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

template <class Stream>
class ws_session final : public std::enable_shared_from_this<ws_session<Stream>>,
                         public services::client_connection,
                         public drainable,
                         public reapable {
 public:
  ws_session(Stream&& stream, std::string remote, api::context& ctx, const transport_config& cfg,
             std::shared_ptr<connection_slot> slot)
      : ws_(std::move(stream)),
        hello_timer_(ws_.get_executor()),
        resume_(ws_.get_executor(), 1),
        slot_(std::move(slot)),
        remote_(std::move(remote)),
        ctx_(ctx),
        cfg_(cfg) {}

  ~ws_session() override { --ctx_.stats.ws_connections; }

  void start(http::request<http::string_body> req) {
    ++ctx_.stats.ws_connections;
    // Reapable at the cap until its first message.
    slot_->set_target(this->weak_from_this());
    slot_->idle();
    asio::co_spawn(
        ws_.get_executor(),
        [self = this->shared_from_this(), r = std::move(req)]() mutable {
          return self->run(std::move(r));
        },
        asio::detached);
  }

  // services::client_connection
  // The bytes are reserved here, on the sender's thread, so that the answer is known at once:
  // a message that would pass the cap is dropped (and the connection closed 1008), never
  // reported as sent.
  bool send(std::string text) override {
    if (closed_.load(std::memory_order_acquire)) return false;
    auto n = text.size();
    if (reserved_bytes_.fetch_add(n) + n > cfg_.max_outbound_bytes) {
      reserved_bytes_.fetch_sub(n);
      // Doomed: no later message (however small) may be reported as sent.
      closed_.store(true, std::memory_order_release);
      asio::dispatch(ws_.get_executor(),
                     [self = this->shared_from_this()] { self->close_slow_consumer(); });
      return false;
    }
    asio::dispatch(ws_.get_executor(),
                   [self = this->shared_from_this(), t = std::move(text)]() mutable {
                     self->enqueue(std::move(t));
                   });
    return true;
  }

  void close(int code, std::string reason) override {
    closed_.store(true, std::memory_order_release);
    asio::dispatch(ws_.get_executor(),
                   [self = this->shared_from_this(), code, r = std::move(reason)]() mutable {
                     self->begin_close(code, std::move(r));
                   });
  }

  // From any thread: the channel completes the read loop's wait on the strand. The answer was
  // queued by send() before this call, and both reach the strand in that order.
  void resume_reading() override { resume_.try_send(boost::system::error_code{}); }

  std::string remote_address() const override { return remote_; }

  // drainable
  void drain() override { close(services::close_code::going_away, "server going away"); }

  // reapable: a connection that has sent nothing yet is closed without a close handshake.
  void reap() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

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
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "parleyd");
      // A refused handshake (Beast checks the request) answers like every other HTTP error:
      // 400 with the protocol's JSON error body, Beast's reason as the message. A wrong
      // Sec-WebSocket-Version keeps its "Sec-WebSocket-Version: 13" header.
      if (res.result() == http::status::switching_protocols) return;
      auto out = api::error_response(
          fail(errc::invalid_request, "bad WebSocket handshake: " + std::string(res.body())));
      res.result(static_cast<http::status>(out.status));
      res.set(http::field::content_type, out.content_type);
      res.body() = std::move(out.body);
      res.prepare_payload();
    }));
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::close || control_budget_.take() || closing_) return;
      ctx_.stats.ws_closes_total.add(
          {std::to_string(static_cast<int>(websocket::close_code::policy_error))});
      begin_close(static_cast<int>(websocket::close_code::policy_error), "too many pings");
    });

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
        slot_->busy();
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
      // for it, so that this connection's requests apply in order. The answer always comes;
      // when it came already (resume_reading during on_text), the wait ends at once.
      if (held) (void)co_await resume_.async_receive(tuple_awaitable);
    }
    closing_ = true;
    closed_.store(true, std::memory_order_release);
    hello_timer_.cancel();
    handler_->on_close();
    handler_.reset();  // the handler holds this session: break the cycle
    drop_queue();
  }

  void arm_hello_timer() {
    hello_timer_.expires_after(std::chrono::milliseconds(cfg_.hello_timeout_ms));
    hello_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->got_first_) return;
      self->ctx_.stats.ws_closes_total.add({std::to_string(services::close_code::no_hello)});
      self->begin_close(services::close_code::no_hello, "no hello");
    });
  }

  // The bytes were reserved by send().
  void enqueue(std::string text) {
    if (closing_) {
      reserved_bytes_.fetch_sub(text.size());
      return;
    }
    queued_bytes_ += text.size();
    queue_.push_back(std::move(text));
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ws_.get_executor(), write_loop(), asio::detached);
    }
  }

  // A slow consumer is closed rather than buffered without end (protocol.md: close 1008).
  void close_slow_consumer() {
    if (closing_) return;
    log::warn("ws_slow_consumer", {{"remote", remote_}});
    drop_queue();
    ctx_.stats.ws_closes_total.add({std::to_string(services::close_code::slow_consumer)});
    begin_close(services::close_code::slow_consumer, "slow consumer");
  }

  void drop_queue() {
    reserved_bytes_.fetch_sub(queued_bytes_);
    queued_bytes_ = 0;
    queue_.clear();
  }

  void begin_close(int code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    closed_.store(true, std::memory_order_release);
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
      reserved_bytes_.fetch_sub(msg.size());
      ws_.text(true);
      auto [ec, n] = co_await ws_.async_write(asio::buffer(msg), tuple_awaitable);
      if (ec) {
        drop_queue();
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
  // The read loop's wait for resume_reading. A concurrent channel: the resume comes from any
  // thread (the store's, once the held request's answer is sent). One slot: a resume that
  // comes before the wait is kept for it, and the sender never waits.
  asio::experimental::concurrent_channel<void(boost::system::error_code)> resume_;
  std::shared_ptr<connection_slot> slot_;  // this connection's place under the caps
  control_budget control_budget_;
  std::string remote_;
  api::context& ctx_;
  const transport_config& cfg_;
  std::unique_ptr<api::ws_handler> handler_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;  // in queue_
  // queued_bytes_ plus the messages send() accepted that are on their way to the strand: the
  // one count checked against the cap, from any thread.
  std::atomic<std::size_t> reserved_bytes_{0};
  std::atomic<bool> closed_{false};  // no send is accepted any more
  std::optional<websocket::close_reason> pending_close_;
  bool writing_ = false;
  bool closing_ = false;
  bool got_first_ = false;
  bool accepted_ = false;
};

}  // namespace

template <class Stream>
void start_ws_session(Stream stream, http::request<http::string_body> req,
                      std::string remote_address, api::context& ctx, const transport_config& cfg,
                      drain_registry& registry, std::shared_ptr<connection_slot> slot) {
  auto s = std::make_shared<ws_session<Stream>>(std::move(stream), std::move(remote_address), ctx,
                                                cfg, std::move(slot));
  registry.add(s);
  s->start(std::move(req));
}

template void start_ws_session<beast::tcp_stream>(beast::tcp_stream,
                                                  http::request<http::string_body>, std::string,
                                                  api::context&, const transport_config&,
                                                  drain_registry&,
                                                  std::shared_ptr<connection_slot>);
template void start_ws_session<beast::ssl_stream<beast::tcp_stream>>(
    beast::ssl_stream<beast::tcp_stream>, http::request<http::string_body>, std::string,
    api::context&, const transport_config&, drain_registry&, std::shared_ptr<connection_slot>);
// The in-memory stream of replay_http.
template void start_ws_session<memory_stream>(memory_stream, http::request<http::string_body>,
                                              std::string, api::context&, const transport_config&,
                                              drain_registry&, std::shared_ptr<connection_slot>);

}  // namespace parley::transport
