#include "common/metrics.hpp"

#include <cstdio>

namespace parley {

counter_family::counter_family(std::string name, std::string help,
                               std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void counter_family::add(const std::vector<std::string>& values, std::uint64_t n) {
  std::atomic<std::uint64_t>* slot = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto& p = series_[values];
    if (!p) p = std::make_unique<std::atomic<std::uint64_t>>(0);
    slot = p.get();
  }
  slot->fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t counter_family::value(const std::vector<std::string>& values) const {
  std::lock_guard lock(mutex_);
  auto it = series_.find(values);
  return it == series_.end() ? 0 : it->second->load();
}

static void escape_label(std::string& out, const std::string& v) {
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
}

void counter_family::render(std::string& out) const {
  out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " counter\n";
  std::lock_guard lock(mutex_);
  for (const auto& [values, v] : series_) {
    out += name_ + "{";
    for (std::size_t i = 0; i < label_names_.size(); ++i) {
      if (i) out += ',';
      out += label_names_[i] + "=\"";
      escape_label(out, values[i]);
      out += '"';
    }
    out += "} " + std::to_string(v->load()) + "\n";
  }
}

histogram::histogram(std::string name, std::string help)
    : name_(std::move(name)), help_(std::move(help)) {}

void histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void histogram::render(std::string& out) const {
  out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " histogram\n";
  std::uint64_t cumulative = 0;
  char buf[64];
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load();
    std::snprintf(buf, sizeof buf, "%g", bounds_[i]);
    out += name_ + "_bucket{le=\"" + buf + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += buckets_[bounds_.size()].load();
  out += name_ + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(sum_micros_.load()) / 1e6);
  out += name_ + "_sum " + buf + "\n";
  out += name_ + "_count " + std::to_string(count_.load()) + "\n";
}

std::string metrics::render() const {
  std::string out;
  out +=
      "# HELP parley_ws_connections Open WebSocket connections.\n"
      "# TYPE parley_ws_connections gauge\n";
  out += "parley_ws_connections " + std::to_string(ws_connections.load()) + "\n";
  auth_total.render(out);
  http_requests_total.render(out);
  http_request_duration.render(out);
  ws_closes_total.render(out);
  webhook_deliveries_total.render(out);
  push_deliveries_total.render(out);
  static constexpr std::array<const char*, 2> kinds{"webhook", "push"};
  out +=
      "# HELP parley_outbox_pending Outbox entries waiting for delivery.\n"
      "# TYPE parley_outbox_pending gauge\n";
  for (std::size_t i = 0; i < kinds.size(); ++i)
    out += std::string("parley_outbox_pending{kind=\"") + kinds[i] + "\"} " +
           std::to_string(outbox_pending[i].load()) + "\n";
  out +=
      "# HELP parley_outbox_oldest_pending_seconds Age of the oldest entry waiting.\n"
      "# TYPE parley_outbox_oldest_pending_seconds gauge\n";
  for (std::size_t i = 0; i < kinds.size(); ++i)
    out += std::string("parley_outbox_oldest_pending_seconds{kind=\"") + kinds[i] + "\"} " +
           std::to_string(outbox_oldest_pending_s[i].load()) + "\n";
  out +=
      "# HELP parley_connections Open TCP connections (HTTP and WebSocket).\n"
      "# TYPE parley_connections gauge\n"
      "parley_connections " +
      std::to_string(connections.load()) + "\n";
  connections_refused_total.render(out);
  out +=
      "# HELP parley_connections_reaped_total Idle connections (no request in progress, or a "
      "WebSocket before its first message) closed to make room at the connection cap.\n"
      "# TYPE parley_connections_reaped_total counter\n"
      "parley_connections_reaped_total " +
      std::to_string(connections_reaped_total.load()) + "\n";
  out +=
      "# HELP parley_accept_errors_total Failed accept() calls (e.g. out of descriptors).\n"
      "# TYPE parley_accept_errors_total counter\n"
      "parley_accept_errors_total " +
      std::to_string(accept_errors_total.load()) + "\n";
  return out;
}

}  // namespace parley
