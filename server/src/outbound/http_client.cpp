#include "outbound/http_client.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace parley::outbound {

namespace {

// Responses are read for a status, a few headers and a short JSON error; anything longer is
// dropped rather than buffered, so a hostile or broken peer cannot grow our memory.
constexpr std::size_t max_body_bytes = 64 * 1024;

// Where the system trust store lives when libcurl does not say (Debian's ca-certificates).
constexpr const char* fallback_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";

// What the app is told about any transfer that got no HTTP answer (see response::error).
constexpr const char* generic_failure = "could not connect";

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The system bundle followed by the extra CA file: libcurl takes one CA blob, so both go in it.
// Empty when there is no extra file (libcurl then uses its built-in system default).
std::string trust_bundle(const std::string& ca_file) {
  if (ca_file.empty()) return {};
  std::string extra = read_file(ca_file);
  if (extra.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    throw std::runtime_error("the outbound CA file " + ca_file + " holds no PEM certificate");
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  std::string system =
      read_file(info != nullptr && info->cainfo != nullptr ? info->cainfo : fallback_ca_bundle);
  if (!system.empty() && system.back() != '\n') system.push_back('\n');
  return system + extra;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

}  // namespace

std::optional<std::string> response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return std::nullopt;
}

// One transfer: the easy handle and everything it points into, which must live as long as it.
struct transfer {
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  std::string body;  // the request body; libcurl reads it in place (CURLOPT_POSTFIELDS)
  bool require_http2 = false;
  const address_policy* policy = nullptr;  // the client's; outlives the transfer
  std::optional<address_kind> refused;     // an address the policy refused, for the log
  response resp;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};

  transfer() = default;
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;
  ~transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(header_list);
  }
};

namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::size_t n = size * count;
  std::size_t room = max_body_bytes - std::min(max_body_bytes, t->resp.body.size());
  t->resp.body.append(data, std::min(n, room));
  return n;  // the rest is read and dropped, so the transfer still ends cleanly
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::size_t n = size * count;
  std::string_view line(data, n);
  // A new status line starts a new header block (after a 100 Continue, for instance): only the
  // final response's headers count.
  if (starts_with_nocase(line, "http/")) {
    t->resp.headers.clear();
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;  // blank line, folded junk
  if (t->resp.headers.size() < 200)
    t->resp.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                 std::string(trim(line.substr(colon + 1))));
  return n;
}

// libcurl asks for each socket it would connect, after resolving the name: the one place where
// the real address is known, for every transfer, redirect or reused name alike. A refused
// address fails that connection attempt (libcurl tries the name's other addresses, then fails
// the transfer with CURLE_COULDNT_CONNECT).
curl_socket_t open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  auto kind = address_kind::reserved;
  if ((address->family == AF_INET && address->addrlen >= sizeof(sockaddr_in)) ||
      (address->family == AF_INET6 && address->addrlen >= sizeof(sockaddr_in6)))
    kind = classify(&address->addr);
  if (!allowed(kind, *t->policy)) {
    t->refused = kind;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

bool is_cleartext(std::string_view url) {
  return starts_with_nocase(url, "http://");
}

// Makes the easy handle for `r` (whose body is `body`, moved in), ready for curl_easy_perform or
// curl_multi_add_handle.
std::unique_ptr<transfer> make_transfer(const request& r, std::string body,
                                        const client_options& options, const std::string& ca_blob) {
  auto t = std::make_unique<transfer>();
  t->easy = curl_easy_init();
  if (t->easy == nullptr) throw std::runtime_error("curl_easy_init failed");
  t->require_http2 = r.require_http2;
  t->policy = &options.policy;
  t->resp.tag = r.tag;
  t->body = std::move(body);
  CURL* e = t->easy;

  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  // Only web URLs: a webhook URL comes from an app, and must not reach file:// or the like.
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  // Every address is checked as its socket opens (open_socket), so nothing may reach a host by
  // another way: no redirects (libcurl's default, made explicit), and no proxy taken from the
  // environment (http_proxy and the like), whose address would be the one checked.
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t.get());
  // No signals: libcurl would otherwise use alarm() to time out name resolution, which is not
  // safe in a threaded server (SIGPIPE is ignored process-wide by `serve`).
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  // Whole-transfer deadline, connect and TLS included (0 would mean none: at least 1 ms).
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, std::max<long>(1, static_cast<long>(r.timeout.count())));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer.data());
  curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  if (!ca_blob.empty()) {
    // Not copied: the client owns the bundle and outlives every transfer it makes.
    curl_blob blob{const_cast<char*>(ca_blob.data()), ca_blob.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
  }

  // HTTP/2 when TLS negotiates it, with every stream to one host on one connection (PIPEWAIT
  // waits for a connection in progress instead of opening another). APNs wants HTTP/2 only;
  // over cleartext (a test stand-in) that means prior knowledge, since there is no ALPN.
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  if (r.require_http2 && is_cleartext(r.url))
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     static_cast<long>(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
  else
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));

  if (r.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    if (r.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    if (r.method == "POST" || !t->body.empty()) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
    }
  }

  bool has_expect = false;
  for (const auto& [name, value] : r.headers) {
    if (lower(name) == "expect") has_expect = true;
    // "Name;" is libcurl's way to send a header with an empty value ("Name:" would remove it).
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    t->header_list = curl_slist_append(t->header_list, line.c_str());
  }
  // No "Expect: 100-continue" round trip before the body: the bodies are small.
  if (!has_expect) t->header_list = curl_slist_append(t->header_list, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);
  return t;
}

// Fills t->resp from the finished transfer's result.
void finish(transfer& t, CURLcode code) {
  response& resp = t.resp;
  if (code == CURLE_OK) {
    long status = 0;
    long version = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t.easy, CURLINFO_HTTP_VERSION, &version);
    if (t.require_http2 && version != CURL_HTTP_VERSION_2_0) {
      resp.error = "the server did not answer over HTTP/2";
      resp.detail = resp.error;
    } else {
      resp.status = static_cast<int>(status);
      return;
    }
  } else {
    // The app hears the generic reason; the operator's log gets what happened.
    resp.error = generic_failure;
    resp.detail = t.error_buffer[0] != '\0' ? std::string(t.error_buffer.data())
                                            : std::string(curl_easy_strerror(code));
    if (t.refused)
      resp.detail =
          std::string("address not allowed (") + to_string(*t.refused) + "): " + resp.detail;
  }
  // No HTTP answer: whatever partial response arrived is not one.
  resp.status = 0;
  resp.headers.clear();
  resp.body.clear();
}

}  // namespace

struct http_client::impl {
  client_options options;
  std::string ca_blob;  // system bundle + options.ca_file, or empty
  CURLM* multi = nullptr;
  std::deque<std::unique_ptr<transfer>> queued;                  // started, not yet in `multi`
  std::unordered_map<CURL*, std::unique_ptr<transfer>> running;  // in `multi`
  std::atomic<bool> woken{false};

  // Moves queued transfers into the multi handle while there is room (max_in_flight bounds the
  // sockets and memory one client holds; the rest wait their turn in order).
  void admit(std::vector<response>& out) {
    while (!queued.empty() && running.size() < options.max_in_flight) {
      auto t = std::move(queued.front());
      queued.pop_front();
      CURL* e = t->easy;
      if (curl_multi_add_handle(multi, e) != CURLM_OK) {
        // Cannot happen with a valid handle; answer it as a transport failure rather than lose it.
        t->resp.error = generic_failure;
        t->resp.detail = "could not start the transfer";
        out.push_back(std::move(t->resp));
        continue;
      }
      running.emplace(e, std::move(t));
    }
  }

  // Collects the transfers libcurl reports done.
  void collect(std::vector<response>& out) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* e = msg->easy_handle;
      CURLcode code = msg->data.result;
      auto it = running.find(e);
      if (it == running.end()) continue;
      curl_multi_remove_handle(multi, e);
      finish(*it->second, code);
      out.push_back(std::move(it->second->resp));
      running.erase(it);
    }
  }
};

http_client::http_client(client_options options) : impl_(std::make_unique<impl>()) {
  global_init();
  impl_->options = std::move(options);
  if (impl_->options.max_in_flight == 0) impl_->options.max_in_flight = 1;
  impl_->ca_blob = trust_bundle(impl_->options.ca_file);
  impl_->multi = curl_multi_init();
  if (impl_->multi == nullptr) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(impl_->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
}

http_client::~http_client() {
  for (auto& [easy, t] : impl_->running) curl_multi_remove_handle(impl_->multi, easy);
  impl_->running.clear();
  impl_->queued.clear();
  curl_multi_cleanup(impl_->multi);
}

void http_client::start(request r) {
  auto body = std::move(r.body);
  impl_->queued.push_back(make_transfer(r, std::move(body), impl_->options, impl_->ca_blob));
}

std::vector<response> http_client::poll(std::chrono::milliseconds wait) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::max(wait, std::chrono::milliseconds(0));
  std::vector<response> done;
  for (;;) {
    impl_->admit(done);
    int running = 0;
    curl_multi_perform(impl_->multi, &running);
    impl_->collect(done);
    // Return as soon as something finished (the caller records outcomes and may start more)
    // or when woken (the caller has new work); otherwise wait for socket activity.
    if (!done.empty() || impl_->woken.exchange(false)) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) break;
    int timeout_ms = static_cast<int>(std::min<std::int64_t>(left.count(), 60'000));
    curl_multi_poll(impl_->multi, nullptr, 0, timeout_ms, nullptr);
  }
  return done;
}

response http_client::perform(const request& r) {
  auto t = make_transfer(r, r.body, impl_->options, impl_->ca_blob);
  CURLcode code = curl_easy_perform(t->easy);
  finish(*t, code);
  return std::move(t->resp);
}

void http_client::wake() {
  impl_->woken.store(true);
  curl_multi_wakeup(impl_->multi);
}

std::size_t http_client::in_flight() const {
  return impl_->queued.size() + impl_->running.size();
}

}  // namespace parley::outbound
