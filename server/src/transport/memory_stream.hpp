#pragma once
// An in-memory socket for replaying bytes through the real sessions (transport::replay_http):
// Beast's test stream, plus what the sessions ask of a socket. It stands in for the TLS stream
// (its handshake and shutdown complete at once), so the session code takes no special path for
// it. Deadlines are ignored: a replay never waits on the peer, whose input is complete and
// closed from the start.

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/role.hpp>

#include <chrono>

namespace parley::transport {

class memory_stream : public boost::beast::test::stream {
 public:
  using boost::beast::test::stream::stream;

  // The socket of the lowest layer, as the sessions close it (with or without an error code).
  memory_stream& socket() noexcept { return *this; }
  using boost::beast::test::stream::close;
  void close(boost::system::error_code& ec) {
    ec = {};
    close();
  }

  template <class Duration>
  void expires_after(Duration) noexcept {}
  void expires_never() noexcept {}

  template <class Token>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type, Token&& token) {
    return complete_now(std::forward<Token>(token));
  }
  template <class Token>
  auto async_shutdown(Token&& token) {
    return complete_now(std::forward<Token>(token));
  }

 private:
  template <class Token>
  auto complete_now(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [ex = get_executor()](auto handler) {
          boost::asio::post(ex, boost::beast::bind_front_handler(std::move(handler),
                                                                 boost::system::error_code{}));
        },
        token);
  }
};

// The WebSocket close of the test stream, found by argument-dependent lookup (Beast's generic
// teardown refuses socket types it does not know).
inline void teardown(boost::beast::role_type role, memory_stream& s,
                     boost::system::error_code& ec) {
  boost::beast::test::teardown(role, static_cast<boost::beast::test::stream&>(s), ec);
}
template <class Handler>
void async_teardown(boost::beast::role_type role, memory_stream& s, Handler&& handler) {
  boost::beast::test::async_teardown(role, static_cast<boost::beast::test::stream&>(s),
                                     std::forward<Handler>(handler));
}

}  // namespace parley::transport
