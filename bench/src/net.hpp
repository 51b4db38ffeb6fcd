#pragma once
// The pieces every phase shares: the server's address, the loopback source addresses the
// client sockets are spread over, and the pool of I/O threads the client coroutines run on.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace parley::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

struct target {
  tcp::endpoint server;
  std::string host_header;  // "127.0.0.1:PORT"
  std::string app_id;
  std::string api_token;
  // Each client socket binds to one of these before it connects: each loopback address has the
  // whole ephemeral port range to itself, so 10,000 sockets plus TIME_WAIT leftovers of earlier
  // phases never run short of ports.
  std::vector<asio::ip::address_v4> sources;

  const asio::ip::address_v4& source_for(std::size_t i) const {
    return sources[i % sources.size()];
  }
};

// Parses "http://HOST:PORT" (a numeric IPv4 host; TLS is not benchmarked). Empty on error.
std::optional<tcp::endpoint> parse_url(const std::string& url);

// 127.0.0.2, 127.0.0.3, ... (count addresses).
std::vector<asio::ip::address_v4> loopback_sources(int count);

// Opens the stream's socket bound to `source` (the port is picked at connect time:
// IP_BIND_ADDRESS_NO_PORT) and connects it to `server` within `timeout`.
asio::awaitable<beast::error_code> connect_from(beast::tcp_stream& stream,
                                                const asio::ip::address_v4& source,
                                                const tcp::endpoint& server,
                                                std::chrono::milliseconds timeout);

// An io_context run by `threads` threads until the pool is destroyed. Coroutines are spawned
// on strands of it, so each connection's state is touched by one thread at a time.
class worker_pool {
 public:
  explicit worker_pool(int threads);
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  asio::any_io_executor new_strand();

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace parley::bench
