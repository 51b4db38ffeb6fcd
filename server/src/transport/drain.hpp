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

class drain_registry {
 public:
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
  std::mutex mutex_;
  std::vector<std::weak_ptr<drainable>> sessions_;
  std::size_t adds_since_compact_ = 0;
};

}  // namespace parley::transport
