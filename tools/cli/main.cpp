// parley: a terminal client for Parley direct calls, built on libparley.
//
// It signs a user in once (`parley login`, kept in a data directory like any app's state), then
// dials, answers and lists calls. Media is the SDK's loopback engine: the signalling, the
// media_connected report and the call's whole life are real, the audio is not.
// Exit codes: 0 success, 1 usage or other error, 2 authentication error, 3 call failed or not
// answered (docs/cli.md).

#include <parley/parley.hpp>
#include <parley/testing/loopback_media_engine.hpp>

#include <CLI/CLI.hpp>

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
#include <mutex>
#include <optional>
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

// The command line, parsed by CLI11. The options for every command may come before or after the
// command's name; a command's own options come after it. A value is the next word or follows `=`.
struct command_line {
  std::string command;  // login, logout, whoami, call, answer or calls
  std::optional<std::string> data_dir;
  bool verbose = false;
  // login
  std::string api, app, user, token;
  bool session_token = false;
  bool jwt = false;
  // call
  std::vector<std::string> callee;
  bool video = false;
  // call and answer: -1 is "not given" (run until the peer ends the call)
  int hangup_after = -1;
  // answer
  int timeout = 60;
  // calls
  int limit = 20;
  std::optional<std::string> next;
};

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws CLI::ParseError on a bad command line (CLI::CallForHelp for -h/--help, anywhere).
command_line parse_command_line(int argc, char** argv) {
  command_line c;
  CLI::App app{"parley: a terminal client for Parley calls", "parley"};
  // Given twice, the last value counts (set before the commands are added: they copy it).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto* data_dir = app.add_option("--data-dir");
  app.add_flag("--verbose", c.verbose);

  // Words that follow these commands were always ignored; they still are.
  std::vector<std::string> ignored;
  auto command = [&](const char* name, bool takes_extra_words = true) {
    auto* sub = app.add_subcommand(name)->fallthrough();
    if (takes_extra_words) sub->add_option("words", ignored)->group("");
    return sub;
  };
  auto* login = command("login");
  login->add_option("--api", c.api);
  login->add_option("--app", c.app);
  login->add_option("--user", c.user);
  login->add_option("--token", c.token);
  login->add_flag("--session-token", c.session_token);
  login->add_flag("--jwt", c.jwt);
  command("logout");
  command("whoami");
  auto* call = command("call", false);
  call->add_option("USER", c.callee);
  call->add_flag("--video", c.video);
  call->add_option("--hangup-after", c.hangup_after)->check(CLI::NonNegativeNumber);
  auto* answer = command("answer", false);
  answer->add_option("--timeout", c.timeout)->check(CLI::NonNegativeNumber);
  answer->add_option("--hangup-after", c.hangup_after)->check(CLI::NonNegativeNumber);
  auto* calls = command("calls");
  calls->add_option("--limit", c.limit)->check(CLI::PositiveNumber);
  auto* next = calls->add_option("--next");

  app.parse(argc, argv);
  if (auto chosen = app.get_subcommands(); !chosen.empty()) c.command = chosen.front()->get_name();
  if (*data_dir) c.data_dir = data_dir->as<std::string>();
  if (*next) c.next = next->as<std::string>();
  return c;
}

fs::path data_dir(const command_line& a) {
  if (a.data_dir) return *a.data_dir;
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
std::unique_ptr<parley::client> open_client(const command_line& a) {
  auto dir = data_dir(a);
  auto config = load_config(dir);
  if (!config)
    throw parley::error(parley::error_code::not_authenticated,
                        "no stored login in " + dir.string());
  auto c = std::make_unique<parley::client>();
  c->init(config->app_id, make_options(*config, dir, a.verbose));
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

int cmd_login(const command_line& a) {
  for (auto [name, value] : {std::pair{"--api", &a.api}, std::pair{"--app", &a.app},
                             std::pair{"--user", &a.user}, std::pair{"--token", &a.token}})
    if (value->empty()) throw usage_error(std::string("login needs ") + name);
  if (a.session_token && a.jwt) throw usage_error("give --session-token or --jwt, not both");
  auto dir = data_dir(a);
  cli_config config{a.api, a.app};
  parley::client client;
  client.init(config.app_id, make_options(config, dir, a.verbose));
  parley::auth_params params{.user_id = a.user};
  if (a.session_token)
    params.session_token = a.token;
  else if (a.jwt)
    params.jwt = a.token;
  else
    params.access_token = a.token;
  auto me = client.authenticate(params).get();
  save_config(dir, config);
  std::string expiry = client.session_expires_at()
                           ? "until " + format_time(*client.session_expires_at())
                           : "with no expiry";
  say("signed in as " + me.user_id + " (app " + config.app_id + ", " + expiry + ")");
  return exit_ok;
}

int cmd_logout(const command_line& a) {
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

int cmd_whoami(const command_line& a) {
  auto client = open_client(a);
  auto me = client->current_user();
  if (!me) throw parley::error(parley::error_code::not_authenticated, "no session");
  say(me->user_id);
  return exit_ok;
}

int cmd_call(const command_line& a) {
  if (a.callee.size() != 1) throw usage_error("call needs exactly one user id");
  auto queue = make_queue();
  watch_signals(queue);
  auto client = open_client(a);
  client->set_media_engine_factory(parley::loopback_media_engine::factory());
  client->add_connection_listener(queue);
  client->connect_websocket().get();

  const auto& callee = a.callee.front();
  bool video = a.video;
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
  return follow(c, *queue, a.hangup_after, false);
}

int cmd_answer(const command_line& a) {
  int timeout = a.timeout;
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
  return follow(c, *queue, a.hangup_after, true);
}

int cmd_calls(const command_line& a) {
  int limit = a.limit;
  auto client = open_client(a);
  auto me = client->current_user();
  std::vector<parley::call_info> calls;
  std::optional<std::string> next = a.next;
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
    auto a = parse_command_line(argc, argv);
    if (a.command.empty()) {
      std::cout << usage_text;
      return exit_error;
    }
    const auto& command = a.command;
    if (command == "login") return cmd_login(a);
    if (command == "logout") return cmd_logout(a);
    if (command == "whoami") return cmd_whoami(a);
    if (command == "call") return cmd_call(a);
    if (command == "answer") return cmd_answer(a);
    if (command == "calls") return cmd_calls(a);
    throw usage_error("unknown command " + command);
  } catch (const CLI::CallForHelp&) {
    std::cout << usage_text;
    return exit_ok;
  } catch (const CLI::ParseError& e) {
    std::cerr << "parley: " << e.what() << "\n(see parley --help)\n";
    return exit_error;
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
