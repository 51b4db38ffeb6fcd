#include "services/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace parley::services {
namespace {

TEST(rate_limiter, allows_until_limit_then_refuses_for_the_rest_of_the_window) {
  rate_limiter rl(3, 60'000);
  millis t = 1'000'000;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rl.retry_after_s("k", t), 0);
    rl.record_failure("k", t);
  }
  EXPECT_EQ(rl.retry_after_s("k", t), 60);
  EXPECT_EQ(rl.retry_after_s("k", t + 59'500), 1);
  EXPECT_EQ(rl.retry_after_s("k", t + 60'000), 0);
}

TEST(rate_limiter, keys_are_independent) {
  rate_limiter rl(1, 60'000);
  rl.record_failure("a", 0);
  EXPECT_GT(rl.retry_after_s("a", 1), 0);
  EXPECT_EQ(rl.retry_after_s("b", 1), 0);
}

TEST(rate_limiter, memory_is_bounded_under_a_flood_of_keys) {
  rate_limiter rl(5, 60'000, 100);
  for (int i = 0; i < 1000; ++i) rl.record_failure("k" + std::to_string(i), 0);
  // The newest key is still counted.
  rl.record_failure("k999", 0);
  for (int i = 0; i < 3; ++i) rl.record_failure("k999", 0);
  EXPECT_GT(rl.retry_after_s("k999", 1), 0);
}

}  // namespace
}  // namespace parley::services
