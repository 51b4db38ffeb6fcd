#include "ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

namespace parley::bench {

namespace websocket = beast::websocket;
constexpr auto tuple = asio::as_tuple(asio::use_awaitable);

const char* stage_name(open_stage s) {
  switch (s) {
    case open_stage::ok:
      return "ok";
    case open_stage::connect:
      return "tcp connect";
    case open_stage::upgrade:
      return "websocket upgrade";
    case open_stage::hello:
      return "hello write";
    case open_stage::welcome:
      return "no welcome (error frame or close)";
    case open_stage::timeout:
      return "timeout";
  }
  return "?";
}

ws_connection::ws_connection(asio::any_io_executor strand) : ws_(std::move(strand)) {}

asio::awaitable<open_stage> ws_connection::open(const target& t, const asio::ip::address_v4& source,
                                                std::string hello,
                                                std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  auto& tcp_stream = beast::get_lowest_layer(ws_);
  auto timed_out = [&](const beast::error_code& ec) { return ec == beast::error::timeout; };

  if (auto ec = co_await connect_from(tcp_stream, source, t.server, timeout))
    co_return timed_out(ec) ? open_stage::timeout : open_stage::connect;

  // The tcp_stream's deadline covers the upgrade, the hello and the wait for the welcome; the
  // WebSocket layer's own timeouts stay off (Beast advises against using both).
  tcp_stream.expires_at(deadline);
  ws_.read_message_max(1 << 20);
  auto [hec] = co_await ws_.async_handshake(t.host_header, "/v1/ws", tuple);
  if (hec) co_return timed_out(hec) ? open_stage::timeout : open_stage::upgrade;

  ws_.text(true);
  auto [wec, wn] = co_await ws_.async_write(asio::buffer(hello), tuple);
  if (wec) co_return timed_out(wec) ? open_stage::timeout : open_stage::hello;

  auto [rec, rn] = co_await ws_.async_read(buffer_, tuple);
  if (rec) co_return timed_out(rec) ? open_stage::timeout : open_stage::welcome;
  auto data = buffer_.data();
  boost::system::error_code jec;
  auto frame =
      boost::json::parse(std::string_view(static_cast<const char*>(data.data()), data.size()), jec);
  buffer_.consume(buffer_.size());
  const auto* obj = frame.if_object();
  const auto* type = obj ? obj->if_contains("type") : nullptr;
  if (jec || !type || !type->is_string() || type->get_string() != "welcome")
    co_return open_stage::welcome;
  tcp_stream.expires_never();
  co_return open_stage::ok;
}

void ws_connection::hold(std::shared_ptr<std::atomic<std::size_t>> lost) {
  asio::co_spawn(executor(), read_loop(std::move(lost)), asio::detached);
}

asio::awaitable<void> ws_connection::read_loop(std::shared_ptr<std::atomic<std::size_t>> lost) {
  auto self = shared_from_this();
  for (;;) {
    // Beast answers ping frames while this read is pending.
    auto [ec, n] = co_await ws_.async_read(buffer_, tuple);
    buffer_.consume(buffer_.size());
    if (ec) {
      if (!closing_) ++*lost;
      co_return;
    }
  }
}

asio::awaitable<bool> ws_connection::close(std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  closing_ = true;
  auto& tcp_stream = beast::get_lowest_layer(ws_);
  tcp_stream.expires_after(timeout);
  auto [ec] = co_await ws_.async_close(websocket::close_code::normal, tuple);
  beast::error_code ignored;
  tcp_stream.socket().close(ignored);
  co_return !ec;
}

void ws_connection::abort() {
  asio::post(executor(), [self = shared_from_this()] {
    self->closing_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(self->ws_).socket().close(ignored);
  });
}

}  // namespace parley::bench
