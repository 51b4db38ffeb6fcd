#pragma once
// The set of live sessions that a drain must end. Sessions register; the drain asks each to
// finish (idle HTTP sessions close, WebSockets close with 1001) and waits until none is left or
// its deadline passes. The last session to go wakes the drain: nothing polls.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace parley::transport {

namespace detail {

// How many sessions are live, and the drain waiting for none to be. Shared by the registry and
// the sessions' tokens: a session may be destroyed after its registry (the io_context that holds
// its last handler is destroyed after the server's registry), and then it touches only this.
class live_sessions {
 public:
  // The drain's wake-up. A concurrent channel because the last session may go on any I/O
  // thread (or a store thread holding the last reference): try_send is safe from any thread
  // and completes the waiter on its own executor. One slot, so that a send never waits.
  using wake_channel =
      boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;

  void enter() {
    std::lock_guard lock(mutex_);
    ++count_;
  }
  void leave() {
    std::lock_guard lock(mutex_);
    if (--count_ == 0 && waiter_) waiter_->try_send(boost::system::error_code{});
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return count_;
  }

  // Registers `waiter` to be woken when the count is zero (at once if it is already); the
  // waiter's owner removes it (under the same lock, so no send reaches a destroyed channel).
  class waiting {
   public:
    waiting(live_sessions& s, wake_channel& waiter) : sessions_(s) {
      std::lock_guard lock(s.mutex_);
      s.waiter_ = &waiter;
      if (s.count_ == 0) waiter.try_send(boost::system::error_code{});
    }
    ~waiting() {
      std::lock_guard lock(sessions_.mutex_);
      sessions_.waiter_ = nullptr;
    }
    waiting(const waiting&) = delete;
    waiting& operator=(const waiting&) = delete;

   private:
    live_sessions& sessions_;
  };

 private:
  std::mutex mutex_;
  std::size_t count_ = 0;
  wake_channel* waiter_ = nullptr;  // the one drain waiting, if any
};

// Counts one session live for as long as the session exists.
class live_token {
 public:
  explicit live_token(std::shared_ptr<live_sessions> s) : sessions_(std::move(s)) {
    sessions_->enter();
  }
  ~live_token() { sessions_->leave(); }
  live_token(const live_token&) = delete;
  live_token& operator=(const live_token&) = delete;

 private:
  std::shared_ptr<live_sessions> sessions_;
};

}  // namespace detail

class drain_registry;

class drainable {
 public:
  virtual ~drainable() = default;
  // Called from any thread; the session posts the work to its own strand.
  virtual void drain() = 0;

 private:
  friend class drain_registry;
  // Set by drain_registry::add; destroyed with the session (after all of the session's own
  // members), which is when the drain stops waiting for it.
  std::optional<detail::live_token> live_;
};

// Runs answers that another thread completes (the store's group commit) on a session's
// executor, as long as the server is up: once the registry is gone (the server is being
// destroyed, after a drain that timed out), late answers are dropped instead of being posted to
// an io_context that no longer exists.
class answer_gate {
 public:
  template <class Post>
  void run(Post&& post) {
    std::lock_guard lock(mutex_);
    if (open_) post();
  }
  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }

 private:
  std::mutex mutex_;
  bool open_ = true;
};

class drain_registry {
 public:
  drain_registry() = default;
  drain_registry(const drain_registry&) = delete;
  drain_registry& operator=(const drain_registry&) = delete;
  ~drain_registry() { gate_->close(); }

  const std::shared_ptr<answer_gate>& gate() const { return gate_; }

  // Counts `s` live until it is destroyed. Once per session, before it can be destroyed.
  void add(const std::shared_ptr<drainable>& s) {
    s->live_.emplace(live_);
    std::lock_guard lock(mutex_);
    if (sessions_.size() > 64 && ++adds_since_compact_ > sessions_.size()) compact();
    sessions_.push_back(s);
  }
  // The sessions added and not yet destroyed. Any thread.
  std::size_t live() { return live_->count(); }
  void drain_all() {
    std::vector<std::shared_ptr<drainable>> live;
    {
      std::lock_guard lock(mutex_);
      for (auto& w : sessions_)
        if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->drain();
  }

  // Completes, on the calling coroutine's executor, when no session is live (at once if none
  // is) or when `timeout` has passed, whichever comes first; returns how many are left. One
  // waiter at a time. The two waits run as a parallel group: the first to finish cancels the
  // other, and the group completes once both have.
  boost::asio::awaitable<std::size_t> wait_drained(std::chrono::steady_clock::duration timeout) {
    namespace asio = boost::asio;
    auto ex = co_await asio::this_coro::executor;
    // The frame holds the count: it may be destroyed (with its io_context) after the registry.
    auto sessions = live_;
    detail::live_sessions::wake_channel empty(ex, 1);
    detail::live_sessions::waiting registered(*sessions, empty);
    asio::steady_timer deadline(ex, timeout);
    co_await asio::experimental::make_parallel_group(empty.async_receive(asio::deferred),
                                                     deadline.async_wait(asio::deferred))
        .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    co_return sessions->count();
  }

 private:
  void compact() {
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    adds_since_compact_ = 0;
  }
  std::shared_ptr<answer_gate> gate_ = std::make_shared<answer_gate>();
  std::shared_ptr<detail::live_sessions> live_ = std::make_shared<detail::live_sessions>();
  std::mutex mutex_;
  std::vector<std::weak_ptr<drainable>> sessions_;  // for drain_all
  std::size_t adds_since_compact_ = 0;
};

}  // namespace parley::transport
