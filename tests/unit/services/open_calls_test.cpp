// The open-call registry: filled by commits in any order, never by a read that could be older.
#include "services/open_calls.hpp"

#include <gtest/gtest.h>

namespace parley::services {
namespace {

store::call_record call(const std::string& id, std::int64_t version,
                        store::call_state state = store::call_state::ringing,
                        const std::string& app = "app") {
  store::call_record c;
  c.call_id = id;
  c.app_id = app;
  c.version = version;
  c.state = state;
  return c;
}

TEST(open_calls, a_call_is_found_in_its_own_app_only) {
  open_calls open;
  open.put(call("c1", 1));
  ASSERT_TRUE(open.find("app", "c1"));
  EXPECT_FALSE(open.find("other", "c1"));
  EXPECT_FALSE(open.find("app", "c2"));
}

TEST(open_calls, commits_put_out_of_order_keep_the_latest_version) {
  open_calls open;
  open.put(call("c1", 1));
  open.put(call("c1", 3, store::call_state::accepted));
  open.put(call("c1", 2, store::call_state::ringing));  // a late callback of an older commit
  auto kept = open.find("app", "c1");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->version, 3);
  EXPECT_EQ(kept->state, store::call_state::accepted);
}

TEST(open_calls, an_ended_call_leaves_and_is_not_brought_back_by_a_read) {
  open_calls open;
  open.put(call("c1", 1));
  open.put(call("c1", 2, store::call_state::ended));
  EXPECT_FALSE(open.find("app", "c1"));
  // A row read before that commit, handed over after it: refresh never adds a call.
  open.refresh(call("c1", 1));
  EXPECT_FALSE(open.find("app", "c1"));
  EXPECT_EQ(open.size(), 0u);
}

TEST(open_calls, refresh_corrects_an_older_copy_only) {
  open_calls open;
  open.put(call("c1", 2));
  open.refresh(call("c1", 1, store::call_state::accepted));
  EXPECT_EQ(open.find("app", "c1")->version, 2);
  open.refresh(call("c1", 5, store::call_state::accepted));  // changed by another process
  EXPECT_EQ(open.find("app", "c1")->state, store::call_state::accepted);
  open.refresh(call("c1", 6, store::call_state::ended));
  EXPECT_FALSE(open.find("app", "c1"));
}

TEST(open_calls, erase_app_forgets_that_apps_calls_only) {
  open_calls open;
  for (int i = 0; i < 40; ++i) {
    open.put(call("a" + std::to_string(i), 1, store::call_state::ringing, "app"));
    open.put(call("b" + std::to_string(i), 1, store::call_state::ringing, "other"));
  }
  open.erase_app("app");
  EXPECT_EQ(open.size(), 40u);
  EXPECT_FALSE(open.find("app", "a7"));
  EXPECT_TRUE(open.find("other", "b7"));
}

TEST(open_calls, past_the_cap_a_new_call_is_not_kept_but_a_kept_one_still_changes) {
  open_calls open;
  for (std::size_t i = 0; i < open_calls::max_calls * 2; ++i)
    open.put(call("c" + std::to_string(i), 1));
  EXPECT_LE(open.size(), open_calls::max_calls);
  EXPECT_GT(open.size(), open_calls::max_calls / 2);
  // Whichever calls were kept still follow their commits.
  std::string kept;
  for (std::size_t i = 0; kept.empty(); ++i)
    if (open.find("app", "c" + std::to_string(i))) kept = "c" + std::to_string(i);
  open.put(call(kept, 2, store::call_state::accepted));
  EXPECT_EQ(open.find("app", kept)->version, 2);
}

}  // namespace
}  // namespace parley::services
