#include "services/rate_limiter.hpp"

namespace parley::services {

rate_limiter::rate_limiter(int limit, millis window_ms, std::size_t max_keys)
    : limit_(limit), window_ms_(window_ms), max_keys_(max_keys) {}

int rate_limiter::retry_after_s(const std::string& key, millis now) {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(key);
  if (it == windows_.end()) return 0;
  millis end = it->second.start + window_ms_;
  if (now >= end) {
    windows_.erase(it);
    return 0;
  }
  if (it->second.failures < limit_) return 0;
  return static_cast<int>((end - now + 999) / 1000);
}

void rate_limiter::record_failure(const std::string& key, millis now) {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(key);
  if (it != windows_.end() && now >= it->second.start + window_ms_) {
    windows_.erase(it);
    it = windows_.end();
  }
  if (it == windows_.end()) {
    if (windows_.size() >= max_keys_) {
      // Under a flood of distinct keys, drop ended windows first; if none ended, forget the
      // table rather than grow without bound (the per-address limit still holds the flood).
      for (auto i = windows_.begin(); i != windows_.end();)
        i = now >= i->second.start + window_ms_ ? windows_.erase(i) : std::next(i);
      if (windows_.size() >= max_keys_) windows_.clear();
    }
    it = windows_.emplace(key, window{now, 0}).first;
  }
  ++it->second.failures;
}

void rate_limiter::prune(millis now) {
  std::lock_guard lock(mutex_);
  for (auto i = windows_.begin(); i != windows_.end();)
    i = now >= i->second.start + window_ms_ ? windows_.erase(i) : std::next(i);
}

}  // namespace parley::services
