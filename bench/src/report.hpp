#pragma once
// The report: markdown, printed on stdout and written to a file.

#include "auth_bench.hpp"
#include "call_bench.hpp"
#include "proc_probe.hpp"
#include "ws_bench.hpp"

#include <optional>
#include <string>

namespace parley::bench {

// The targets on a 2-core machine.
constexpr double target_auth_per_s = 20000;
constexpr double target_kib_per_idle_connection = 16;
// Issue 3 (direct calls).
constexpr double target_calls_per_s = 2000;
constexpr double target_ringing_p99_ms = 5;

struct report_data {
  std::string started_at;  // UTC, ISO 8601
  machine_info machine;
  int bench_threads = 0;
  int source_addresses = 0;
  std::uint64_t descriptor_limit = 0;
  std::size_t users = 0;
  double setup_s = 0;
  std::optional<auth_result> auth;
  std::optional<open_figures> ws;
  std::optional<idle_figures> idle;
  std::optional<calls_figures> calls;
  std::optional<process_sample> server_end;
};

std::string render_report(const report_data& r);

}  // namespace parley::bench
