#pragma once

// Test support for the SDK suites: a real parleyd on loopback, the app's backend (Platform API)
// as a small blocking HTTP helper, JWT signing, temporary directories, and a recorder that lets a
// test wait for listener events without sleeping.

#include <parley/parley.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <sys/types.h>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace parley::test {

namespace json = boost::json;
using namespace std::chrono_literals;

// The path of parleyd from the environment (PARLEYD), or "" when unset.
std::string parleyd_path();

// A directory under the system's temp dir, removed with its contents at destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct app_credentials {
  std::string app_id;
  std::string api_token;
  std::string signing_secret;
};

// `parleyd app create --name NAME --json --data-dir DIR`.
app_credentials create_app(const std::string& parleyd, const std::filesystem::path& data_dir,
                           const std::string& name);

// A running `parleyd serve`. The constructor returns once the server printed its listening line.
class server_process {
 public:
  // listen: "127.0.0.1:0" for any free port, or a fixed "127.0.0.1:PORT" (restart on a port).
  server_process(std::string parleyd, std::filesystem::path data_dir,
                 std::vector<std::string> extra_args = {}, std::string listen = "127.0.0.1:0");
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  int port() const { return port_; }
  std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }

  // SIGKILL: the connections drop without a close frame, as when a machine dies.
  void kill_hard();
  // SIGTERM: the server drains and exits.
  void stop();
  // SIGSTOP / SIGCONT: the server stays connected but says nothing (a dead link, seen from TCP).
  void pause();
  void resume();

 private:
  void start(const std::string& listen);
  bool wait_exit(std::chrono::milliseconds timeout);

  std::string parleyd_;
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int exit_status_ = 0;
  std::string scheme_ = "http";
  int port_ = 0;
};

struct http_answer {
  int status = 0;
  json::value body;  // null when empty or not JSON
  std::string text;
};

// Blocking HTTP for the tests, on the SDK's own transport (with its own io thread).
class http_helper {
 public:
  // ca_file: the CA that signed an https:// server's certificate.
  explicit http_helper(const std::string& base_url, const std::string& ca_file = "");
  ~http_helper();
  http_answer call(const std::string& method, const std::string& target,
                   std::optional<json::object> body = std::nullopt,
                   std::vector<std::pair<std::string, std::string>> headers = {});

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The app's backend: users and tokens through the Platform API.
class platform_api {
 public:
  platform_api(const std::string& base_url, app_credentials app, const std::string& ca_file = "");

  // Creates a user; returns the access token when `with_access_token`.
  std::optional<std::string> create_user(const std::string& user_id, bool with_access_token);
  // POST session_tokens; expires_at 0: the server's default. Returns {token, expires_at}.
  std::pair<std::string, std::int64_t> issue_session_token(const std::string& user_id,
                                                           std::int64_t expires_at = 0);
  http_answer call(const std::string& method, const std::string& path,
                   std::optional<json::object> body = std::nullopt);
  const app_credentials& app() const { return app_; }
  http_helper& http() { return http_; }

 private:
  app_credentials app_;
  http_helper http_;
};

// An HS256 JWT with claims sub, iss and exp (seconds), signed with `secret` as the key bytes.
std::string sign_jwt(const std::string& secret, const std::string& user_id,
                     const std::string& app_id, std::int64_t exp_s);

// A self-signed certificate (its own CA) for IP 127.0.0.1, and its key, as PEM files.
void write_self_signed_cert(const std::filesystem::path& cert_file,
                            const std::filesystem::path& key_file);

std::int64_t now_ms();

// Records connection listener calls; tests wait on it.
class recorder : public connection_listener {
 public:
  struct event {
    std::string kind;  // "connected", "reconnecting", "disconnected"
    std::optional<disconnect_info> info;
  };

  void on_connected() override;
  void on_reconnecting(int attempt, std::chrono::milliseconds delay) override;
  void on_disconnected(const disconnect_info& info) override;

  // Waits until an event of `kind` (optionally with `reason`) arrived at index >= from.
  // Returns its index, or -1 on timeout.
  int wait_for(const std::string& kind, std::optional<disconnect_reason> reason = std::nullopt,
               std::chrono::milliseconds timeout = 20s, std::size_t from = 0);
  std::vector<event> events() const;

 private:
  void push(event e);
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<event> events_;
};

// Records call listener and incoming call listener calls; tests wait on it. It keeps weak
// references to the calls, so a call that holds it as its listener makes no cycle.
class call_recorder : public call_listener, public incoming_call_listener {
 public:
  struct event {
    std::string kind;  // ringing, accepted, connected, ended, media_state, reconnecting,
                       // reconnected, signal
    std::string call_id;
    std::string detail;  // ended: the end result; media_state: "audio=1 video=0"; signal: data
    std::weak_ptr<call> c;
  };

  void on_ringing(const std::shared_ptr<call>& c) override;
  void on_accepted(const std::shared_ptr<call>& c) override;
  void on_connected(const std::shared_ptr<call>& c) override;
  void on_ended(const std::shared_ptr<call>& c, call_end_result result) override;
  void on_remote_media_state(const std::shared_ptr<call>& c, bool audio, bool video) override;
  void on_reconnecting(const std::shared_ptr<call>& c) override;
  void on_reconnected(const std::shared_ptr<call>& c) override;
  void on_signal(const std::shared_ptr<call>& c, const std::string& data) override;

  // The first event of `kind` at index >= from, waiting up to `timeout`; std::nullopt on timeout.
  std::optional<event> wait_for(const std::string& kind, std::chrono::milliseconds timeout = 20s,
                                std::size_t from = 0);
  std::size_t count(const std::string& kind) const;
  std::vector<event> events() const;

 private:
  void push(event e);
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<event> events_;
};

// client_options for the test server: data dir, fast reconnects, logs to stderr when
// PARLEY_TEST_LOG is set.
client_options options_for(const std::string& url, const std::filesystem::path& data_dir);

// Waits on a future with a deadline; fails the test (throws) on timeout.
template <class T>
T get_within(std::future<T> f, std::chrono::milliseconds timeout = 20s) {
  if (f.wait_for(timeout) != std::future_status::ready)
    throw std::runtime_error("timed out waiting for a future");
  return f.get();
}

// The error code a future ends with (fails when it ends well).
template <class T>
std::optional<error> error_of(std::future<T> f, std::chrono::milliseconds timeout = 20s) {
  try {
    get_within(std::move(f), timeout);
  } catch (const error& e) {
    return e;
  }
  return std::nullopt;
}

}  // namespace parley::test
