#pragma once
// Phase 4: direct calls under an open-loop offered rate.
//
// `pairs` caller/callee pairs, each user with one authenticated WebSocket. Each call runs the
// whole flow of the protocol ("Direct calls"): the caller dials; the callee gets `ringing` and
// accepts; the caller gets `accepted`; each side sends two `signal`s and gets the other's two;
// the caller reports `media_connected` (both get `connected`) and ends; both get `ended`.
//
// Open loop: call k is due at start + k / rate and is dialed then, whether or not earlier calls
// have finished (a pair may be in several calls at once); latencies are measured from that due
// time, so queueing in the server (or in the bench) is not hidden by a slower sending pace.
//
// Two runs on the same connections:
//   - latency: `rate` calls/s for `seconds`; dial → ringing at the callee, p50/p99/p99.9;
//   - saturation: `sat_rate` calls/s (more than the server can do) for `sat_seconds`, with at
//     most `sat_in_flight` calls unfinished (a due call is skipped, and counted, while that many
//     are): the rate of calls completed inside the offering window after its first second.
//     Without the bound the
//     server's backlog grows without end and, as it serves requests in arrival order, every call
//     progresses and few finish while measured.

#include "latency.hpp"
#include "net.hpp"
#include "proc_probe.hpp"
#include "setup.hpp"

#include <functional>
#include <map>
#include <string>

namespace parley::bench {

struct call_run_figures {
  double offered_rate = 0;
  int offered_seconds = 0;
  std::size_t scheduled = 0;   // calls due in the offering window
  std::size_t dialed = 0;      // dials sent
  std::size_t skipped = 0;     // not dialed: `sat_in_flight` calls unfinished (bench bound)
  std::size_t completed = 0;   // both parties got `ended` after the whole flow
  std::size_t failed = 0;      // an error frame or an unexpected event stopped the call
  std::size_t unfinished = 0;  // still running when the drain limit was reached
  std::size_t completed_in_window = 0;  // completed after the warm-up, before the window closed
  double warmup_s = 0;                  // start of the window not counted in window_rate()
  double late_start_ms = 0;             // worst lag of a dial behind its due time (bench side)
  double last_completion_s = 0;         // start → last completion
  latency_summary ringing;              // due time of the dial → `ringing` at the callee
  latency_summary complete;             // due time of the dial → `ended` at both
  std::map<std::string, std::size_t> errors;  // by kind, whole run
  cpu_usage cpu;                              // offering window + drain
  // Completed calls per second over the offering window (the saturation figure).
  double window_rate() const {
    auto span = offered_seconds - warmup_s;
    return span > 0 ? static_cast<double>(completed_in_window) / span : 0;
  }
  // All completed calls over start → last completion.
  double overall_rate() const {
    return last_completion_s > 0 ? static_cast<double>(completed) / last_completion_s : 0;
  }
  std::size_t error_count() const;
};

struct calls_figures {
  int pairs = 0;
  int sat_in_flight = 0;
  std::size_t connections = 0;  // opened through welcome
  std::map<std::string, std::size_t> open_failures;
  std::size_t lost = 0;  // connections closed by the server during the phase
  call_run_figures latency;
  call_run_figures saturation;
};

calls_figures run_calls_bench(worker_pool& pool, const target& t, int server_pid,
                              const std::vector<bench_user>& users, int pairs, int rate,
                              std::chrono::seconds seconds, int sat_rate,
                              std::chrono::seconds sat_seconds, int sat_in_flight);

// Soak: the same call flow held at a steady rate for a long time, sampled every `interval`.
// With `rate` 0, a saturation run (as above, `sat_rate` calls/s for `sat_seconds` with at most
// `sat_in_flight` unfinished) measures the rate first and the soak holds half of it.
struct soak_window {
  double end_s = 0;           // end of the window, since the soak started
  std::size_t completed = 0;  // calls completed in the window
  std::size_t failed = 0;     // calls failed in the window
  latency_summary ringing;    // dial due time → `ringing`, for the rings of this window
};

struct soak_figures {
  double saturation_rate = 0;  // measured; 0 when the rate was given
  int rate = 0;                // calls/s held
  int seconds = 0;
  std::size_t connections = 0;
  std::map<std::string, std::size_t> open_failures;
  call_run_figures run;  // the whole soak
  std::size_t lost = 0;
};

soak_figures run_soak_bench(worker_pool& pool, const target& t, int server_pid,
                            const std::vector<bench_user>& users, int pairs, int rate,
                            std::chrono::seconds seconds, std::chrono::seconds interval,
                            int sat_rate, std::chrono::seconds sat_seconds, int sat_in_flight,
                            const std::function<void(const soak_window&)>& on_window);

}  // namespace parley::bench
