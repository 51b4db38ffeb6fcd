#include "options.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string_view>

namespace parley::bench {

namespace {

constexpr const char* usage =
    "usage: parley-bench --url http://127.0.0.1:PORT --app-id ID --api-token T --server-pid PID\n"
    "         [--report PATH]            markdown report (default build/bench/report.md)\n"
    "         [--phases auth,ws,idle]    which measurements to run (default all)\n"
    "         [--threads N]              client I/O threads (default 1)\n"
    "         [--source-addresses N]     client sockets bind to 127.0.0.2.. (default 4)\n"
    "         [--auth-clients N] [--auth-warmup-s N] [--auth-seconds N]   (64, 2, 10)\n"
    "         [--ws-total N] [--ws-concurrency N]                        (5000, 64)\n"
    "         [--idle-connections N]                                     (10000)\n"
    "         [--call-pairs N] [--call-rate N] [--call-seconds N]        (1000, 1000, 10)\n"
    "         [--call-sat-rate N] [--call-sat-seconds N] [--call-sat-in-flight N] (5000, 5, "
    "2000)\n"
    "         --phases soak [--soak-rate N (0: half the saturation)] [--soak-seconds N]\n"
    "           [--soak-interval-s N] [--soak-csv PATH]            (0, 3600, 10, "
    "build/soak/soak.csv)\n";

bool to_int(std::string_view s, int lo, int hi, int& out) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

}  // namespace

std::optional<options> parse_options(int argc, char** argv) {
  options o;
  auto int_opt = [](int& field, int lo, int hi) {
    return [&field, lo, hi](std::string_view v) { return to_int(v, lo, hi, field); };
  };
  auto seconds_opt = [](std::chrono::seconds& field, int lo, int hi) {
    return [&field, lo, hi](std::string_view v) {
      int n = 0;
      if (!to_int(v, lo, hi, n)) return false;
      field = std::chrono::seconds(n);
      return true;
    };
  };
  auto string_opt = [](std::string& field) {
    return [&field](std::string_view v) {
      field = std::string(v);
      return !field.empty();
    };
  };
  auto phases = [&o](std::string_view v) {
    o.run_auth = o.run_ws = o.run_idle = o.run_calls = o.run_soak = false;
    while (!v.empty()) {
      auto comma = v.find(',');
      auto name = v.substr(0, comma);
      if (name == "auth")
        o.run_auth = true;
      else if (name == "ws")
        o.run_ws = true;
      else if (name == "idle")
        o.run_idle = true;
      else if (name == "calls")
        o.run_calls = true;
      else if (name == "soak")
        o.run_soak = true;
      else
        return false;
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    }
    // The soak runs alone: other phases would disturb the lines it measures.
    if (o.run_soak) return !(o.run_auth || o.run_ws || o.run_idle || o.run_calls);
    return o.run_auth || o.run_ws || o.run_idle || o.run_calls;
  };

  // The limits keep every phase bounded: the machine caps descriptors at 20,000 per process.
  const std::map<std::string_view, std::function<bool(std::string_view)>> table = {
      {"--url", string_opt(o.url)},
      {"--app-id", string_opt(o.app_id)},
      {"--api-token", string_opt(o.api_token)},
      {"--server-pid", int_opt(o.server_pid, 1, 1 << 30)},
      {"--report", string_opt(o.report_path)},
      {"--phases", phases},
      {"--threads", int_opt(o.threads, 1, 16)},
      {"--source-addresses", int_opt(o.source_addresses, 1, 200)},
      {"--auth-clients", int_opt(o.auth_clients, 1, 1000)},
      {"--auth-warmup-s", seconds_opt(o.auth_warmup, 0, 60)},
      {"--auth-seconds", seconds_opt(o.auth_duration, 1, 300)},
      {"--ws-total", int_opt(o.ws_total, 1, 15000)},
      {"--ws-concurrency", int_opt(o.ws_concurrency, 1, 1000)},
      {"--idle-connections", int_opt(o.idle_connections, 1, 15000)},
      {"--call-pairs", int_opt(o.call_pairs, 1, 7500)},
      {"--call-rate", int_opt(o.call_rate, 1, 20000)},
      {"--call-seconds", seconds_opt(o.call_seconds, 1, 60)},
      {"--call-sat-rate", int_opt(o.call_sat_rate, 1, 20000)},
      {"--call-sat-seconds", seconds_opt(o.call_sat_seconds, 1, 60)},
      {"--call-sat-in-flight", int_opt(o.call_sat_in_flight, 1, 100000)},
      {"--soak-rate", int_opt(o.soak_rate, 0, 20000)},
      {"--soak-seconds", seconds_opt(o.soak_duration, 10, 7 * 86400)},
      {"--soak-interval-s", seconds_opt(o.soak_interval, 1, 3600)},
      {"--soak-csv", string_opt(o.soak_csv)},
  };

  for (int i = 1; i < argc; ++i) {
    std::string_view name = argv[i];
    if (name == "--help" || name == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    auto it = table.find(name);
    if (it == table.end() || i + 1 >= argc) {
      std::fprintf(stderr, "parley-bench: unknown option or missing value: %s\n%s", argv[i], usage);
      return std::nullopt;
    }
    if (!it->second(argv[++i])) {
      std::fprintf(stderr, "parley-bench: bad value for %s: %s\n%s", argv[i - 1], argv[i], usage);
      return std::nullopt;
    }
  }
  if (o.url.empty() || o.app_id.empty() || o.api_token.empty() || o.server_pid == 0) {
    std::fprintf(stderr,
                 "parley-bench: --url, --app-id, --api-token and --server-pid are needed\n%s",
                 usage);
    return std::nullopt;
  }
  return o;
}

}  // namespace parley::bench
