#include "store/ringing_registry.hpp"

#include <gtest/gtest.h>

namespace parley::store {
namespace {

call_record ringing(const std::string& id, const std::string& caller, const std::string& callee,
                    const std::string& app = "app") {
  call_record c;
  c.call_id = id;
  c.app_id = app;
  c.caller_id = caller;
  c.callee_id = callee;
  c.ringing_timeout_ms = 30'000;
  return c;
}

TEST(ringing_registry, a_caller_at_its_limit_is_rate_limited_until_one_stops_ringing) {
  ringing_registry r;
  ringing_limits lim{2, 0};
  for (auto id : {"c1", "c2"}) {
    EXPECT_FALSE(r.refuse(ringing(id, "alice", "bob"), lim));
    r.note(ringing(id, "alice", "bob"));
  }
  auto refused = r.refuse(ringing("c3", "alice", "carol"), lim);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, errc::rate_limited);
  EXPECT_EQ(refused->retry_after_s, 30);
  // Another caller, another app: not affected.
  EXPECT_FALSE(r.refuse(ringing("c4", "dave", "bob"), lim));
  EXPECT_FALSE(r.refuse(ringing("c5", "alice", "bob", "other"), lim));
  // Accepted: no longer ringing.
  auto accepted = ringing("c1", "alice", "bob");
  accepted.state = call_state::accepted;
  r.note(accepted);
  EXPECT_EQ(r.ringing_as_caller("app", "alice"), 1);
  EXPECT_FALSE(r.refuse(ringing("c3", "alice", "carol"), lim));
}

TEST(ringing_registry, a_callee_at_its_limit_is_invalid_call_state) {
  ringing_registry r;
  ringing_limits lim{0, 2};
  r.note(ringing("c1", "alice", "bob"));
  r.note(ringing("c2", "carol", "bob"));
  auto refused = r.refuse(ringing("c3", "dave", "bob"), lim);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, errc::invalid_call_state);
  r.forget("c2");
  EXPECT_FALSE(r.refuse(ringing("c3", "dave", "bob"), lim));
}

TEST(ringing_registry, counting_is_idempotent_and_zero_means_no_limit) {
  ringing_registry r;
  for (int i = 0; i < 3; ++i) r.note(ringing("c1", "alice", "bob"));
  EXPECT_EQ(r.ringing_as_caller("app", "alice"), 1);
  EXPECT_EQ(r.ringing_as_callee("app", "bob"), 1);
  r.forget("c1");
  r.forget("c1");
  EXPECT_EQ(r.ringing_as_caller("app", "alice"), 0);
  EXPECT_EQ(r.size(), 0u);
  for (int i = 0; i < 100; ++i) r.note(ringing("c" + std::to_string(i), "alice", "bob"));
  EXPECT_FALSE(r.refuse(ringing("x", "alice", "bob"), ringing_limits{}));
  // A call already counted is not refused again (a retried write of the same call).
  EXPECT_FALSE(r.refuse(ringing("c5", "alice", "bob"), ringing_limits{1, 1}));
}

}  // namespace
}  // namespace parley::store
