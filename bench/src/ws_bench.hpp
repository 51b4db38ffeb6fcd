#pragma once
// Phases 2 and 3: WebSocket connections opened through hello/welcome at a bounded concurrency,
// held idle, then closed.
//   2. connect + hello per second: `ws_total` connections, `ws_concurrency` in flight.
//   3. server memory per idle authenticated connection: the server's VmRSS before and after
//      `idle_connections` connections completed hello, divided by their number.

#include "latency.hpp"
#include "net.hpp"
#include "proc_probe.hpp"
#include "setup.hpp"

#include <map>

namespace parley::bench {

struct open_figures {
  int requested = 0;
  int concurrency = 0;
  std::size_t opened = 0;
  std::map<std::string, std::size_t> failures;  // by stage (ws_client.hpp)
  double seconds = 0;                           // first connect to last welcome
  latency_summary latency;                      // connect → welcome, per connection
  cpu_usage cpu;                                // while opening
  std::size_t lost = 0;                         // closed by the server while held
  std::size_t closed_clean = 0;                 // close handshakes completed
  std::size_t aborted = 0;                      // closes that did not finish in time
  double close_seconds = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(opened) / seconds : 0; }
  std::size_t failed() const;
};

struct idle_figures {
  open_figures open;
  std::int64_t rss_before_kib = 0;
  std::int64_t rss_after_kib = 0;        // all connections open, one second after the last welcome
  std::int64_t rss_after_close_kib = 0;  // one second after they were closed
  std::int64_t anon_before_kib = 0;
  std::int64_t anon_after_kib = 0;
  long long server_gauge = -1;  // parley_ws_connections of /metrics while all were open
  double kib_per_connection() const;
  double anon_kib_per_connection() const;
};

open_figures run_ws_bench(worker_pool& pool, const target& t, int server_pid,
                          const std::vector<bench_user>& users, int total, int concurrency);

idle_figures run_idle_bench(worker_pool& pool, const target& t, int server_pid,
                            const std::vector<bench_user>& users, int connections, int concurrency);

}  // namespace parley::bench
