#pragma once
// The set of live sessions that a drain must end. Sessions register a weak pointer; the drain
// asks each to finish (idle HTTP sessions close, WebSockets close with 1001) and waits until
// none is left.

#include <memory>
#include <mutex>
#include <vector>

namespace parley::transport {

class drainable {
 public:
  virtual ~drainable() = default;
  // Called from any thread; the session posts the work to its own strand.
  virtual void drain() = 0;
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

  void add(const std::shared_ptr<drainable>& s) {
    std::lock_guard lock(mutex_);
    if (sessions_.size() > 64 && ++adds_since_compact_ > sessions_.size()) compact();
    sessions_.push_back(s);
  }
  std::size_t live() {
    std::lock_guard lock(mutex_);
    compact();
    return sessions_.size();
  }
  void drain_all() {
    std::vector<std::shared_ptr<drainable>> live;
    {
      std::lock_guard lock(mutex_);
      for (auto& w : sessions_)
        if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->drain();
  }

 private:
  void compact() {
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    adds_since_compact_ = 0;
  }
  std::shared_ptr<answer_gate> gate_ = std::make_shared<answer_gate>();
  std::mutex mutex_;
  std::vector<std::weak_ptr<drainable>> sessions_;
  std::size_t adds_since_compact_ = 0;
};

}  // namespace parley::transport
