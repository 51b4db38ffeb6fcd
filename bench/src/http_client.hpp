#pragma once
// One keep-alive HTTP/1.1 connection to the server, as an app's backend or a device holds it.
// Not thread-safe: one coroutine at a time, on the executor given at construction.

#include "net.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace parley::bench {

struct http_reply {
  unsigned status = 0;
  std::string body;
};

class http_connection {
 public:
  // `source_index` picks the loopback source address (target::source_for).
  http_connection(asio::any_io_executor ex, const target& t, std::size_t source_index);

  // Sends one request with a JSON body (or none), connecting first when there is no open
  // connection, and reads the answer; every step has `timeout`. A transport error closes the
  // connection (the next request reconnects) and is returned as the error.
  asio::awaitable<boost::system::result<http_reply>> request(
      beast::http::verb verb, std::string_view path, std::string_view body,
      std::string_view api_token = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // How many TCP connections this object has opened.
  std::size_t connects() const { return connects_; }

  void close();

 private:
  // Passed by argument.
  const target& target_;
  std::size_t source_index_;
  // Owned.
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool open_ = false;
  std::size_t connects_ = 0;
};

}  // namespace parley::bench
