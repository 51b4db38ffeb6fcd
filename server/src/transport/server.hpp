#pragma once
// The network edge of parleyd: listens (plain or TLS), runs HTTP sessions and WebSocket
// sessions on a thread pool, ticks the session-expiry sweep, and drains on SIGTERM/SIGINT.
// This header is free of Asio/Beast types; they stay inside transport/.

#include "api/context.hpp"
#include "api/router.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace parley::transport {

inline int default_io_threads() {
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(std::min(cores, 4u));
}

struct transport_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port
  std::string tls_cert_file;  // both set: TLS on every connection
  std::string tls_key_file;
  std::string web_root;  // static files under /, empty: none
  std::string sdk_dir;   // static files under /sdk/ (the browser SDK bundle), empty: none
  // I/O threads; the default is default_io_threads() (the cores, at most 4: the store has one
  // writer). See docs/performance.md for why two beat one on the 2-core machine.
  int threads = default_io_threads();
  int hello_timeout_ms = 5000;
  int heartbeat_s = 15;
  int drain_timeout_s = 10;
  // Per-connection outbound queue bound; a consumer that falls this far behind is closed.
  std::size_t max_outbound_bytes = 1024 * 1024;
  // Connection caps (transport/connection_limiter.hpp). 0: default_max_connections() of the
  // descriptor limit.
  std::size_t max_connections = 0;
  std::size_t max_connections_per_address = 4096;
};

// Descriptors kept out of the connection cap: the store's SQLite connections (3 descriptors
// each: the writer, the checkpointer, one reader per thread), outbound HTTP, logs, the event
// loops, and the ops-only connections that answer /healthz at the cap.
inline constexpr std::size_t descriptor_reserve = 512;

// The default --max-connections: the descriptor limit minus descriptor_reserve, or half the
// limit when it is under 1024 (at least 1).
inline std::size_t default_max_connections(std::size_t descriptor_limit) {
  auto reserve = std::min(descriptor_reserve, descriptor_limit / 2);
  return std::max<std::size_t>(1, descriptor_limit - reserve);
}

// Raises the soft RLIMIT_NOFILE to the hard one (as far as the system allows) and returns the
// soft limit in force.
std::size_t raise_descriptor_limit();

class server {
 public:
  virtual ~server() = default;
  // The bound port (useful with port 0).
  virtual std::uint16_t port() const = 0;
  virtual bool tls() const = 0;
  // Runs until SIGTERM or SIGINT, then drains: stops accepting, closes WebSockets with 1001,
  // finishes in-flight requests, and returns (after at most drain_timeout_s).
  virtual void run() = 0;
};

// Binds the listening socket. Throws std::runtime_error when it cannot (port taken, bad TLS
// files): a start-up failure.
std::unique_ptr<server> create_server(const transport_config& cfg, api::context& ctx,
                                      api::http_api& http);

}  // namespace parley::transport
