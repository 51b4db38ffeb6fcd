#pragma once
// Outbound HTTP for push providers and webhooks, on libcurl's multi interface: many transfers at
// once on one thread, HTTP/2 where the peer offers it (APNs requires it), connections kept and
// reused per host, TLS checked against the system trust store plus an optional CA file.
//
// Threading: one thread drives a client (start, poll, perform); only wake() may be called from
// other threads.
//
// Destinations: every address a transfer connects to is checked against the client's
// address_policy after name resolution, when the socket is opened, so a DNS name that resolves
// (or later rebinds) to a private address is refused as an IP literal would be. No proxy from
// the environment (it would be the address checked), no redirects, http and https only.

#include "outbound/address_policy.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::outbound {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct request {
  std::uint64_t tag = 0;  // handed back with the response
  std::string method = "POST";
  std::string url;
  header_list headers;
  std::string body;
  bool require_http2 = false;  // HTTP/2 over TLS only (APNs)
  std::chrono::milliseconds timeout{10'000};
};

struct response {
  std::uint64_t tag = 0;
  int status = 0;  // 0: no HTTP answer (connect, TLS, timeout); `error` says so
  // When status is 0, a generic reason that may be shown to the app: "could not connect" for
  // every transport failure (refused, timed out, TLS, address not allowed), so the outcome does
  // not tell a port scanner what is listening where.
  std::string error;
  std::string detail;   // libcurl's own text for the failure: for the server's log only
  header_list headers;  // names lower-cased
  std::string body;     // the first 64 KiB
  std::optional<std::string> header(std::string_view name) const;  // name: lower case
};

struct client_options {
  std::string ca_file;  // extra trust anchors (PEM); empty: the system store only
  std::size_t max_in_flight = 256;
  std::string user_agent = "parleyd";
  address_policy policy;  // which addresses transfers may connect to
};

// What the users of outbound HTTP (the delivery thread, the FCM token fetch) need from it.
// http_client below is the real one; tests put a scripted one in its place. Same threading:
// one thread drives it; only wake() may be called from other threads.
class http_transport {
 public:
  virtual ~http_transport() = default;

  // Queues a transfer; it runs inside poll().
  virtual void start(request r) = 0;
  // Runs transfers for at most `wait` (returning sooner when one finishes or wake() is called)
  // and returns the finished ones.
  virtual std::vector<response> poll(std::chrono::milliseconds wait) = 0;
  // Runs one request to completion on the calling thread (used for OAuth token fetches).
  virtual response perform(const request& r) = 0;
  // Makes a poll() in progress return early. Thread-safe.
  virtual void wake() = 0;
};

class http_client final : public http_transport {
 public:
  explicit http_client(client_options options);
  ~http_client() override;
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  void start(request r) override;
  std::vector<response> poll(std::chrono::milliseconds wait) override;
  response perform(const request& r) override;
  void wake() override;
  std::size_t in_flight() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace parley::outbound
