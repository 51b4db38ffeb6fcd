// parley-bench: measures a running parleyd over loopback and prints a markdown report.
//
// Order of the phases: the idle-memory phase runs first, right after setup, so that its
// connections are served from fresh heap rather than from memory freed by earlier phases
// (which would make the per-connection figure look smaller than it is). Then the WebSocket
// connect rate, then the authentication rate, then the direct calls. The report lists them in
// the issues' order.

#include "auth_bench.hpp"
#include "call_bench.hpp"
#include "options.hpp"
#include "proc_probe.hpp"
#include "report.hpp"
#include "setup.hpp"
#include "ws_bench.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace {

using namespace parley::bench;

std::string utc_now() {
  auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char s[32];
  std::strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return s;
}

void progress(const char* what) {
  std::fprintf(stderr, "parley-bench: %s\n", what);
  std::fflush(stderr);
}

// The soak: a CSV row per window (written as it comes, so a long run can be watched and an
// interrupted one still leaves its rows), then a short markdown summary as the report.
int run_soak(const options& o, worker_pool& pool, const target& t,
             const std::vector<bench_user>& users, const report_data& r) {
  std::error_code ec;
  auto csv_path = std::filesystem::path(o.soak_csv);
  if (csv_path.has_parent_path()) std::filesystem::create_directories(csv_path.parent_path(), ec);
  std::ofstream csv(csv_path);
  if (!csv) {
    std::fprintf(stderr, "parley-bench: cannot write %s\n", o.soak_csv.c_str());
    return 1;
  }
  // rss_kib is VmRSS, which counts the pages of parley.db the server has touched through its
  // mmap (PRAGMA mmap_size, 256 MiB) and so follows the database's size up to that cap;
  // rss_anon_kib (RssAnon: heap and stacks) is the line that shows a leak.
  csv << "t_s,rss_kib,rss_anon_kib,fds,wal_bytes,db_bytes,completed,failed,ringing_count,"
         "ringing_p50_ms,ringing_p99_ms\n";
  csv.flush();
  std::string wal = open_file_ending(o.server_pid, "parley.db-wal");
  bool server_gone = false;
  auto on_window = [&](const soak_window& w) {
    auto p = sample_process(o.server_pid);
    if (!p) server_gone = true;
    // SQLite may close and reopen the WAL; look for it again when it is not where it was.
    if (wal.empty() || !std::filesystem::exists(wal, ec))
      wal = open_file_ending(o.server_pid, "parley.db-wal");
    auto size_of = [&](const std::string& file) -> std::uintmax_t {
      std::error_code fec;
      auto n = file.empty() ? std::uintmax_t{0} : std::filesystem::file_size(file, fec);
      return fec ? 0 : n;
    };
    auto wal_bytes = size_of(wal);
    auto db_bytes = wal.size() > 4 ? size_of(wal.substr(0, wal.size() - 4)) : 0;
    char line[320];
    std::snprintf(line, sizeof line, "%.0f,%lld,%lld,%d,%ju,%ju,%zu,%zu,%zu,%.3f,%.3f\n", w.end_s,
                  static_cast<long long>(p ? p->vm_rss_kib : -1),
                  static_cast<long long>(p ? p->rss_anon_kib : -1), count_descriptors(o.server_pid),
                  wal_bytes, db_bytes, w.completed, w.failed, w.ringing.count, w.ringing.p50_ms,
                  w.ringing.p99_ms);
    csv << line;
    csv.flush();
    std::fprintf(stderr, "parley-bench: soak %s", line);
  };
  auto f = run_soak_bench(pool, t, o.server_pid, users, o.call_pairs, o.soak_rate, o.soak_duration,
                          o.soak_interval, o.call_sat_rate, o.call_sat_seconds,
                          o.call_sat_in_flight, on_window);

  char text[2048];
  std::snprintf(
      text, sizeof text,
      "# parley-bench soak, %s\n\n"
      "- machine: %s, %u cores; load average at the start %s\n"
      "- server: `%s`\n"
      "- %d pairs; %s%d calls/s held for %d s, sampled every %lld s into `%s`\n"
      "- calls: %zu dialed, %zu completed, %zu failed, %zu unfinished at the end\n"
      "- dial → ringing over the whole soak: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.1f "
      "ms\n"
      "- CPU: server %.1f s, bench %.1f s, other processes %.1f s over %.0f s\n",
      r.started_at.c_str(), r.machine.cpu_model.c_str(), r.machine.cores,
      r.machine.load_average.c_str(), r.machine.server_command.c_str(), o.call_pairs,
      f.saturation_rate > 0 ? ("half the measured saturation of " +
                               std::to_string(static_cast<int>(f.saturation_rate)) + "/s: ")
                                  .c_str()
                            : "",
      f.rate, f.seconds, static_cast<long long>(o.soak_interval.count()), o.soak_csv.c_str(),
      f.run.dialed, f.run.completed, f.run.failed, f.run.unfinished, f.run.ringing.p50_ms,
      f.run.ringing.p99_ms, f.run.ringing.p999_ms, f.run.ringing.max_ms, f.run.cpu.server_s,
      f.run.cpu.bench_s, f.run.cpu.others_s, f.run.cpu.wall_s);
  std::string report = text;
  if (!f.run.errors.empty()) {
    report += "- errors:";
    for (const auto& [kind, n] : f.run.errors)
      report += " " + kind + " × " + std::to_string(n) + ";";
    report += "\n";
  }
  if (f.lost) report += "- connections lost: " + std::to_string(f.lost) + "\n";
  std::fputs(report.c_str(), stdout);
  std::fflush(stdout);
  auto path = std::filesystem::path(o.report_path);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream file(path);
  file << report;
  if (server_gone || !sample_process(o.server_pid)) {
    std::fprintf(stderr, "parley-bench: the server is gone\n");
    return 1;
  }
  return 0;
}

int run(const options& o) {
  auto server = parse_url(o.url);
  if (!server) {
    std::fprintf(stderr, "parley-bench: --url must be http://IPV4:PORT, not %s\n", o.url.c_str());
    return 2;
  }
  if (!sample_process(o.server_pid)) {
    std::fprintf(stderr, "parley-bench: cannot read /proc/%d: is the server running?\n",
                 o.server_pid);
    return 2;
  }

  report_data r;
  r.started_at = utc_now();
  r.machine = describe_machine(o.server_pid);
  r.bench_threads = o.threads;
  r.source_addresses = o.source_addresses;
  // Up to 10,000 client sockets at once, under the machine's hard cap of 20,000.
  r.descriptor_limit = raise_descriptor_limit();
  auto needed = static_cast<std::uint64_t>(
                    std::max({o.run_idle ? o.idle_connections : 0, o.run_ws ? o.ws_total : 0,
                              o.run_calls || o.run_soak ? 2 * o.call_pairs : 0})) +
                100;
  if (r.descriptor_limit < needed) {
    std::fprintf(stderr, "parley-bench: descriptor limit %llu is below the %llu needed\n",
                 static_cast<unsigned long long>(r.descriptor_limit),
                 static_cast<unsigned long long>(needed));
    return 2;
  }

  target t;
  t.server = *server;
  t.host_header = server->address().to_string() + ":" + std::to_string(server->port());
  t.app_id = o.app_id;
  t.api_token = o.api_token;
  t.sources = loopback_sources(o.source_addresses);

  worker_pool pool(o.threads);

  // One user (and session) per idle connection, as on a real server; the other phases reuse
  // them: the ws phase with other device ids, the auth phase one user per client.
  int users =
      std::max({o.run_idle ? o.idle_connections : 0, o.run_ws ? o.ws_total : 0,
                o.run_auth ? o.auth_clients : 0, o.run_calls || o.run_soak ? 2 * o.call_pairs : 0});
  progress(("setup: creating and authenticating " + std::to_string(users) + " users").c_str());
  auto prefix = "bench-" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  auto setup = prepare_users(pool, t, prefix, users, 32, std::chrono::seconds(180));
  r.users = setup.users.size();
  r.setup_s = setup.seconds;
  if (setup.users.size() < static_cast<std::size_t>(users)) {
    std::fprintf(stderr, "parley-bench: setup made %zu of %d users (%zu failures; first: %s)\n",
                 setup.users.size(), users, setup.failures, setup.first_error.c_str());
    return 1;
  }

  if (o.run_soak) {
    progress(("soak: " + std::to_string(o.call_pairs) + " pairs for " +
              std::to_string(o.soak_duration.count()) + " s")
                 .c_str());
    return run_soak(o, pool, t, setup.users, r);
  }
  if (o.run_idle) {
    progress(("idle: opening " + std::to_string(o.idle_connections) + " WebSockets").c_str());
    r.idle =
        run_idle_bench(pool, t, o.server_pid, setup.users, o.idle_connections, o.ws_concurrency);
  }
  if (o.run_ws) {
    progress(("ws: connect + hello x " + std::to_string(o.ws_total)).c_str());
    r.ws = run_ws_bench(pool, t, o.server_pid, setup.users, o.ws_total, o.ws_concurrency);
  }
  if (o.run_auth) {
    progress(("auth: " + std::to_string(o.auth_clients) + " clients for " +
              std::to_string((o.auth_warmup + o.auth_duration).count()) + " s")
                 .c_str());
    r.auth = run_auth_bench(pool, t, o.server_pid, setup.users, o.auth_clients, o.auth_warmup,
                            o.auth_duration);
  }
  if (o.run_calls) {
    progress(("calls: " + std::to_string(o.call_pairs) + " pairs, " + std::to_string(o.call_rate) +
              "/s for " + std::to_string(o.call_seconds.count()) + " s, then " +
              std::to_string(o.call_sat_rate) + "/s for " +
              std::to_string(o.call_sat_seconds.count()) + " s")
                 .c_str());
    r.calls =
        run_calls_bench(pool, t, o.server_pid, setup.users, o.call_pairs, o.call_rate,
                        o.call_seconds, o.call_sat_rate, o.call_sat_seconds, o.call_sat_in_flight);
  }
  r.server_end = sample_process(o.server_pid);

  auto text = render_report(r);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  std::error_code ec;
  auto path = std::filesystem::path(o.report_path);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream file(path);
  file << text;
  if (!file) {
    std::fprintf(stderr, "parley-bench: cannot write %s\n", o.report_path.c_str());
    return 1;
  }
  progress(("report written to " + o.report_path).c_str());
  if (!r.server_end) {
    std::fprintf(stderr, "parley-bench: the server is gone\n");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parley::bench::parse_options(argc, argv);
  if (!o) return 2;
  try {
    return run(*o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parley-bench: %s\n", e.what());
    return 1;
  }
}
