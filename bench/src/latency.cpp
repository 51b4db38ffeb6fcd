#include "latency.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace parley::bench {

void latency_recorder::add(std::chrono::steady_clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  // Clamp instead of wrapping: a sample over 71 minutes cannot happen in a bounded phase.
  constexpr auto top = std::numeric_limits<std::uint32_t>::max();
  samples_us_.push_back(us < 0 ? 0 : us > top ? top : static_cast<std::uint32_t>(us));
}

void latency_recorder::merge(const latency_recorder& other) {
  samples_us_.insert(samples_us_.end(), other.samples_us_.begin(), other.samples_us_.end());
}

latency_summary latency_recorder::summarize() {
  latency_summary s;
  s.count = samples_us_.size();
  if (s.count == 0) return s;
  std::sort(samples_us_.begin(), samples_us_.end());
  auto rank = [&](double p) {
    auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(s.count)));
    return samples_us_[std::clamp<std::size_t>(i, 1, s.count) - 1] / 1000.0;
  };
  s.p50_ms = rank(0.50);
  s.p99_ms = rank(0.99);
  s.p999_ms = rank(0.999);
  s.max_ms = samples_us_.back() / 1000.0;
  return s;
}

}  // namespace parley::bench
