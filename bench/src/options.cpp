#include "options.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
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
    "500)\n"
    "         --phases soak [--soak-rate N (0: half the saturation)] [--soak-seconds N]\n"
    "           [--soak-interval-s N] [--soak-csv PATH]            (0, 3600, 10, "
    "build/soak/soak.csv)\n";

// The phases named in a comma-separated list; false for an unknown name or a mix the run refuses.
bool set_phases(options& o, std::string_view v) {
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
}

const CLI::Validator non_empty{
    [](const std::string& v) { return v.empty() ? std::string("an empty value") : std::string(); },
    ""};

}  // namespace

std::optional<options> parse_options(int argc, char** argv) {
  options o;
  CLI::App app{"parley-bench", "parley-bench"};
  // Given twice, the last value counts.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto seconds = [&app](const char* name, std::chrono::seconds& field, int lo, int hi) {
    app.add_option_function<int>(name, [&field](int n) { field = std::chrono::seconds(n); })
        ->check(CLI::Range(lo, hi));
  };

  // The limits keep every phase bounded: the machine caps descriptors at 20,000 per process.
  app.add_option("--url", o.url)->check(non_empty);
  app.add_option("--app-id", o.app_id)->check(non_empty);
  app.add_option("--api-token", o.api_token)->check(non_empty);
  app.add_option("--server-pid", o.server_pid)->check(CLI::Range(1, 1 << 30));
  app.add_option("--report", o.report_path)->check(non_empty);
  app.add_option_function<std::string>("--phases", [&o](const std::string& v) {
    if (!set_phases(o, v)) throw CLI::ValidationError("--phases", "bad value: " + v);
  });
  app.add_option("--threads", o.threads)->check(CLI::Range(1, 16));
  app.add_option("--source-addresses", o.source_addresses)->check(CLI::Range(1, 200));
  app.add_option("--auth-clients", o.auth_clients)->check(CLI::Range(1, 1000));
  seconds("--auth-warmup-s", o.auth_warmup, 0, 60);
  seconds("--auth-seconds", o.auth_duration, 1, 300);
  app.add_option("--ws-total", o.ws_total)->check(CLI::Range(1, 15000));
  app.add_option("--ws-concurrency", o.ws_concurrency)->check(CLI::Range(1, 1000));
  app.add_option("--idle-connections", o.idle_connections)->check(CLI::Range(1, 15000));
  app.add_option("--call-pairs", o.call_pairs)->check(CLI::Range(1, 7500));
  app.add_option("--call-rate", o.call_rate)->check(CLI::Range(1, 20000));
  seconds("--call-seconds", o.call_seconds, 1, 60);
  app.add_option("--call-sat-rate", o.call_sat_rate)->check(CLI::Range(1, 20000));
  seconds("--call-sat-seconds", o.call_sat_seconds, 1, 60);
  app.add_option("--call-sat-in-flight", o.call_sat_in_flight)->check(CLI::Range(1, 100000));
  app.add_option("--soak-rate", o.soak_rate)->check(CLI::Range(0, 20000));
  seconds("--soak-seconds", o.soak_duration, 10, 7 * 86400);
  seconds("--soak-interval-s", o.soak_interval, 1, 3600);
  app.add_option("--soak-csv", o.soak_csv)->check(non_empty);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(usage, stdout);
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "parley-bench: %s\n%s", e.what(), usage);
    return std::nullopt;
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
