#include "transport/ws_client.hpp"

#include "transport/asio_core.hpp"
#include "transport/net_util.hpp"
#include "transport/tls_context_impl.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <type_traits>

namespace parley::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

using plain_layer = beast::tcp_stream;
using tls_layer = beast::ssl_stream<beast::tcp_stream>;

template <class NextLayer>
class ws_client_impl final : public ws_client,
                             public std::enable_shared_from_this<ws_client_impl<NextLayer>> {
 public:
  static constexpr bool is_tls = std::is_same_v<NextLayer, tls_layer>;

  ws_client_impl(asio::io_context& ioc, endpoint ep, std::shared_ptr<tls_context> tls,
                 std::string target, ws_callbacks callbacks, ws_options options)
      : ioc_(ioc),
        ep_(std::move(ep)),
        tls_(std::move(tls)),
        target_(std::move(target)),
        cb_(std::move(callbacks)),
        options_(options),
        resolver_(ioc),
        ws_(make_stream(ioc, tls_.get())) {}

  void connect() override {
    auto self = this->shared_from_this();
    asio::co_spawn(ioc_, run(self), [self](std::exception_ptr e) {
      if (!e) return;
      ws_close_event event;
      event.reason = "internal error in the WebSocket client";
      self->finish(event);
    });
  }

  void send(std::string text) override {
    if (!opened_ || close_requested_ || finished_) return;
    if (queue_.size() >= options_.max_queued_messages) {
      // The server does not read what we send: treat it as a dead connection.
      failure_reason_ = "send queue full";
      abort();
      return;
    }
    queue_.push_back(std::move(text));
    if (!writing_) write_next();
  }

  void close(int code, std::string reason) override {
    if (finished_ || close_requested_) return;
    close_requested_ = true;
    if (!opened_) {
      failure_reason_ = "closed by the client";
      abort();
      return;
    }
    websocket::close_reason cr(static_cast<websocket::close_code>(code), reason);
    ws_.async_close(cr, [self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec) self->abort();
    });
  }

  void set_idle_timeout(std::chrono::milliseconds timeout) override {
    options_.idle_timeout = timeout;
    if (opened_) ws_.set_option(timeout_option());
  }

 private:
  static websocket::stream<NextLayer> make_stream(asio::io_context& ioc, tls_context* tls) {
    if constexpr (is_tls)
      return websocket::stream<NextLayer>(ioc, tls->native());
    else
      return websocket::stream<NextLayer>(ioc);
  }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(ws_); }

  websocket::stream_base::timeout timeout_option() const {
    websocket::stream_base::timeout opt;
    opt.handshake_timeout = options_.handshake_timeout;
    opt.idle_timeout = options_.idle_timeout;
    opt.keep_alive_pings = true;  // ping at idle/2 of silence, give up at idle
    return opt;
  }

  void abort() {
    resolver_.cancel();
    boost::system::error_code ignored;
    lowest().socket().close(ignored);
  }

  void finish(const ws_close_event& event) {
    if (finished_) return;
    finished_ = true;
    // A write in progress still refers to the front message; its handler clears the queue.
    if (!writing_) queue_.clear();
    abort();
    if (cb_.on_close) cb_.on_close(event);
    cb_ = {};  // drop what the owner's callbacks captured
  }

  void write_next() {
    if (queue_.empty() || close_requested_ || finished_) return;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (self->finished_) {
                        self->queue_.clear();
                        return;
                      }
                      if (ec) {
                        if (self->failure_reason_.empty())
                          self->failure_reason_ = "write: " + ec.message();
                        self->abort();
                        return;
                      }
                      if (!self->queue_.empty()) self->queue_.pop_front();
                      self->write_next();
                    });
  }

  ws_close_event failed(const char* step, const boost::system::error_code& ec) {
    ws_close_event event;
    event.opened = opened_;
    if (!failure_reason_.empty())
      event.reason = failure_reason_;
    else if (ec == beast::error::timeout)
      event.reason = std::string(step) + ": timed out";
    else
      event.reason = std::string(step) + ": " + ec.message();
    return event;
  }

  static asio::awaitable<void> run(std::shared_ptr<ws_client_impl> self) {
    auto& ws = self->ws_;
    auto& ep = self->ep_;

    // Connect within the handshake timeout (tcp_stream's own deadline), then TLS, then upgrade.
    self->lowest().expires_after(self->options_.handshake_timeout);
    auto [resolve_ec, results] =
        co_await self->resolver_.async_resolve(ep.host, ep.port, nothrow_awaitable);
    if (resolve_ec) co_return self->finish(self->failed("resolve", resolve_ec));
    auto [connect_ec, peer] = co_await self->lowest().async_connect(results, nothrow_awaitable);
    if (connect_ec) co_return self->finish(self->failed("connect", connect_ec));

    if constexpr (is_tls) {
      auto& stream = ws.next_layer();
      if (!is_ip_literal(ep.host))
        SSL_set_tlsext_host_name(stream.native_handle(), ep.host.c_str());
      stream.set_verify_callback(ssl::host_name_verification(ep.host));
      auto [hs_ec] = co_await stream.async_handshake(ssl::stream_base::client, nothrow_awaitable);
      if (hs_ec) co_return self->finish(self->failed("TLS handshake", hs_ec));
    }

    // From here the WebSocket's own timeouts apply.
    self->lowest().expires_never();
    ws.set_option(self->timeout_option());
    ws.read_message_max(self->options_.max_message_bytes);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "libparley/0.1");
    }));
    if (self->close_requested_) co_return self->finish(self->failed("upgrade", {}));
    auto [upgrade_ec] = co_await ws.async_handshake(host_header(ep), ep.base_path + self->target_,
                                                    nothrow_awaitable);
    if (upgrade_ec) co_return self->finish(self->failed("upgrade", upgrade_ec));
    if (self->close_requested_) co_return self->finish(self->failed("upgrade", {}));

    self->opened_ = true;
    if (self->cb_.on_open) self->cb_.on_open();

    // One read always outstanding until the connection ends.
    beast::flat_buffer buffer;
    for (;;) {
      auto [read_ec, n] = co_await ws.async_read(buffer, nothrow_awaitable);
      if (read_ec) {
        if (read_ec == websocket::error::closed) {
          ws_close_event event;
          event.opened = true;
          event.code = static_cast<int>(ws.reason().code);
          event.reason = std::string(ws.reason().reason.c_str());
          event.by_peer = !self->close_requested_;
          co_return self->finish(event);
        }
        co_return self->finish(self->failed("read", read_ec));
      }
      if (self->finished_) co_return;
      if (ws.got_text()) {
        std::string text = beast::buffers_to_string(buffer.data());
        buffer.consume(n);
        if (self->cb_.on_text) self->cb_.on_text(std::move(text));
      } else {
        buffer.consume(n);
        if (self->cb_.on_binary) self->cb_.on_binary();
      }
    }
  }

  asio::io_context& ioc_;
  endpoint ep_;
  std::shared_ptr<tls_context> tls_;
  std::string target_;
  ws_callbacks cb_;
  ws_options options_;
  tcp::resolver resolver_;
  websocket::stream<NextLayer> ws_;
  std::deque<std::string> queue_;
  std::string failure_reason_;
  bool writing_ = false;
  bool opened_ = false;
  bool close_requested_ = false;
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<ws_client> ws_client::create(event_loop& loop, endpoint ep,
                                             std::shared_ptr<tls_context> tls, std::string target,
                                             ws_callbacks callbacks, ws_options options) {
  auto& ioc = loop.core().ioc;
  if (ep.tls)
    return std::make_shared<ws_client_impl<tls_layer>>(
        ioc, std::move(ep), std::move(tls), std::move(target), std::move(callbacks), options);
  return std::make_shared<ws_client_impl<plain_layer>>(
      ioc, std::move(ep), nullptr, std::move(target), std::move(callbacks), options);
}

}  // namespace parley::transport
