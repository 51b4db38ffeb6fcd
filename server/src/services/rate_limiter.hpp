#pragma once
// Counts failed authentication attempts per key in a fixed 60 s window that starts at the first
// failure. A key at its limit is refused until its window ends. Thread-safe; memory is bounded
// by pruning ended windows and by a hard cap on tracked keys.

#include "common/clock.hpp"

#include <mutex>
#include <string>
#include <unordered_map>

namespace parley::services {

class rate_limiter {
 public:
  rate_limiter(int limit, millis window_ms, std::size_t max_keys = 200000);

  // 0 when `key` may try now; else the seconds until it may (>= 1).
  int retry_after_s(const std::string& key, millis now);
  void record_failure(const std::string& key, millis now);
  void prune(millis now);

 private:
  struct window {
    millis start = 0;
    int failures = 0;
  };
  int limit_;
  millis window_ms_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, window> windows_;
};

}  // namespace parley::services
