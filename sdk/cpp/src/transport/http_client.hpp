#pragma once

// HTTP/1.1 client over plain TCP or TLS, one connection per request. Free of Boost types.
// Use on the io thread only (construction and destruction included); callbacks run there.

#include "transport/endpoint.hpp"
#include "transport/event_loop.hpp"
#include "transport/tls_context.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace parley::transport {

struct http_request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, already percent-encoded; base_path is prepended
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with Content-Type application/json when not empty
  std::chrono::milliseconds timeout{15'000};
};

struct http_response {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
};

// Why there is no response.
struct transport_failure {
  std::string message;
  bool timed_out = false;
  bool cancelled = false;
};

class http_client {
 public:
  using callback = std::function<void(std::optional<transport_failure>, http_response)>;

  http_client(event_loop& loop, endpoint ep, std::shared_ptr<tls_context> tls);
  // Cancels what is under way; their callbacks then run with `cancelled`, on the io thread.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Sends one request; `done` runs exactly once on the io thread, also after cancel_all().
  void send(http_request request, callback done);

  // Ends every request under way; each one's callback reports `cancelled`.
  void cancel_all();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace parley::transport
