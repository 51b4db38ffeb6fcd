#pragma once
// Shared by the push tests: keys made on the spot with OpenSSL, JWT checks done independently
// of the code under test, requests and answers as the HTTP client carries them, and a small
// loopback HTTP/1.1 server with canned answers.

#include "common/crypto.hpp"
#include "outbound/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace parley::push_test {

// ---- Keys -----------------------------------------------------------------------------------

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

inline pkey_ptr make_ec_key(const char* curve = "P-256") {
  pkey_ptr k(EVP_EC_gen(curve));
  if (!k) throw std::runtime_error("EVP_EC_gen failed");
  return k;
}

// RSA key generation takes tens of milliseconds: one key serves every test.
inline EVP_PKEY* shared_rsa_key() {
  static pkey_ptr key = [] {
    pkey_ptr k(EVP_RSA_gen(2048));
    if (!k) throw std::runtime_error("EVP_RSA_gen failed");
    return k;
  }();
  return key.get();
}

inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// PKCS#8 "BEGIN PRIVATE KEY" (the .p8 and service-account form).
inline std::string pkcs8_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

// "BEGIN EC PRIVATE KEY" / "BEGIN RSA PRIVATE KEY" (SEC1 / PKCS#1).
inline std::string traditional_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

inline std::string public_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), key);
  return bio_text(bio.get());
}

inline std::string spki_der(EVP_PKEY* key) {
  int len = i2d_PUBKEY(key, nullptr);
  std::string der(static_cast<std::size_t>(len), '\0');
  auto p = reinterpret_cast<unsigned char*>(der.data());
  i2d_PUBKEY(key, &p);
  return der;
}

// The public half only, so a verification cannot lean on the private key.
inline pkey_ptr public_only(EVP_PKEY* key) {
  auto der = spki_der(key);
  auto p = reinterpret_cast<const unsigned char*>(der.data());
  return pkey_ptr(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
}

// ---- JWTs -----------------------------------------------------------------------------------

struct jwt_parts {
  std::string signing_input;  // header.claims as sent
  boost::json::object header;
  boost::json::object claims;
  std::string signature;  // raw bytes
};

inline jwt_parts split_jwt(std::string_view jwt) {
  auto d1 = jwt.find('.');
  auto d2 = jwt.find('.', d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos ||
      jwt.find('.', d2 + 1) != std::string_view::npos)
    throw std::runtime_error("not three parts");
  auto part = [](std::string_view s) {
    auto raw = crypto::base64url_decode(s);
    if (!raw) throw std::runtime_error("bad base64url");
    return boost::json::parse(*raw).as_object();
  };
  auto sig = crypto::base64url_decode(jwt.substr(d2 + 1));
  if (!sig) throw std::runtime_error("bad signature encoding");
  return {std::string(jwt.substr(0, d2)), part(jwt.substr(0, d1)),
          part(jwt.substr(d1 + 1, d2 - d1 - 1)), *sig};
}

inline bool verify_sha256(EVP_PKEY* public_key, std::string_view data, std::string_view sig) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, public_key) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

// JOSE r||s back to DER, then an ordinary ECDSA verification.
inline bool verify_es256(std::string_view jwt, EVP_PKEY* key) {
  auto parts = split_jwt(jwt);
  if (parts.signature.size() != 64) return false;
  auto raw = reinterpret_cast<const unsigned char*>(parts.signature.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  std::string der_sig(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  auto pub = public_only(key);
  return verify_sha256(pub.get(), parts.signing_input, der_sig);
}

inline bool verify_rs256(std::string_view jwt, EVP_PKEY* key) {
  auto parts = split_jwt(jwt);
  auto pub = public_only(key);
  return verify_sha256(pub.get(), parts.signing_input, parts.signature);
}

// ---- Requests and answers (outbound/http_client.hpp) ----------------------------------------

// The value of a header of a request the code under test built, or "<missing>".
inline std::string header_of(const outbound::request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<missing>";
}

// An answer as the HTTP client hands it back (header names lower case). Status 0 is a transport
// failure, which the client reports as "could not connect".
inline outbound::response answer(int status, std::string body = {},
                                 outbound::header_list headers = {}) {
  outbound::response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  if (status == 0) r.error = "could not connect";
  return r;
}

// ---- Loopback HTTP/1.1 server ---------------------------------------------------------------

struct received {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

struct canned {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool hang = false;  // never answer: hold the connection until the client closes it or the
                      // server stops
};

// Answers each request with handler(request), on a thread per connection, keep-alive included.
// Binds 127.0.0.1 port 0. Stopping (the destructor) wakes every blocked thread and joins it.
// A held (hang) connection that the client closes is counted: wait_for_client_closes.
class loopback_server {
 public:
  using handler = std::function<canned(const received&)>;

  explicit loopback_server(handler h) : handler_(std::move(h)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (listen_fd_ < 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 128) != 0)
      throw std::runtime_error("loopback server: cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~loopback_server() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);  // wakes held connections
    }
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    for (auto& t : workers_) t.join();
    for (int fd : connections_) ::close(fd);
    ::close(listen_fd_);
  }

  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return static_cast<int>(port_); }
  std::vector<received> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t request_count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }
  // Connections accepted so far, whether or not a request came on them.
  std::size_t connection_count() const {
    std::lock_guard lock(mutex_);
    return connections_.size();
  }
  // Waits until the client has closed `n` connections held by a hang answer; false when that
  // did not happen within `timeout`.
  bool wait_for_client_closes(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return closed_cv_.wait_for(lock, timeout, [&] { return client_closes_ >= n; });
  }

 private:
  void accept_loop() {
    for (;;) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      std::lock_guard lock(mutex_);
      if (fd < 0 || stopping_) {
        if (fd >= 0) ::close(fd);
        return;
      }
      connections_.push_back(fd);
      workers_.emplace_back([this, fd] {
        serve(fd);
        ::shutdown(fd, SHUT_RDWR);  // the peer sees the close; the fd is closed at the end
      });
    }
  }

  // Reads requests off one connection until it closes; "PRI * HTTP/2.0" (an HTTP/2 preface)
  // closes it, as an HTTP/1.1-only server would.
  void serve(int fd) {
    std::string buf;
    for (;;) {
      auto end = buf.find("\r\n\r\n");
      while (end == std::string::npos) {
        if (!read_more(fd, buf)) return;
        end = buf.find("\r\n\r\n");
      }
      if (buf.rfind("PRI * HTTP/2.0", 0) == 0) return;
      received req;
      std::string_view head(buf.data(), end);
      auto line_end = head.find("\r\n");
      std::string_view request_line = head.substr(0, line_end);
      auto sp1 = request_line.find(' ');
      auto sp2 = request_line.find(' ', sp1 + 1);
      req.method = std::string(request_line.substr(0, sp1));
      req.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
      std::size_t content_length = 0;
      std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        auto next = head.find("\r\n", pos);
        if (next == std::string_view::npos) next = head.size();
        auto line = head.substr(pos, next - pos);
        auto colon = line.find(':');
        if (colon != std::string_view::npos) {
          std::string name(line.substr(0, colon));
          for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          auto value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          if (name == "content-length") content_length = std::stoul(std::string(value));
          req.headers.emplace_back(std::move(name), std::string(value));
        }
        pos = next + 2;
      }
      buf.erase(0, end + 4);
      while (buf.size() < content_length)
        if (!read_more(fd, buf)) return;
      req.body = buf.substr(0, content_length);
      buf.erase(0, content_length);

      {
        std::lock_guard lock(mutex_);
        requests_.push_back(req);
      }
      canned answer = handler_(req);
      if (answer.hang) {
        hold(fd);
        return;
      }
      std::string out = "HTTP/1.1 " + std::to_string(answer.status) + " Canned\r\n";
      out += "Content-Length: " + std::to_string(answer.body.size()) + "\r\n";
      for (const auto& [k, v] : answer.headers) out += k + ": " + v + "\r\n";
      out += "\r\n" + answer.body;
      std::size_t sent = 0;
      while (sent < out.size()) {
        auto n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
      }
    }
  }

  // Blocks until the connection ends: the client closed it (counted) or the destructor shut it
  // down. Whatever else the client sends meanwhile is read and dropped.
  void hold(int fd) {
    char chunk[4096];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (::recv(fd, chunk, sizeof chunk, 0) > 0) continue;
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        ++client_closes_;
        closed_cv_.notify_all();
      }
      return;
    }
  }

  static bool read_more(int fd, std::string& buf) {
    char chunk[16 * 1024];
    auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::condition_variable closed_cv_;
  bool stopping_ = false;
  std::size_t client_closes_ = 0;
  std::vector<int> connections_;
  std::vector<std::thread> workers_;
  std::vector<received> requests_;
};

// A loopback port with nothing listening: connections to it are refused at once.
inline std::string closed_port_url() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

}  // namespace parley::push_test
