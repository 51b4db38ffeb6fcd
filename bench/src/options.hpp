#pragma once
// Command line of parley-bench. Every phase is bounded by a count and a time; the defaults are
// the figures docs/performance.md reports.

#include <chrono>
#include <optional>
#include <string>

namespace parley::bench {

struct options {
  // Which server, and which app on it (from `parleyd app create --json`).
  std::string url;  // http://127.0.0.1:PORT (plain HTTP on loopback only)
  std::string app_id;
  std::string api_token;
  int server_pid = 0;  // read for VmRSS and CPU time in /proc

  std::string report_path = "build/bench/report.md";
  int threads = 1;           // client I/O threads (the server shares the same cores)
  int source_addresses = 4;  // client sockets bind to 127.0.0.2 .. 127.0.0.(1+N)

  // Which phases run: any of "auth", "ws", "idle", "calls", comma separated.
  bool run_auth = true;
  bool run_ws = true;
  bool run_idle = true;
  bool run_calls = true;

  // 1. Authentications over keep-alive HTTP.
  int auth_clients = 64;
  std::chrono::seconds auth_warmup{2};
  std::chrono::seconds auth_duration{10};

  // 2. WebSocket connect + hello + welcome.
  int ws_total = 5000;
  int ws_concurrency = 64;

  // 3. Server memory per idle authenticated connection.
  int idle_connections = 10000;

  // 4. Direct calls, open loop: `call_pairs` caller/callee pairs (one WebSocket per user);
  // dial → ringing latency at `call_rate` calls/s for `call_seconds`, then the completed calls
  // per second when `call_sat_rate` calls/s are offered for `call_sat_seconds` with at most
  // `call_sat_in_flight` calls unfinished.
  int call_pairs = 1000;
  int call_rate = 1000;
  std::chrono::seconds call_seconds{10};
  int call_sat_rate = 5000;
  std::chrono::seconds call_sat_seconds{5};
  int call_sat_in_flight = 500;

  // 5. Soak (alone: `--phases soak`): the calls' flow held at `soak_rate` calls/s (0: half the
  // rate the saturation run above completes) for `soak_duration` with `call_pairs` pairs; every
  // `soak_interval` a CSV row with the server's RSS, open descriptors, WAL size and the window's
  // dial → ringing latency.
  bool run_soak = false;
  int soak_rate = 0;
  std::chrono::seconds soak_duration{3600};
  std::chrono::seconds soak_interval{10};
  std::string soak_csv = "build/soak/soak.csv";
};

// Parses argv with CLI11 (a value is the next word or follows `=`; given twice, the last counts);
// on a bad or missing option returns nullopt after printing why and the usage.
// --help prints the usage and exits 0.
std::optional<options> parse_options(int argc, char** argv);

}  // namespace parley::bench
