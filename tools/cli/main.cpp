// parley: a terminal client for Parley direct calls, built on libparley.
//
// It signs a user in once (`parley login`, kept in a data directory like any app's state), then
// dials, answers and lists calls. Media is the SDK's loopback engine: the signalling, the
// media_connected report and the call's whole life are real, the audio is not.
// Exit codes: 0 success, 1 usage or other error, 2 authentication error, 3 call failed or not
// answered (docs/cli.md).

#include <parley/parley.hpp>
#include <parley/testing/loopback_media_engine.hpp>

#include <pthread.h>
#include <signal.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int exit_ok = 0;
constexpr int exit_error = 1;
constexpr int exit_auth = 2;
constexpr int exit_call_failed = 3;

constexpr const char* usage_text = R"(parley: a terminal client for Parley calls

usage:
  parley login --api URL --app APP_ID --user USER --token TOKEN [--session-token | --jwt]
      Sign in. TOKEN is an access token, or a session token with --session-token, or a JWT
      with --jwt. The session is kept in the data directory.
  parley call USER [--video] [--hangup-after SECONDS]
      Dial USER and follow the call until it ends. --hangup-after ends it SECONDS after media
      connected; otherwise it runs until the peer ends it (Ctrl-C ends it from here).
  parley answer [--timeout SECONDS] [--hangup-after SECONDS]
      Wait up to SECONDS (default 60) for a call to ring, accept it and follow it.
  parley calls [--limit N] [--next CURSOR]
      The call log, newest first (N: default 20).
  parley whoami
      The signed-in user.
  parley logout
      End the session on the server and forget it here.

options (any command):
  --data-dir DIR   where the state is kept (default: $PARLEY_DATA_DIR, else ~/.parley)
  --verbose        the SDK's log on stderr
  -h, --help       this text

exit codes:
  0  success (for call and answer: the call was established and ended completed)
  1  usage or other error (bad arguments, server unreachable, ...)
  2  authentication error (not signed in, bad or expired credentials, session ended)
  3  the call failed or was not answered (declined, no answer, canceled, timed out, lost, ...)
)";

// Command-line arguments: positional words and --options (with or without a value).
struct args {
  std::vector<std::string> words;
  std::map<std::string, std::string> options;  // "" for flags

  bool has(const std::string& name) const { return options.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
};

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

args parse_args(int argc, char** argv) {
  static const std::vector<std::string> flags = {"--video",   "--session-token", "--jwt",
                                                 "--verbose", "--help",          "-h"};
  args a;
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("-", 0) != 0 || word == "-") {
      a.words.push_back(word);
      continue;
    }
    if (auto eq = word.find('='); eq != std::string::npos) {
      a.options[word.substr(0, eq)] = word.substr(eq + 1);
      continue;
    }
    if (std::find(flags.begin(), flags.end(), word) != flags.end()) {
      a.options[word] = "";
      continue;
    }
    if (i + 1 >= argc) throw usage_error(word + " needs a value");
    a.options[word] = argv[++i];
  }
  return a;
}

int parse_seconds(const args& a, const std::string& name, int fallback) {
  if (!a.has(name)) return fallback;
  try {
    std::size_t used = 0;
    int v = std::stoi(a.get(name), &used);
    if (used != a.get(name).size() || v < 0) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw usage_error(name + " takes a whole number >= 0");
  }
}

void check_options(const args& a, const std::vector<std::string>& allowed) {
  static const std::vector<std::string> global = {"--data-dir", "--verbose", "--help", "-h"};
  for (const auto& [name, value] : a.options) {
    bool ok = std::find(allowed.begin(), allowed.end(), name) != allowed.end() ||
              std::find(global.begin(), global.end(), name) != global.end();
    if (!ok) throw usage_error("unknown option " + name);
  }
}

fs::path data_dir(const args& a) {
  if (a.has("--data-dir")) return a.get("--data-dir");
  if (const char* env = std::getenv("PARLEY_DATA_DIR"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".parley";
  throw usage_error("no data directory: give --data-dir or set HOME");
}

// Where the server is and which app: kept next to the SDK's own state file.
struct cli_config {
  std::string api_url;
  std::string app_id;
};

fs::path config_path(const fs::path& dir) {
  return dir / "cli.conf";
}

std::optional<cli_config> load_config(const fs::path& dir) {
  std::ifstream in(config_path(dir));
  if (!in) return std::nullopt;
  cli_config c;
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto key = line.substr(0, eq);
    auto value = line.substr(eq + 1);
    if (key == "api_url") c.api_url = value;
    if (key == "app_id") c.app_id = value;
  }
  if (c.api_url.empty() || c.app_id.empty()) return std::nullopt;
  return c;
}

void save_config(const fs::path& dir, const cli_config& c) {
  fs::create_directories(dir);
  auto tmp = config_path(dir).string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "api_url=" << c.api_url << "\napp_id=" << c.app_id << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  fs::rename(tmp, config_path(dir));
}

bool is_auth_error(parley::error_code code) {
  using parley::error_code;
  return code == error_code::invalid_credentials || code == error_code::token_expired ||
         code == error_code::unauthorized || code == error_code::session_expired ||
         code == error_code::not_authenticated;
}

// Prints the error for people and gives the exit code it means.
int report(const parley::error& e) {
  if (e.code() == parley::error_code::not_authenticated) {
    std::cerr << "parley: not signed in: run `parley login` first\n";
    return exit_auth;
  }
  std::cerr << "parley: " << e.what() << "\n";
  return is_auth_error(e.code()) ? exit_auth : exit_error;
}

void say(const std::string& line) {
  std::cout << line << std::endl;  // flushed: the output is read live (and by scripts)
}

parley::client_options make_options(const cli_config& c, const fs::path& dir, bool verbose) {
  parley::client_options o;
  o.api_url = c.api_url;
  o.data_dir = dir;
  if (verbose)
    o.logger = [](parley::log_level level, std::string_view text) {
      static const char* names[] = {"debug", "info", "warning", "error"};
      std::cerr << "[sdk " << names[static_cast<int>(level)] << "] " << text << "\n";
    };
  return o;
}

// A client on the stored configuration and session (throws parley::error / usage_error).
std::unique_ptr<parley::client> open_client(const args& a) {
  auto dir = data_dir(a);
  auto config = load_config(dir);
  if (!config)
    throw parley::error(parley::error_code::not_authenticated,
                        "no stored login in " + dir.string());
  auto c = std::make_unique<parley::client>();
  c->init(config->app_id, make_options(*config, dir, a.has("--verbose")));
  return c;
}

std::string format_duration_ms(std::int64_t ms) {
  auto s = ms / 1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                static_cast<long long>(s % 60));
  return buf;
}

std::string format_time(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Following a call: listeners put events on a queue; the main thread prints and decides.

struct call_event {
  std::string kind;  // ringing, accepted, connected, ended, media_state, reconnecting,
                     // reconnected, signal, disconnected, interrupted
  std::shared_ptr<parley::call> c;
  std::string detail;
  parley::call_end_result result = parley::call_end_result::unknown;
};

class event_queue : public parley::call_listener,
                    public parley::incoming_call_listener,
                    public parley::connection_listener {
 public:
  void push(call_event e) {
    {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(e));
    }
    cv_.notify_all();
  }
  // The next event, or std::nullopt when `until` passed first.
  std::optional<call_event> next(std::optional<std::chrono::steady_clock::time_point> until) {
    std::unique_lock lock(mu_);
    auto ready = [this] { return !events_.empty(); };
    if (until)
      cv_.wait_until(lock, *until, ready);
    else
      cv_.wait(lock, ready);
    if (events_.empty()) return std::nullopt;
    auto e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

  // The first ringing call gets this queue as its listener before any of its events can come.
  void on_ringing(const std::shared_ptr<parley::call>& c) override {
    if (taken_.exchange(true)) return;
    c->set_listener(self_.lock());
    push({"ringing", c, "", {}});
  }
  void on_accepted(const std::shared_ptr<parley::call>& c) override {
    push({"accepted", c, "", {}});
  }
  void on_connected(const std::shared_ptr<parley::call>& c) override {
    push({"connected", c, "", {}});
  }
  void on_ended(const std::shared_ptr<parley::call>& c, parley::call_end_result r) override {
    push({"ended", c, "", r});
  }
  void on_remote_media_state(const std::shared_ptr<parley::call>& c, bool audio,
                             bool video) override {
    push({"media_state",
          c,
          std::string("audio ") + (audio ? "on" : "off") + ", video " + (video ? "on" : "off"),
          {}});
  }
  void on_reconnecting(const std::shared_ptr<parley::call>& c) override {
    push({"reconnecting", c, "", {}});
  }
  void on_reconnected(const std::shared_ptr<parley::call>& c) override {
    push({"reconnected", c, "", {}});
  }
  void on_signal(const std::shared_ptr<parley::call>& c, const std::string& data) override {
    push({"signal", c, data, {}});
  }
  void on_disconnected(const parley::disconnect_info& info) override {
    push({"disconnected", nullptr, std::string(parley::to_string(info.reason)), {}});
  }

  std::weak_ptr<event_queue> self_;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<call_event> events_;
  std::atomic<bool> taken_{false};
};

std::shared_ptr<event_queue> make_queue() {
  auto q = std::make_shared<event_queue>();
  q->self_ = q;
  return q;
}

// Ctrl-C and SIGTERM become an "interrupted" event: the call is ended properly, not dropped.
void watch_signals(const std::shared_ptr<event_queue>& queue) {
  std::thread([weak = std::weak_ptr<event_queue>(queue)] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      if (auto q = weak.lock()) q->push({"interrupted", nullptr, "", {}});
    }
  }).detach();
}

// Follows an established or ringing call to its end. `established`: the call was accepted.
int follow(const std::shared_ptr<parley::call>& c, event_queue& queue, int hangup_after,
           bool established) {
  std::optional<std::chrono::steady_clock::time_point> hangup_at;
  bool hanging_up = false;
  auto hang_up = [&] {
    if (hanging_up) return;
    hanging_up = true;
    hangup_at.reset();
    say("hanging up");
    c->end([](parley::result<void> r) {
      if (!r) std::cerr << "parley: end failed: " << r.err().what() << "\n";
    });
  };
  for (;;) {
    auto e = queue.next(hangup_at);
    if (!e) {
      hang_up();
      continue;
    }
    if (e->c && e->c != c) continue;
    if (e->kind == "accepted") {
      established = true;
      say("accepted");
    } else if (e->kind == "connected") {
      say("connected");
      if (hangup_after >= 0 && !hanging_up)
        hangup_at = std::chrono::steady_clock::now() + std::chrono::seconds(hangup_after);
    } else if (e->kind == "media_state") {
      say("peer media: " + e->detail);
    } else if (e->kind == "reconnecting") {
      say("peer reconnecting");
    } else if (e->kind == "reconnected") {
      say("peer reconnected");
    } else if (e->kind == "signal") {
      say("signal: " + e->detail);
    } else if (e->kind == "interrupted") {
      hang_up();
    } else if (e->kind == "disconnected") {
      std::cerr << "parley: the connection closed (" << e->detail << ")\n";
      return e->detail == "network" ? exit_error : exit_auth;
    } else if (e->kind == "ended") {
      auto info = c->info();
      std::string line = "ended " + std::string(parley::to_string(e->result));
      if (info.ended_by) line += " by " + *info.ended_by;
      if (info.duration_ms) line += " after " + format_duration_ms(*info.duration_ms);
      say(line);
      return established && e->result == parley::call_end_result::completed ? exit_ok
                                                                            : exit_call_failed;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

int cmd_login(const args& a) {
  check_options(a, {"--api", "--app", "--user", "--token", "--session-token", "--jwt"});
  for (const char* required : {"--api", "--app", "--user", "--token"})
    if (!a.has(required) || a.get(required).empty())
      throw usage_error(std::string("login needs ") + required);
  if (a.has("--session-token") && a.has("--jwt"))
    throw usage_error("give --session-token or --jwt, not both");
  auto dir = data_dir(a);
  cli_config config{a.get("--api"), a.get("--app")};
  parley::client client;
  client.init(config.app_id, make_options(config, dir, a.has("--verbose")));
  parley::auth_params params{.user_id = a.get("--user")};
  if (a.has("--session-token"))
    params.session_token = a.get("--token");
  else if (a.has("--jwt"))
    params.jwt = a.get("--token");
  else
    params.access_token = a.get("--token");
  auto me = client.authenticate(params).get();
  save_config(dir, config);
  std::string expiry = client.session_expires_at()
                           ? "until " + format_time(*client.session_expires_at())
                           : "with no expiry";
  say("signed in as " + me.user_id + " (app " + config.app_id + ", " + expiry + ")");
  return exit_ok;
}

int cmd_logout(const args& a) {
  check_options(a, {});
  auto client = open_client(a);
  try {
    client->deauthenticate().get();
  } catch (const parley::error& e) {
    if (e.code() == parley::error_code::not_authenticated) throw;
    // The local session is gone anyway; say what the server did not hear.
    std::cerr << "parley: signed out here; the server was not told: " << e.what() << "\n";
    return exit_error;
  }
  say("signed out");
  return exit_ok;
}

int cmd_whoami(const args& a) {
  check_options(a, {});
  auto client = open_client(a);
  auto me = client->current_user();
  if (!me) throw parley::error(parley::error_code::not_authenticated, "no session");
  say(me->user_id);
  return exit_ok;
}

int cmd_call(const args& a) {
  check_options(a, {"--video", "--hangup-after"});
  if (a.words.size() != 2) throw usage_error("call needs exactly one user id");
  int hangup_after = parse_seconds(a, "--hangup-after", -1);
  auto queue = make_queue();
  watch_signals(queue);
  auto client = open_client(a);
  client->set_media_engine_factory(parley::loopback_media_engine::factory());
  client->add_connection_listener(queue);
  client->connect_websocket().get();

  const auto& callee = a.words[1];
  bool video = a.has("--video");
  say("calling " + callee + (video ? " (video)" : " (audio)"));
  std::shared_ptr<parley::call> c;
  try {
    c = client->dial({.callee_id = callee, .is_video = video, .listener = queue}).get();
  } catch (const parley::error& e) {
    if (e.code() == parley::error_code::callee_not_found ||
        e.code() == parley::error_code::dial_myself) {
      std::cerr << "parley: " << e.what() << "\n";
      return exit_call_failed;
    }
    throw;
  }
  say("ringing (call " + c->id() + ")");
  return follow(c, *queue, hangup_after, false);
}

int cmd_answer(const args& a) {
  check_options(a, {"--timeout", "--hangup-after"});
  if (a.words.size() != 1) throw usage_error("answer takes no user id");
  int timeout = parse_seconds(a, "--timeout", 60);
  int hangup_after = parse_seconds(a, "--hangup-after", -1);
  auto queue = make_queue();
  watch_signals(queue);
  auto client = open_client(a);
  client->set_media_engine_factory(parley::loopback_media_engine::factory());
  client->add_connection_listener(queue);
  client->add_incoming_call_listener(queue);
  client->connect_websocket().get();
  say("waiting for a call (up to " + std::to_string(timeout) + " s)");

  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  std::shared_ptr<parley::call> c;
  while (!c) {
    auto e = queue->next(until);
    if (!e) {
      say("no call");
      return exit_call_failed;
    }
    if (e->kind == "interrupted") return exit_call_failed;
    if (e->kind == "disconnected") {
      std::cerr << "parley: the connection closed (" << e->detail << ")\n";
      return e->detail == "network" ? exit_error : exit_auth;
    }
    if (e->kind == "ringing") c = e->c;
  }
  auto info = c->info();
  say("ringing: " + info.caller_id + " calls" + (info.is_video ? " (video)" : " (audio)") +
      " (call " + c->id() + ")");
  try {
    c->accept().get();
  } catch (const parley::error& e) {
    if (e.code() == parley::error_code::network_error) throw;
    std::cerr << "parley: could not accept: " << e.what() << "\n";
    return exit_call_failed;
  }
  return follow(c, *queue, hangup_after, true);
}

int cmd_calls(const args& a) {
  check_options(a, {"--limit", "--next"});
  int limit = parse_seconds(a, "--limit", 20);
  if (limit < 1) throw usage_error("--limit takes a number >= 1");
  auto client = open_client(a);
  auto me = client->current_user();
  std::vector<parley::call_info> calls;
  std::optional<std::string> next;
  if (a.has("--next")) next = a.get("--next");
  do {
    int want = std::min(100, limit - static_cast<int>(calls.size()));
    auto page = client->call_log({.limit = want, .next = next}).get();
    calls.insert(calls.end(), page.calls.begin(), page.calls.end());
    next = page.next;
  } while (next && static_cast<int>(calls.size()) < limit);

  if (calls.empty()) {
    say("no calls");
    return exit_ok;
  }
  std::printf("%-19s  %-3s  %-20s  %-5s  %-21s  %8s  %s\n", "WHEN", "DIR", "PEER", "MEDIA",
              "RESULT", "DURATION", "CALL ID");
  for (const auto& c : calls) {
    bool outgoing = me && c.caller_id == me->user_id;
    auto peer = outgoing ? c.callee_id : c.caller_id;
    auto result = c.end_result.value_or(c.state);
    auto duration = c.duration_ms ? format_duration_ms(*c.duration_ms) : std::string("-");
    std::printf("%-19s  %-3s  %-20s  %-5s  %-21s  %8s  %s\n", format_time(c.created_at).c_str(),
                outgoing ? "out" : "in", peer.c_str(), c.is_video ? "video" : "audio",
                result.c_str(), duration.c_str(), c.call_id.c_str());
  }
  if (next) std::printf("more: parley calls --next %s\n", next->c_str());
  std::fflush(stdout);
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken by one thread with sigwait (see watch_signals): block them in every
  // thread, the SDK's io thread included, before any is started.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  try {
    auto a = parse_args(argc, argv);
    if (a.has("--help") || a.has("-h") || a.words.empty()) {
      std::cout << usage_text;
      return a.words.empty() && !a.has("--help") && !a.has("-h") ? exit_error : exit_ok;
    }
    const auto& command = a.words[0];
    if (command == "login") return cmd_login(a);
    if (command == "logout") return cmd_logout(a);
    if (command == "whoami") return cmd_whoami(a);
    if (command == "call") return cmd_call(a);
    if (command == "answer") return cmd_answer(a);
    if (command == "calls") return cmd_calls(a);
    throw usage_error("unknown command " + command);
  } catch (const usage_error& e) {
    std::cerr << "parley: " << e.what() << "\n(see parley --help)\n";
    return exit_error;
  } catch (const parley::error& e) {
    return report(e);
  } catch (const std::exception& e) {
    std::cerr << "parley: " << e.what() << "\n";
    return exit_error;
  }
}
