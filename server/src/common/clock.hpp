#pragma once
// Wall-clock time in protocol units. Pure code (state machines, validation) takes `now` as an
// argument instead of calling this, so tests control time.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace parley {

using millis = std::int64_t;  // milliseconds since the Unix epoch
inline constexpr millis day_ms = 24LL * 3600 * 1000;

// A fixed shift of the server's clock (`serve --clock-offset-ms`), for tests that need a given
// wall time, such as a call across midnight UTC. Zero in production.
inline std::atomic<millis> clock_offset_ms{0};

inline millis now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         clock_offset_ms.load(std::memory_order_relaxed);
}

}  // namespace parley
