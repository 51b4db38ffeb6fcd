// The call service on a real SQLite store: the compare-and-set makes exactly one of many racing
// accepts win, on any number of threads, and effects go out only for committed changes.
#include "services/call_service.hpp"

#include "../store/store_waits.hpp"
#include "waiting_calls.hpp"

#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

namespace parley::services {
namespace {

struct recording_notifier : call_notifier {
  std::mutex m;
  std::vector<std::pair<std::string, calls::audience>> seen;
  void deliver(const store::call_record&, const calls::effect& e) override {
    std::lock_guard lock(m);
    seen.emplace_back(parley::to_string(e.type), e.to);
  }
  int count(const std::string& type) {
    std::lock_guard lock(m);
    int n = 0;
    for (auto& [t, a] : seen) n += t == type;
    return n;
  }
};

class call_service_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley-calls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    st_ = store::open_sqlite_store((dir_ / "p.db").string());
    store::app_record a;
    a.app_id = "app";
    a.name = "app";
    ASSERT_TRUE(st_->create_app(a));
    for (auto u : {"alice", "bob"}) {
      store::user_record r;
      r.app_id = "app";
      r.user_id = u;
      ASSERT_TRUE(st_->create_user(r));
    }
    start_service();
  }
  void start_service() {
    calls_.reset();
    service_ = std::make_unique<call_service>(*st_, notifier_);
    calls_ = std::make_unique<testing::waiting_calls>(*service_);
  }
  void TearDown() override {
    st_->wait_for_batched_writes();
    calls_.reset();
    service_.reset();
    st_.reset();
    std::filesystem::remove_all(dir_);
  }

  caller_context alice{"app", "alice", "conn-a", "dev-a"};
  std::filesystem::path dir_;
  std::unique_ptr<store::store> st_;
  recording_notifier notifier_;
  std::unique_ptr<call_service> service_;
  std::unique_ptr<testing::waiting_calls> calls_;  // service_'s requests, waited for
};

TEST_F(call_service_test, dial_errors_are_the_protocols) {
  EXPECT_EQ(calls_->dial(alice, {"alice", false, {}}, 1000).error().code, errc::dial_myself);
  EXPECT_EQ(calls_->dial(alice, {"nobody", false, {}}, 1000).error().code, errc::callee_not_found);
}

TEST_F(call_service_test, exactly_one_of_many_racing_accepts_wins) {
  constexpr int rounds = 20, devices = 8;
  for (int round = 0; round < rounds; ++round) {
    auto call = calls_->dial(alice, {"bob", true, {}}, 1000 + round);
    ASSERT_TRUE(call);
    std::atomic<int> wins{0}, lost{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int d = 0; d < devices; ++d) {
      threads.emplace_back([&, d] {
        while (!go) std::this_thread::yield();
        caller_context bob{"app", "bob", "conn-b" + std::to_string(d), "dev-b" + std::to_string(d)};
        auto r = calls_->accept(bob, call->call_id, 2000 + round);
        if (r)
          ++wins;
        else if (r.error().code == errc::invalid_call_state)
          ++lost;
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(lost.load(), devices - 1) << "round " << round;
  }
  EXPECT_EQ(notifier_.count("accepted"), rounds);
}

// The WebSocket's path: changes go through the store's group commit, so racing accepts of one
// call often share a transaction; still exactly one wins, the others are told
// invalid_call_state, and each answer comes after the commit with the effects before it.
TEST_F(call_service_test, exactly_one_of_many_racing_batched_accepts_wins) {
  constexpr int rounds = 20, devices = 8;
  for (int round = 0; round < rounds; ++round) {
    std::promise<result<store::call_record>> dialed;
    service_->dial(alice, {"bob", true, {}}, 1000 + round,
                   [&](result<store::call_record> r) { dialed.set_value(std::move(r)); });
    auto call = dialed.get_future().get();
    ASSERT_TRUE(call);
    // Committed when answered: a plain read finds it.
    ASSERT_TRUE(st_->find_call("app", call->call_id));
    std::mutex m;
    std::condition_variable all_answered;
    int wins = 0, lost = 0, answered = 0, accepted_seen_before_win = 0;
    for (int d = 0; d < devices; ++d) {
      caller_context bob{"app", "bob", "conn-b" + std::to_string(d), "dev-b" + std::to_string(d)};
      service_->accept(bob, call->call_id, 2000 + round, [&](result<store::call_record> r) {
        int accepted = notifier_.count("accepted");
        std::lock_guard lock(m);
        if (r) {
          ++wins;
          accepted_seen_before_win = accepted;
        } else if (r.error().code == errc::invalid_call_state) {
          ++lost;
        }
        ++answered;
        all_answered.notify_all();
      });
    }
    std::unique_lock lock(m);
    ASSERT_TRUE(
        all_answered.wait_for(lock, std::chrono::seconds(20), [&] { return answered == devices; }));
    EXPECT_EQ(wins, 1) << "round " << round;
    EXPECT_EQ(lost, devices - 1) << "round " << round;
    EXPECT_EQ(accepted_seen_before_win, round + 1) << "round " << round;
    auto stored = st_->find_call("app", call->call_id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->state, store::call_state::accepted);
  }
  EXPECT_EQ(notifier_.count("accepted"), rounds);
}

TEST_F(call_service_test, a_batched_request_that_fails_before_writing_is_answered_at_once) {
  std::optional<result<store::call_record>> answer;
  service_->dial(alice, {"alice", false, {}}, 1000,
                 [&](result<store::call_record> r) { answer.emplace(std::move(r)); });
  ASSERT_TRUE(answer);  // on this thread, before dial returned
  EXPECT_EQ(answer->error().code, errc::dial_myself);
  answer.reset();
  service_->end(alice, "not-a-uuid", 1000,
                [&](result<store::call_record> r) { answer.emplace(std::move(r)); });
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->error().code, errc::invalid_request);
}

// The service keeps open calls in memory (open_calls) so that find and relay read no database; a
// call written by another connection (another process) must still never be acted on as it was:
// the next write loses its compare-and-set, corrects the kept copy and applies the event to what
// is stored.
TEST_F(call_service_test, a_call_changed_or_deleted_by_another_connection_is_not_acted_on_stale) {
  caller_context bob{"app", "bob", "conn-b", "dev-b"};
  auto call = calls_->dial(alice, {"bob", false, {}}, 1000);
  ASSERT_TRUE(call);
  ASSERT_TRUE(calls_->accept(bob, call->call_id, 1100));
  EXPECT_EQ(calls_->find("app", call->call_id)->state, store::call_state::accepted);

  auto other = store::open_sqlite_store((dir_ / "p.db").string());
  auto stored = other->find_call("app", call->call_id);
  ASSERT_TRUE(stored);
  stored->state = store::call_state::ended;
  stored->result = store::end_result::connection_lost;
  stored->ended_at = 1200;
  stored->deadline.reset();
  stored->version += 1;
  ASSERT_TRUE(store::update_call_now(*other, *stored).value());

  // This service still has the accepted call cached; ending it must meet the stored end.
  auto ended = calls_->end(alice, call->call_id, 1300);
  ASSERT_FALSE(ended);
  EXPECT_EQ(ended.error().code, errc::invalid_call_state);
  auto now = calls_->find("app", call->call_id);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->result, store::end_result::connection_lost);
  EXPECT_EQ(now->ended_at, 1200);

  // A call whose app another process deleted is gone, not answered from memory.
  auto second = calls_->dial(alice, {"bob", false, {}}, 2000);
  ASSERT_TRUE(second);
  ASSERT_TRUE(other->delete_app("app"));
  auto accepted = calls_->accept(bob, second->call_id, 2100);
  ASSERT_FALSE(accepted);
  EXPECT_EQ(accepted.error().code, errc::not_found);
  EXPECT_FALSE(calls_->find("app", second->call_id));
}

TEST_F(call_service_test, timers_are_stored_and_fire_after_a_restart_of_the_service) {
  auto call = calls_->dial(alice, {"bob", false, {}}, 1000);
  ASSERT_TRUE(call);
  start_service();
  EXPECT_EQ(calls_->fire_timers(1000 + 59'999), 0);
  EXPECT_EQ(calls_->fire_timers(1000 + 60'000), 1);
  EXPECT_EQ(calls_->find("app", call->call_id)->result, store::end_result::no_answer);
}

TEST_F(call_service_test, recover_ends_unfinished_calls_unknown) {
  auto call = calls_->dial(alice, {"bob", false, {}}, 1000);
  ASSERT_TRUE(call);
  EXPECT_EQ(calls_->recover(5000), 1);
  auto after = calls_->find("app", call->call_id);
  EXPECT_EQ(after->result, store::end_result::unknown);
  EXPECT_EQ(after->ended_at, 5000);  // no record of the old process: now is the bound
}

TEST_F(call_service_test, downtime_after_a_crash_is_not_billed) {
  auto call = calls_->dial(alice, {"bob", false, {}}, 1000);
  caller_context bob{"app", "bob", "conn-b", "dev-b"};
  ASSERT_TRUE(calls_->accept(bob, call->call_id, 2000));
  ASSERT_TRUE(calls_->media_connected(bob, call->call_id, 3000));
  calls_->record_alive(50'000);  // the old process's last tick
  // Restarted an hour later.
  EXPECT_EQ(calls_->recover(3'600'000), 1);
  auto after = calls_->find("app", call->call_id);
  EXPECT_EQ(after->ended_at, 50'000);
  EXPECT_EQ(billable_minutes(*after), 1);
}

TEST_F(call_service_test, billable_minutes_round_up_and_count_on_the_dial_day) {
  constexpr millis day = 86'400'000;
  millis midnight = 20'000 * day;  // 2024-10-04 00:00 UTC
  auto call = calls_->dial(alice, {"bob", false, {}}, midnight - 5000);
  ASSERT_TRUE(call);
  caller_context bob{"app", "bob", "conn-b", "dev-b"};
  ASSERT_TRUE(calls_->accept(bob, call->call_id, midnight - 4000));
  ASSERT_TRUE(calls_->media_connected(bob, call->call_id, midnight - 3000));
  auto ended = calls_->end(alice, call->call_id, midnight + 61'000);
  ASSERT_TRUE(ended);
  EXPECT_EQ(billable_minutes(*ended), 2);
  auto never = calls_->dial(alice, {"bob", false, {}}, midnight + 1000);
  ASSERT_TRUE(calls_->end(alice, never->call_id, midnight + 2000));
  auto report = calls_->usage("app", "2024-10-03", "2024-10-04");
  ASSERT_TRUE(report);
  EXPECT_EQ(report->total_billable_minutes, 2);
  const auto* days = &report->days;
  ASSERT_EQ(days->size(), 2u);
  EXPECT_EQ((*days)[0].date, "2024-10-03");
  EXPECT_EQ((*days)[0].calls, 1);
  EXPECT_EQ((*days)[0].connected_calls, 1);
  EXPECT_EQ((*days)[0].billable_minutes, 2);
  EXPECT_EQ((*days)[1].calls, 1);
  EXPECT_EQ((*days)[1].billable_minutes, 0);
}

TEST_F(call_service_test, call_log_pages_newest_first_without_gaps) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(calls_->dial(alice, {"bob", false, {}}, 1000 + i / 2));
  std::vector<std::string> seen;
  std::string cursor;
  for (;;) {
    auto page = calls_->list("app", "bob", 3, cursor);
    ASSERT_TRUE(page);
    for (auto& c : page->calls) seen.push_back(c.call_id);
    if (!page->next) break;
    cursor = *page->next;
  }
  ASSERT_EQ(seen.size(), 7u);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
}

TEST_F(call_service_test, usage_dates_are_four_digit_years_and_real_days) {
  EXPECT_TRUE(calls_->usage("app", "2024-02-28", "2024-02-29"));
  for (std::string bad : {"-001-01-01", "+999-01-01", "2023-02-29", "2023-13-01", "2023-01-00",
                          " 023-01-01", "2023-1-011", "2023/01/01"}) {
    auto r = calls_->usage("app", bad, "2024-01-01");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, errc::invalid_request) << bad;
    EXPECT_EQ(r.error().field, "from") << bad;
  }
}

TEST_F(call_service_test, a_dial_past_the_ringing_limits_is_refused_and_writes_nothing) {
  auto app = st_->find_app("app");
  ASSERT_TRUE(app);
  auto s = app->settings;
  s.max_ringing_per_caller = 1;
  ASSERT_TRUE(st_->set_settings("app", s));
  auto first = calls_->dial(alice, {"bob", false, {}}, 1000);
  ASSERT_TRUE(first);
  auto second = calls_->dial(alice, {"bob", false, {}}, 1001);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, errc::rate_limited);
  EXPECT_GE(second.error().retry_after_s, 1);
  ASSERT_TRUE(calls_->end(alice, first->call_id, 1002));
  EXPECT_TRUE(calls_->dial(alice, {"bob", false, {}}, 1003));
}

}  // namespace
}  // namespace parley::services
