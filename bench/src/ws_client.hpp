#pragma once
// One client WebSocket on /v1/ws as a device holds it: TCP connect, upgrade, hello, welcome,
// then an idle connection that answers the server's pings until it is closed.
// Every member function runs on the connection's own strand (executor()).

#include "net.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace parley::bench {

// Where opening a connection stopped, for the error counts of the report.
enum class open_stage { ok, connect, upgrade, hello, welcome, timeout };
const char* stage_name(open_stage s);

class ws_connection : public std::enable_shared_from_this<ws_connection> {
 public:
  explicit ws_connection(asio::any_io_executor strand);

  asio::any_io_executor executor() { return ws_.get_executor(); }

  // Connects from `source`, upgrades on /v1/ws, sends `hello` (a JSON text) and waits for the
  // welcome frame, all within `timeout`. Returns the stage that failed, or ok.
  asio::awaitable<open_stage> open(const target& t, const asio::ip::address_v4& source,
                                   std::string hello, std::chrono::milliseconds timeout);

  // Keeps one read pending so that the server's pings are answered, until close() or the
  // server closes; a close by the server increments `lost`.
  void hold(std::shared_ptr<std::atomic<std::size_t>> lost);

  // WebSocket close handshake (1000) within `timeout`, then the socket is closed. True when
  // the handshake completed.
  asio::awaitable<bool> close(std::chrono::milliseconds timeout);

  // Closes the socket without a handshake (a close() that did not finish in time). Any thread.
  void abort();

  // The open stream, for a phase that reads and writes its own frames (on executor() only, and
  // not together with hold()).
  beast::websocket::stream<beast::tcp_stream>& stream() { return ws_; }
  // Marks the connection as being closed by us (a read that fails afterwards is not a loss).
  void set_closing() { closing_ = true; }
  bool closing() const { return closing_; }

 private:
  asio::awaitable<void> read_loop(std::shared_ptr<std::atomic<std::size_t>> lost);

  beast::websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  bool closing_ = false;
};

}  // namespace parley::bench
