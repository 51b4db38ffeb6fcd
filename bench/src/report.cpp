#include "report.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace parley::bench {

namespace {

// printf into a std::string.
[[gnu::format(printf, 2, 3)]] void add(std::string& out, const char* fmt, ...) {
  char line[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(line, sizeof line, fmt, args);
  va_end(args);
  out += line;
}

const char* verdict(bool met) {
  return met ? "**met**" : "**missed**";
}

std::string failures_text(const std::map<std::string, std::size_t>& failures) {
  std::string s;
  for (const auto& [stage, n] : failures)
    s += (s.empty() ? "" : ", ") + stage + ": " + std::to_string(n);
  return s.empty() ? "none" : s;
}

// "server 95% (92.9 µs per authentication), bench 8%, other processes 80% (of 200%)"
std::string cpu_text(const cpu_usage& u, std::size_t ops, const char* op, unsigned cores) {
  std::string s;
  auto pct = [&](double v) { return u.wall_s > 0 ? 100 * v / u.wall_s : 0.0; };
  // Idle cores while the server is the bottleneck mean that it waits (on a lock, the disk),
  // not that it lacks CPU.
  double idle = std::max(0.0, 100.0 * cores - pct(u.server_s) - pct(u.bench_s) - pct(u.others_s));
  add(s,
      "server %.0f%% (%.1f µs per %s), bench %.0f%%, other processes %.0f%%, idle %.0f%% — of "
      "%u%% (%u cores)",
      pct(u.server_s), ops ? 1e6 * u.server_s / static_cast<double>(ops) : 0.0, op, pct(u.bench_s),
      pct(u.others_s), idle, 100 * cores, cores);
  return s;
}

}  // namespace

std::string render_report(const report_data& r) {
  std::string out;
  add(out, "# parley-bench report\n\n");
  add(out, "- date: %s\n", r.started_at.c_str());
  add(out, "- machine: %u cores, %s, %lld MiB RAM, %s\n", r.machine.cores,
      r.machine.cpu_model.c_str(), static_cast<long long>(r.machine.mem_total_mib),
      r.machine.kernel.c_str());
  add(out,
      "- load average at the start: %s (other processes' share of the CPU is given per "
      "phase below; figures taken while others compile are lower than the server can do)\n",
      r.machine.load_average.c_str());
  add(out, "- server: `%s` (binary built %s)\n", r.machine.server_command.c_str(),
      r.machine.server_binary_time.c_str());
  add(out,
      "- client: parley-bench, %d I/O thread(s), same machine (it shares the cores with the "
      "server), loopback, %d source addresses, descriptor limit %llu\n",
      r.bench_threads, r.source_addresses, static_cast<unsigned long long>(r.descriptor_limit));
  add(out, "- setup: %zu users created (Platform API) and authenticated once each in %.1f s\n\n",
      r.users, r.setup_s);

  add(out, "| measurement | figure | target | verdict |\n|---|---|---|---|\n");
  if (r.auth)
    add(out, "| authentications/s (%d keep-alive clients) | %.0f /s | >= %.0f /s | %s |\n",
        r.auth->clients, r.auth->rate(), target_auth_per_s,
        verdict(r.auth->rate() >= target_auth_per_s));
  if (r.ws)
    add(out, "| WebSocket connect + hello/s (%d in flight) | %.0f /s | - | - |\n",
        r.ws->concurrency, r.ws->rate());
  if (r.idle)
    add(out,
        "| server memory per idle authenticated connection (%zu open) | %.2f KiB | <= %.0f KiB | "
        "%s |\n",
        r.idle->open.opened, r.idle->kib_per_connection(), target_kib_per_idle_connection,
        verdict(r.idle->open.opened == static_cast<std::size_t>(r.idle->open.requested) &&
                r.idle->kib_per_connection() <= target_kib_per_idle_connection));
  if (r.calls) {
    const auto& c = *r.calls;
    add(out, "| complete direct calls/s (%d/s offered, %d pairs) | %.0f /s | >= %.0f /s | %s |\n",
        static_cast<int>(c.saturation.offered_rate), c.pairs, c.saturation.window_rate(),
        target_calls_per_s, verdict(c.saturation.window_rate() >= target_calls_per_s));
    add(out,
        "| dial → ringing p99 at %d calls/s (p50 / p99.9) | %.2f ms (%.2f / %.2f) | <= %.0f ms | "
        "%s |\n",
        static_cast<int>(c.latency.offered_rate), c.latency.ringing.p99_ms,
        c.latency.ringing.p50_ms, c.latency.ringing.p999_ms, target_ringing_p99_ms,
        verdict(c.latency.ringing.count > 0 && c.latency.ringing.count == c.latency.scheduled &&
                c.latency.ringing.p99_ms <= target_ringing_p99_ms));
  }
  add(out, "\n");

  if (r.auth) {
    const auto& a = *r.auth;
    add(out, "## 1. Authentications (POST /v1/apps/{app_id}/auth, access token)\n\n");
    add(out,
        "- %d clients, one keep-alive connection each, requests back to back; %.0f s measured "
        "after the warm-up\n",
        a.clients, a.window_s);
    add(out, "- rate: **%.0f /s** (%zu answers 200 in the window)\n", a.rate(), a.ok);
    add(out, "- latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", a.latency.p50_ms,
        a.latency.p99_ms, a.latency.max_ms);
    std::string errs;
    for (const auto& [status, n] : a.errors_by_status)
      errs += (errs.empty() ? "" : ", ") + std::string("HTTP ") + std::to_string(status) + ": " +
              std::to_string(n);
    add(out, "- errors (non-200 answers in the window): %zu%s%s\n", a.errors(),
        errs.empty() ? "" : " — ", errs.c_str());
    add(out, "- transport errors (whole run): %zu; TCP connections opened: %zu\n",
        a.transport_errors, a.connects);
    add(out, "- CPU in the window: %s\n",
        cpu_text(a.cpu, a.ok, "authentication", r.machine.cores).c_str());
    add(out, "\n");
  }

  auto open_lines = [&out, &r](const open_figures& f) {
    add(out, "- opened %zu of %d in %.2f s with %d in flight: **%.0f /s**\n", f.opened, f.requested,
        f.seconds, f.concurrency, f.rate());
    add(out, "- latency (TCP connect → welcome): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
        f.latency.p50_ms, f.latency.p99_ms, f.latency.max_ms);
    add(out, "- failures: %s; closed by the server while held: %zu\n",
        failures_text(f.failures).c_str(), f.lost);
    add(out, "- CPU while opening: %s\n",
        cpu_text(f.cpu, f.opened, "connection", r.machine.cores).c_str());
    add(out, "- closed: %zu close handshakes completed, %zu aborted, in %.2f s\n", f.closed_clean,
        f.aborted, f.close_seconds);
  };

  if (r.ws) {
    add(out, "## 2. WebSocket connect + hello (/v1/ws)\n\n");
    add(out,
        "Each: TCP connect, HTTP upgrade, hello {session_key, device_id}, wait for welcome; "
        "every connection stays open until all are done, then all are closed.\n\n");
    open_lines(*r.ws);
    add(out, "\n");
  }

  if (r.idle) {
    const auto& i = *r.idle;
    add(out, "## 3. Server memory per idle authenticated connection\n\n");
    add(out,
        "%d WebSockets (one user, session and device each) opened through welcome and held "
        "idle; VmRSS of the server from /proc/PID/status.\n\n",
        i.open.requested);
    open_lines(i.open);
    add(out, "- server gauge parley_ws_connections while open: %lld\n", i.server_gauge);
    add(out, "- VmRSS: before %lld KiB, with all open %lld KiB, after closing %lld KiB\n",
        static_cast<long long>(i.rss_before_kib), static_cast<long long>(i.rss_after_kib),
        static_cast<long long>(i.rss_after_close_kib));
    add(out, "- per connection: **%.2f KiB** VmRSS (%.2f KiB of it RssAnon: heap and stacks)\n",
        i.kib_per_connection(), i.anon_kib_per_connection());
    add(out,
        "- not counted: kernel socket memory (buffers, TCP state), which VmRSS does not "
        "show\n\n");
  }

  if (r.calls) {
    const auto& c = *r.calls;
    add(out, "## 4. Direct calls (open loop)\n\n");
    add(out,
        "%d pairs of users, one WebSocket each (%zu opened; failures: %s; closed by the server: "
        "%zu). Each call: dial → ringing at the callee → accept → accepted → two signals each way "
        "→ media_connected → connected → end → ended at both. Call i is dialed at its due time "
        "start + i / rate by pair i %% pairs, whether or not earlier calls finished; latencies "
        "are from that due time.\n\n",
        c.pairs, c.connections, failures_text(c.open_failures).c_str(), c.lost);
    auto run_lines = [&](const char* title, const call_run_figures& f) {
      add(out, "### %s: %.0f calls/s offered for %d s\n\n", title, f.offered_rate,
          f.offered_seconds);
      add(out,
          "- calls due %zu, dialed %zu, skipped %zu (bound on unfinished calls), completed %zu, "
          "failed %zu, unfinished at the drain limit %zu; worst dial lag behind its due time "
          "(bench) %.1f ms\n",
          f.scheduled, f.dialed, f.skipped, f.completed, f.failed, f.unfinished, f.late_start_ms);
      add(out,
          "- completed calls/s: **%.0f /s** inside the offering window after its first %.1f s "
          "(%zu completed then); %.0f /s over start → last completion (%zu in %.2f s)\n",
          f.window_rate(), f.warmup_s, f.completed_in_window, f.overall_rate(), f.completed,
          f.last_completion_s);
      add(out, "- dial → ringing: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms (%zu)\n",
          f.ringing.p50_ms, f.ringing.p99_ms, f.ringing.p999_ms, f.ringing.max_ms, f.ringing.count);
      add(out,
          "- dial → ended at both (whole call): p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max "
          "%.2f ms\n",
          f.complete.p50_ms, f.complete.p99_ms, f.complete.p999_ms, f.complete.max_ms);
      add(out, "- errors: %zu%s%s\n", f.error_count(), f.errors.empty() ? "" : " — ",
          f.errors.empty() ? "" : failures_text(f.errors).c_str());
      add(out, "- CPU (window and drain): %s\n\n",
          cpu_text(f.cpu, f.completed, "call", r.machine.cores).c_str());
    };
    run_lines("Latency run", c.latency);
    add(out,
        "Saturation run: at most %d calls unfinished at once; a due call is skipped while "
        "that many are.\n\n",
        c.sat_in_flight);
    run_lines("Saturation run", c.saturation);
  }

  if (r.server_end)
    add(out, "\nServer at the end: VmRSS %lld KiB, %d threads, %.1f CPU-s used in total.\n",
        static_cast<long long>(r.server_end->vm_rss_kib), r.server_end->threads,
        r.server_end->cpu_s);
  return out;
}

}  // namespace parley::bench
