#pragma once
// Process metrics in Prometheus text format. Counters and gauges are atomics; labelled families
// keep one atomic per label set behind a mutex that is only taken to find or add the series.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace parley {

class counter_family {
 public:
  counter_family(std::string name, std::string help, std::vector<std::string> label_names);
  // Adds `n` to the series with these label values (same order as the label names).
  void add(const std::vector<std::string>& values, std::uint64_t n = 1);
  std::uint64_t value(const std::vector<std::string>& values) const;
  void render(std::string& out) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<std::atomic<std::uint64_t>>> series_;
};

class histogram {
 public:
  histogram(std::string name, std::string help);
  void observe(double seconds);
  void render(std::string& out) const;

 private:
  static constexpr std::array<double, 12> bounds_{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
  std::string name_, help_;
  std::array<std::atomic<std::uint64_t>, bounds_.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

// The server's metrics, one instance owned by the composition root.
struct metrics {
  std::atomic<std::int64_t> ws_connections{0};
  counter_family auth_total{"parley_auth_total", "Authentication attempts by result.", {"result"}};
  counter_family http_requests_total{
      "parley_http_requests_total", "HTTP requests by route and status.", {"route", "status"}};
  histogram http_request_duration{"parley_http_request_duration_seconds",
                                  "HTTP request handling time."};
  counter_family ws_closes_total{"parley_ws_closes_total",
                                 "WebSocket connections closed by the server, by close code.",
                                 {"code"}};
  counter_family webhook_deliveries_total{
      "parley_webhook_deliveries_total", "Webhook delivery attempts by outcome.", {"outcome"}};
  counter_family push_deliveries_total{"parley_push_deliveries_total",
                                       "Push delivery attempts by provider and outcome.",
                                       {"provider", "outcome"}};
  // Outbox gauges by kind (0 webhook, 1 push), refreshed by the delivery thread.
  std::array<std::atomic<std::int64_t>, 2> outbox_pending{};
  std::array<std::atomic<std::int64_t>, 2> outbox_oldest_pending_s{};
  // Connection caps (transport/connection_limiter.hpp): open TCP connections, connections closed
  // at accept by a cap (reason "per_address" or "limit"), idle ones reaped to make room, and
  // failed accept() calls (out of descriptors, mostly).
  std::atomic<std::int64_t> connections{0};
  counter_family connections_refused_total{
      "parley_connections_refused_total",
      "Connections closed at once because a connection cap was reached, by cap.",
      {"reason"}};
  std::atomic<std::uint64_t> connections_reaped_total{0};
  std::atomic<std::uint64_t> accept_errors_total{0};

  std::string render() const;
};

}  // namespace parley
