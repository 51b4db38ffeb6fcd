#pragma once
// Wall-clock time in protocol units. Pure code (state machines, validation) takes `now` as an
// argument instead of calling this, so tests control time.

#include <chrono>
#include <cstdint>

namespace parley {

using millis = std::int64_t;  // milliseconds since the Unix epoch

inline millis now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace parley
