#pragma once
// Phase 1: client authentications per second. `clients` keep-alive HTTP connections each send
// POST /v1/apps/{app_id}/auth with {user_id, access_token} back to back for warm-up + duration;
// only requests that start and end inside the measured window count.

#include "latency.hpp"
#include "net.hpp"
#include "proc_probe.hpp"
#include "setup.hpp"

#include <map>

namespace parley::bench {

struct auth_result {
  int clients = 0;
  double window_s = 0;
  std::size_t ok = 0;                                // 200 answers in the window
  std::map<unsigned, std::size_t> errors_by_status;  // other answers in the window
  std::size_t transport_errors = 0;                  // failed connects, reads, writes (whole run)
  std::size_t connects = 0;                          // TCP connections opened (whole run)
  latency_summary latency;                           // of the 200 answers in the window
  cpu_usage cpu;                                     // in the window
  double rate() const { return window_s > 0 ? static_cast<double>(ok) / window_s : 0; }
  std::size_t errors() const;
};

auth_result run_auth_bench(worker_pool& pool, const target& t, int server_pid,
                           const std::vector<bench_user>& users, int clients,
                           std::chrono::seconds warmup, std::chrono::seconds duration);

}  // namespace parley::bench
