#include "store/sqlite/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::store {
namespace {

// A runner that records each batch's size and lets every write decide its own outcome.
struct recording_runner {
  std::mutex mutex;
  std::vector<std::size_t> sizes;
  std::promise<void> first_started;
  std::shared_future<void> release_first;
  bool first = true;

  void operator()(std::vector<group_commit::job>& batch, std::vector<result<void>>& outcomes) {
    bool was_first = false;
    {
      std::lock_guard lock(mutex);
      sizes.push_back(batch.size());
      was_first = std::exchange(first, false);
    }
    if (was_first) {
      first_started.set_value();
      release_first.wait();
    }
    for (auto& j : batch) outcomes.push_back(j.write());
  }
};

TEST(group_commit, writes_that_arrive_during_a_commit_share_the_next_one) {
  recording_runner runner;
  std::promise<void> release;
  runner.release_first = release.get_future().share();
  std::atomic<int> done{0};
  {
    group_commit gc([&](auto& b, auto& o) { runner(b, o); }, 64);
    gc.submit({[] { return result<void>{}; },
               [&](result<void> r) {
                 EXPECT_TRUE(r);
                 ++done;
               }});
    runner.first_started.get_future().wait();  // the first batch is "committing"
    for (int i = 0; i < 10; ++i)
      gc.submit({[] { return result<void>{}; },
                 [&](result<void> r) {
                   EXPECT_TRUE(r);
                   ++done;
                 }});
    release.set_value();
  }  // the destructor runs what is queued
  EXPECT_EQ(done.load(), 11);
  ASSERT_EQ(runner.sizes.size(), 2u);
  EXPECT_EQ(runner.sizes[0], 1u);
  EXPECT_EQ(runner.sizes[1], 10u);
}

TEST(group_commit, each_write_gets_its_own_outcome_and_done_runs_after_the_batch) {
  std::atomic<bool> batch_finished{false};
  std::vector<bool> seen;
  std::mutex m;
  {
    group_commit gc(
        [&](std::vector<group_commit::job>& b, std::vector<result<void>>& o) {
          batch_finished = false;
          for (auto& j : b) o.push_back(j.write());
          batch_finished = true;
        },
        4);
    for (int i = 0; i < 9; ++i)
      gc.submit({[i]() -> result<void> {
                   if (i % 3 == 0) return fail(errc::invalid_credentials, "no");
                   return {};
                 },
                 [&, i](result<void> r) {
                   EXPECT_TRUE(batch_finished.load());  // never told before it is stored
                   EXPECT_EQ(static_cast<bool>(r), i % 3 != 0);
                   std::lock_guard lock(m);
                   seen.push_back(static_cast<bool>(r));
                 }});
  }
  EXPECT_EQ(seen.size(), 9u);
}

}  // namespace
}  // namespace parley::store

namespace parley::store {
namespace {

// Shutdown waits for the writer to be idle; a write submitted from a done (a compare-and-set
// retry) counts as unfinished work too, so the wait does not end between the two.
TEST(group_commit, wait_idle_waits_for_writes_submitted_by_a_done) {
  std::atomic<int> done_count{0};
  group_commit writer(
      [](std::vector<group_commit::job>& batch, std::vector<result<void>>& outcomes) {
        for (auto& j : batch) outcomes.push_back(j.write());
      },
      16);
  auto slow = [] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return result<void>{};
  };
  writer.submit({slow, [&](result<void>) {
                   writer.submit({slow, [&](result<void>) { ++done_count; }});
                   ++done_count;
                 }});
  writer.wait_idle();
  EXPECT_EQ(done_count.load(), 2);
}

}  // namespace
}  // namespace parley::store
