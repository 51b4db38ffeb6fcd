#pragma once
// The connection caps that keep descriptors in reserve (issue 11, defect 5).
//
// Every accepted TCP connection takes a slot before a session starts:
//   - an address already holding `max_per_address` slots is refused (the socket is closed at
//     once, nothing is read or written);
//   - below `max_connections` the connection gets an ordinary slot;
//   - at `max_connections`, the connection that has waited longest on its peer (an HTTP
//     connection with no request in progress, TLS handshake included, or a WebSocket that has
//     not sent its first message: "idle, before hello") is reaped (closed) and its slot given to
//     the new one;
//   - with none to reap, one of `ops_reserve` extra slots makes the connection "ops only": it
//     may ask for /healthz or /metrics (one request, a short deadline), anything else is answered
//     503 `unavailable`; with those gone too, the connection is refused.
// So the process holds at most max_connections + ops_reserve connection descriptors, and
// /healthz answers even when the cap is reached.
//
// Threading: every member may be called from any thread (one mutex, held for a few map
// operations; reap() callbacks run after it is released). Slots keep the limiter alive.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace parley::transport {

// A connection the limiter may close to make room.
class reapable {
 public:
  virtual ~reapable() = default;
  // Close now (any thread: the connection posts the work to its own strand). The slot is
  // already released when this is called.
  virtual void reap() = 0;
};

struct connection_limits {
  std::size_t max_connections = 1024;
  std::size_t max_per_address = 1024;
  std::size_t ops_reserve = 16;
};

class connection_limiter;

// One admitted connection's place in the counts, owned by its session (HTTP, then WebSocket);
// its destruction gives the place back.
class connection_slot {
 public:
  connection_slot(std::shared_ptr<connection_limiter> owner, std::string address, bool ops_only)
      : limiter_(std::move(owner)), address_(std::move(address)), ops_only_(ops_only) {}
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot();

  // The session that reap() closes. Set once, right after the session is made.
  void set_target(std::weak_ptr<reapable> target);
  // Waiting for the peer (reapable, oldest first) / working on its behalf (not reapable).
  void idle();
  void busy();
  bool ops_only() const { return ops_only_; }
  const std::string& address() const { return address_; }

 private:
  friend class connection_limiter;
  std::shared_ptr<connection_limiter> limiter_;
  const std::string address_;
  const bool ops_only_;
  // Guarded by the limiter's mutex.
  bool released_ = false;
  std::uint64_t idle_since_ = 0;  // 0: busy
  std::weak_ptr<reapable> target_;
};

class connection_limiter : public std::enable_shared_from_this<connection_limiter> {
 public:
  enum class refusal { none, per_address, limit };
  struct admission {
    std::shared_ptr<connection_slot> slot;  // null when refused
    refusal refused = refusal::none;
    bool reaped = false;  // an idle connection was closed to make room
  };

  // `open_gauge`, when given, follows open() (the metrics' parley_connections); it must outlive
  // the limiter and its slots.
  static std::shared_ptr<connection_limiter> create(
      connection_limits limits, std::atomic<std::int64_t>* open_gauge = nullptr);

  const connection_limits& limits() const { return limits_; }

  // Admits or refuses a connection from `address` (see the top of this file). An admitted
  // connection starts idle; its session must set_target() before the next admit() or
  // reap_oldest() (the acceptor calls them one at a time, and starts the session in between).
  admission admit(const std::string& address);

  // Reaps the connection idle for the longest time, if any: frees a descriptor when accept()
  // ran out of them. Returns whether one was reaped.
  bool reap_oldest();

  // Connections holding a slot (ordinary and ops only).
  std::size_t open() const;

  connection_limiter(connection_limits limits, std::atomic<std::int64_t>* open_gauge)
      : limits_(limits), gauge_(open_gauge) {}

 private:
  friend class connection_slot;
  // With the mutex held: releases `s`'s counts; returns its reap target.
  std::weak_ptr<reapable> release_locked(connection_slot& s);
  std::weak_ptr<reapable> reap_oldest_locked();

  void publish_locked() {
    if (gauge_) gauge_->store(static_cast<std::int64_t>(ordinary_ + ops_));
  }

  const connection_limits limits_;
  std::atomic<std::int64_t>* const gauge_;
  mutable std::mutex mutex_;
  std::size_t ordinary_ = 0;
  std::size_t ops_ = 0;
  std::unordered_map<std::string, std::size_t> per_address_;
  std::map<std::uint64_t, connection_slot*> idle_;  // by idle_since_: the oldest first
  std::uint64_t next_idle_ = 1;
};

}  // namespace parley::transport
