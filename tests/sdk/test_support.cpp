#include "test_support.hpp"

#include "impl/codec.hpp"
#include "impl/url.hpp"
#include "transport/event_loop.hpp"
#include "transport/http_client.hpp"
#include "transport/tls_context.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace parley::test {

std::string parleyd_path() {
  const char* p = std::getenv("PARLEYD");
  return p ? p : "";
}

temp_dir::temp_dir() {
  auto pattern = (std::filesystem::temp_directory_path() / "parley-sdk-test-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

// Runs a command, returns its stdout; throws when it exits non-zero.
std::string run_capture(const std::vector<std::string>& argv) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  std::string text;
  std::array<char, 4096> buf{};
  for (;;) {
    auto n = ::read(out[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(argv[0] + " " + argv[1] + " failed: " + text);
  return text;
}

}  // namespace

app_credentials create_app(const std::string& parleyd, const std::filesystem::path& data_dir,
                           const std::string& name) {
  auto out = run_capture(
      {parleyd, "app", "create", "--name", name, "--json", "--data-dir", data_dir.string()});
  auto v = json::parse(out);
  const auto& o = v.as_object();
  return {std::string(o.at("app_id").as_string()), std::string(o.at("api_token").as_string()),
          std::string(o.at("signing_secret").as_string())};
}

server_process::server_process(std::string parleyd, std::filesystem::path data_dir,
                               std::vector<std::string> extra_args, std::string listen)
    : parleyd_(std::move(parleyd)),
      data_dir_(std::move(data_dir)),
      extra_args_(std::move(extra_args)) {
  start(listen);
}

server_process::~server_process() {
  if (pid_ > 0) stop();
}

void server_process::start(const std::string& listen) {
  std::vector<std::string> argv{parleyd_, "serve",      "--listen",
                                listen,   "--data-dir", data_dir_.string()};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  auto log_path = (data_dir_ / "parleyd.log").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, parleyd_.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    throw std::runtime_error("cannot start parleyd: " + std::string(std::strerror(rc)));
  }
  pid_ = pid;

  // Read stdout until the listening line, within a deadline (sanitizer builds start slowly).
  const std::string prefix = "parleyd listening on ";
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    auto nl = text.find('\n');
    if (nl != std::string::npos) {
      auto line = text.substr(0, nl);
      auto at = line.find(prefix);
      if (at != std::string::npos) {
        // "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT"
        auto address = line.substr(at + prefix.size());
        auto colon = address.rfind(':');
        scheme_ = address.substr(0, address.find("://"));
        port_ = std::stoi(address.substr(colon + 1));
        break;
      }
      text.erase(0, nl + 1);
      continue;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    int n = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (n < 0 && errno == EINTR) continue;
    std::array<char, 1024> buf{};
    ssize_t got = n > 0 ? ::read(out[0], buf.data(), buf.size()) : 0;
    if (got <= 0) {
      ::close(out[0]);
      ::kill(pid_, SIGKILL);
      wait_exit(5s);
      std::ifstream log(log_path);
      std::string log_text((std::istreambuf_iterator<char>(log)), {});
      throw std::runtime_error("parleyd did not report listening; its log:\n" + log_text);
    }
    text.append(buf.data(), static_cast<std::size_t>(got));
  }
  // Kept open until the server exits: a later write of the server must not meet a closed pipe.
  stdout_fd_ = out[0];
}

bool server_process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return true;
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    int n;
    do {
      n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (n < 0 && errno == EINTR);
    ::close(fd);
    if (n <= 0) return false;
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_status_ = status;
  pid_ = -1;
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
  // A sanitizer report fails the test however the server ended (SIGKILL leaves no exit code to
  // look at, and a report at shutdown comes after the test's own checks).
  std::ifstream log(data_dir_ / "parleyd.log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  for (const char* what : {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
                           "ERROR: LeakSanitizer", "ERROR: UndefinedBehaviorSanitizer"}) {
    if (auto at = text.find(what); at != std::string::npos) {
      ADD_FAILURE() << "parleyd printed a sanitizer report:\n" << text.substr(at, 12000);
      break;
    }
  }
  return true;
}

void server_process::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(10s);
}

void server_process::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void server_process::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

void server_process::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  if (!wait_exit(20s)) {
    std::cerr << "parleyd did not exit within 20 s of SIGTERM\n";
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
    return;
  }
  // A drained server exits 0; anything else (a crash, a sanitizer report) is worth seeing.
  if (!WIFEXITED(exit_status_) || WEXITSTATUS(exit_status_) != 0) {
    std::ifstream log(data_dir_ / "parleyd.log");
    std::string text((std::istreambuf_iterator<char>(log)), {});
    if (text.size() > 64000) text = text.substr(text.size() - 64000);
    std::cerr << "parleyd exited with status " << exit_status_ << " after SIGTERM; its log ends:\n"
              << text << "\n";
  }
}

struct http_helper::impl {
  transport::event_loop loop;
  std::unique_ptr<transport::http_client> client;
};

http_helper::http_helper(const std::string& base_url, const std::string& ca_file)
    : impl_(std::make_unique<impl>()) {
  auto ep = detail::parse_api_url(base_url);
  if (!ep) throw std::runtime_error("bad URL " + base_url);
  std::shared_ptr<transport::tls_context> tls;
  if (ep->tls) tls = transport::make_tls_context({true, ca_file});
  impl_->loop.run_sync(
      [&] { impl_->client = std::make_unique<transport::http_client>(impl_->loop, *ep, tls); });
}

http_helper::~http_helper() {
  impl_->loop.run_sync([&] { impl_->client.reset(); });
  impl_->loop.shutdown();
}

http_answer http_helper::call(const std::string& method, const std::string& target,
                              std::optional<json::object> body,
                              std::vector<std::pair<std::string, std::string>> headers) {
  transport::http_request request;
  request.method = method;
  request.target = target;
  request.headers = std::move(headers);
  if (body) request.body = json::serialize(*body);
  std::promise<http_answer> promise;
  auto future = promise.get_future();
  impl_->loop.post([&] {
    impl_->client->send(
        std::move(request),
        [&promise](std::optional<transport::transport_failure> f, transport::http_response r) {
          if (f) {
            promise.set_exception(std::make_exception_ptr(std::runtime_error(f->message)));
            return;
          }
          http_answer a;
          a.status = r.status;
          a.text = r.body;
          if (auto v = detail::parse_json(r.body)) a.body = std::move(*v);
          promise.set_value(std::move(a));
        });
  });
  return get_within(std::move(future));
}

platform_api::platform_api(const std::string& base_url, app_credentials app,
                           const std::string& ca_file)
    : app_(std::move(app)), http_(base_url, ca_file) {}

http_answer platform_api::call(const std::string& method, const std::string& path,
                               std::optional<json::object> body) {
  return http_.call(method, "/v1/apps/" + app_.app_id + path, std::move(body),
                    {{"Api-Token", app_.api_token}});
}

std::optional<std::string> platform_api::create_user(const std::string& user_id,
                                                     bool with_access_token) {
  auto a = call("POST", "/users",
                json::object{{"user_id", user_id}, {"issue_access_token", with_access_token}});
  if (a.status != 201) throw std::runtime_error("create user failed: " + a.text);
  if (!with_access_token) return std::nullopt;
  return std::string(a.body.as_object().at("access_token").as_string());
}

std::pair<std::string, std::int64_t> platform_api::issue_session_token(const std::string& user_id,
                                                                       std::int64_t expires_at) {
  json::object body;
  if (expires_at != 0) body["expires_at"] = expires_at;
  auto a = call("POST", "/users/" + user_id + "/session_tokens", std::move(body));
  if (a.status != 201) throw std::runtime_error("issue session token failed: " + a.text);
  const auto& o = a.body.as_object();
  return {std::string(o.at("token").as_string()), o.at("expires_at").to_number<std::int64_t>()};
}

namespace {

std::string base64url(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  for (auto& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string base64url(const std::string& s) {
  return base64url(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

}  // namespace

std::string sign_jwt(const std::string& secret, const std::string& user_id,
                     const std::string& app_id, std::int64_t exp_s) {
  auto header = base64url(R"({"alg":"HS256","typ":"JWT"})");
  auto claims =
      base64url(json::serialize(json::object{{"sub", user_id}, {"iss", app_id}, {"exp", exp_s}}));
  auto signing_input = header + "." + claims;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
       mac.data(), &mac_size);
  return signing_input + "." + base64url(mac.data(), mac_size);
}

void write_self_signed_cert(const std::filesystem::path& cert_file,
                            const std::filesystem::path& key_file) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  if (!key || !cert) throw std::runtime_error("cannot make a key or certificate");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  FILE* cf = std::fopen(cert_file.c_str(), "w");
  FILE* kf = std::fopen(key_file.c_str(), "w");
  bool ok = cf && kf && PEM_write_X509(cf, cert) == 1 &&
            PEM_write_PrivateKey(kf, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (cf) std::fclose(cf);
  if (kf) std::fclose(kf);
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) throw std::runtime_error("cannot write the certificate");
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void recorder::push(event e) {
  {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
}

void recorder::on_connected() {
  push({"connected", std::nullopt});
}

void recorder::on_reconnecting(int, std::chrono::milliseconds) {
  push({"reconnecting", std::nullopt});
}

void recorder::on_disconnected(const disconnect_info& info) {
  push({"disconnected", info});
}

int recorder::wait_for(const std::string& kind, std::optional<disconnect_reason> reason,
                       std::chrono::milliseconds timeout, std::size_t from) {
  std::unique_lock lock(mu_);
  int found = -1;
  cv_.wait_for(lock, timeout, [&] {
    for (std::size_t i = from; i < events_.size(); ++i) {
      if (events_[i].kind != kind) continue;
      if (reason && (!events_[i].info || events_[i].info->reason != *reason)) continue;
      found = static_cast<int>(i);
      return true;
    }
    return false;
  });
  return found;
}

std::vector<recorder::event> recorder::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

void call_recorder::push(event e) {
  {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
}

void call_recorder::on_ringing(const std::shared_ptr<call>& c) {
  push({"ringing", c->id(), "", c});
}
void call_recorder::on_accepted(const std::shared_ptr<call>& c) {
  push({"accepted", c->id(), "", c});
}
void call_recorder::on_connected(const std::shared_ptr<call>& c) {
  push({"connected", c->id(), "", c});
}
void call_recorder::on_ended(const std::shared_ptr<call>& c, call_end_result result) {
  push({"ended", c->id(), std::string(to_string(result)), c});
}
void call_recorder::on_remote_media_state(const std::shared_ptr<call>& c, bool audio, bool video) {
  push({"media_state", c->id(),
        "audio=" + std::to_string(int(audio)) + " video=" + std::to_string(int(video)), c});
}
void call_recorder::on_reconnecting(const std::shared_ptr<call>& c) {
  push({"reconnecting", c->id(), "", c});
}
void call_recorder::on_reconnected(const std::shared_ptr<call>& c) {
  push({"reconnected", c->id(), "", c});
}
void call_recorder::on_signal(const std::shared_ptr<call>& c, const std::string& data) {
  push({"signal", c->id(), data, c});
}

std::optional<call_recorder::event> call_recorder::wait_for(const std::string& kind,
                                                            std::chrono::milliseconds timeout,
                                                            std::size_t from) {
  std::unique_lock lock(mu_);
  std::optional<event> found;
  cv_.wait_for(lock, timeout, [&] {
    for (std::size_t i = from; i < events_.size(); ++i) {
      if (events_[i].kind != kind) continue;
      found = events_[i];
      return true;
    }
    return false;
  });
  return found;
}

std::size_t call_recorder::count(const std::string& kind) const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& e : events_) n += e.kind == kind;
  return n;
}

std::vector<call_recorder::event> call_recorder::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

client_options options_for(const std::string& url, const std::filesystem::path& data_dir) {
  client_options o;
  o.api_url = url;
  o.data_dir = data_dir;
  o.request_timeout = 10s;
  o.connect_timeout = 10s;
  o.reconnect.initial_delay = 50ms;
  o.reconnect.max_delay = 500ms;
  if (std::getenv("PARLEY_TEST_LOG")) {
    o.logger = [](log_level level, std::string_view text) {
      static const char* names[] = {"debug", "info", "warning", "error"};
      std::cerr << "[sdk " << names[static_cast<int>(level)] << "] " << text << "\n";
    };
  }
  return o;
}

}  // namespace parley::test
