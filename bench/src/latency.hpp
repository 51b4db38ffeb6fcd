#pragma once
// Latency samples in microseconds and their summary. One recorder per client coroutine, merged
// once the phase is over, so recording needs no lock.

#include <chrono>
#include <cstdint>
#include <vector>

namespace parley::bench {

struct latency_summary {
  std::size_t count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

class latency_recorder {
 public:
  void add(std::chrono::steady_clock::duration d);
  void merge(const latency_recorder& other);
  std::size_t count() const { return samples_us_.size(); }
  // Sorts the samples (nearest-rank percentiles).
  latency_summary summarize();

 private:
  std::vector<std::uint32_t> samples_us_;
};

}  // namespace parley::bench
