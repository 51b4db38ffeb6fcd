#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::store {
namespace {

class sqlite_store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    open_with_apps({});
  }
  // A fresh store in dir_ with the apps app1 and app2.
  void open_with_apps(sqlite_options options) {
    st_ = open_sqlite_store((dir_ / "p.db").string(), options);
    app_record a;
    a.app_id = "app1";
    a.name = "one";
    a.api_token_hash = "h";
    a.signing_secret = "s";
    ASSERT_TRUE(st_->create_app(a));
    a.app_id = "app2";
    ASSERT_TRUE(st_->create_app(a));
  }
  void TearDown() override {
    st_.reset();
    std::filesystem::remove_all(dir_);
  }
  user_record user(const std::string& app, const std::string& id) {
    user_record u;
    u.app_id = app;
    u.user_id = id;
    u.metadata = {{"k", "v"}};
    u.created_at = 1;
    return u;
  }
  session_record session(const std::string& hash, const std::string& app, const std::string& uid,
                         session_source src) {
    session_record s;
    s.key_hash = hash;
    s.app_id = app;
    s.user_id = uid;
    s.source = src;
    return s;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store> st_;
};

TEST_F(sqlite_store_test, duplicate_user_is_user_exists_but_same_id_in_another_app_is_fine) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  auto dup = st_->create_user(user("app1", "alice"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, errc::user_exists);
  EXPECT_TRUE(st_->create_user(user("app2", "alice")));
}

TEST_F(sqlite_store_test, users_are_scoped_by_app) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  EXPECT_TRUE(st_->find_user("app1", "alice"));
  auto other = st_->find_user("app2", "alice");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, errc::not_found);
  EXPECT_FALSE(st_->delete_user("app2", "alice", {}));
  EXPECT_TRUE(st_->find_user("app1", "alice"));
}

TEST_F(sqlite_store_test, metadata_round_trips) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  auto u = st_->find_user("app1", "alice");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->metadata.at("k"), "v");
}

TEST_F(sqlite_store_test, list_pages_in_user_id_order) {
  for (auto id : {"c", "a", "b", "d"}) ASSERT_TRUE(st_->create_user(user("app1", id)));
  auto first = st_->list_users("app1", "", 2);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].user_id, "a");
  EXPECT_EQ((*first)[1].user_id, "b");
  auto second = st_->list_users("app1", "b", 10);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[0].user_id, "c");
}

TEST_F(sqlite_store_test, rotating_access_token_ends_only_access_token_sessions) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->create_session(session("k1", "app1", "alice", session_source::access_token)));
  ASSERT_TRUE(st_->create_session(session("k2", "app1", "alice", session_source::session_token)));
  auto ended = st_->set_access_token("app1", "alice", std::string("newhash"));
  ASSERT_TRUE(ended);
  EXPECT_EQ(*ended, std::vector<std::string>{"k1"});
  EXPECT_FALSE(st_->find_session("k1"));
  EXPECT_TRUE(st_->find_session("k2"));
}

TEST_F(sqlite_store_test, revoking_session_tokens_ends_their_sessions) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->add_session_token("app1", "alice", "t1", 1000));
  ASSERT_TRUE(st_->create_session(session("k2", "app1", "alice", session_source::session_token)));
  auto ended = st_->revoke_session_tokens("app1", "alice");
  ASSERT_TRUE(ended);
  EXPECT_EQ(*ended, std::vector<std::string>{"k2"});
  EXPECT_FALSE(st_->find_session_token("app1", "t1"));
}

TEST_F(sqlite_store_test, deleting_a_user_removes_sessions_tokens_and_push_tokens) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->create_session(session("k1", "app1", "alice", session_source::jwt)));
  ASSERT_TRUE(st_->put_push_token("app1", "alice", {"fcm", "tok", 5}));
  auto ended = st_->delete_user("app1", "alice", {});
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->size(), 1u);
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  EXPECT_TRUE(st_->list_push_tokens("app1", "alice")->empty());
}

TEST_F(sqlite_store_test, a_push_token_moves_to_the_user_who_registers_it_last) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->create_user(user("app1", "bob")));
  ASSERT_TRUE(st_->put_push_token("app1", "alice", {"apns_voip", "tok", 1}));
  ASSERT_TRUE(st_->put_push_token("app1", "bob", {"apns_voip", "tok", 2}));
  EXPECT_TRUE(st_->list_push_tokens("app1", "alice")->empty());
  EXPECT_EQ(st_->list_push_tokens("app1", "bob")->size(), 1u);
}

TEST_F(sqlite_store_test, data_survives_reopening_and_migrations_are_not_rerun) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  st_.reset();
  st_ = open_sqlite_store((dir_ / "p.db").string());
  EXPECT_TRUE(st_->find_user("app1", "alice"));
}

// Under a steady stream of commits the WAL must restart from its start now and then: a passive
// checkpoint from the background thread alone always trails the writer, and the file would grow
// without end. The writer checkpoints once the background pass left a short tail (or at twice
// the threshold), so the WAL never holds much more than 2 x checkpoint_pages.
TEST_F(sqlite_store_test, the_wal_restarts_under_a_steady_stream_of_commits) {
  st_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  open_with_apps({.checkpoint_pages = 200, .backfill_pages = 50, .tail_pages = 32});
  const auto wal = dir_ / "p.db-wal";
  constexpr std::uintmax_t frame = 4096 + 24;  // a page and its frame header
  std::uintmax_t largest = 0;
  constexpr int users = 4000;  // each its own transaction, ~10x the threshold in pages
  for (int i = 0; i < users; ++i) {
    auto u = user("app1", "u" + std::to_string(i));
    u.metadata = {{"padding", std::string(1000, static_cast<char>('a' + i % 26))}};
    ASSERT_TRUE(st_->create_user(u));
    if (i % 50 == 0) largest = std::max(largest, std::filesystem::file_size(wal));
  }
  largest = std::max(largest, std::filesystem::file_size(wal));
  EXPECT_GT(largest, 150 * frame);  // the stream did reach the threshold
  EXPECT_LE(largest, (2 * 200 + 20) * frame + 32);
  for (int i = 0; i < users; i += 397) {
    auto found = st_->find_user("app1", "u" + std::to_string(i));
    ASSERT_TRUE(found) << i;
    EXPECT_EQ(found->metadata.at("padding").size(), 1000u);
  }
  st_.reset();  // every committed user is still there after reopening
  st_ = open_sqlite_store((dir_ / "p.db").string());
  EXPECT_EQ(st_->list_users("app1", "", 10000)->size(), static_cast<std::size_t>(users));
}

// find_app_and_user serves the app from a cache while the apps version read beside the user is
// unchanged; every change to an app, from this store or from another connection (the operator
// CLI runs in another process), must be seen by the next lookup.
TEST_F(sqlite_store_test, the_cached_app_is_never_stale) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  auto first = st_->find_app_and_user("app1", "alice");
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->user);
  EXPECT_EQ(first->user->user_id, "alice");
  EXPECT_EQ(first->app.settings.ringing_timeout_s, 60);
  auto nobody = st_->find_app_and_user("app1", "nobody");
  ASSERT_TRUE(nobody);
  EXPECT_FALSE(nobody->user);
  EXPECT_EQ(nobody->app.app_id, "app1");

  app_settings changed;
  changed.ringing_timeout_s = 15;
  ASSERT_TRUE(st_->set_settings("app1", changed));
  EXPECT_EQ(st_->find_app_and_user("app1", "alice")->app.settings.ringing_timeout_s, 15);

  {  // another connection to the same file, as `parleyd app rotate-token` would be
    auto other = open_sqlite_store((dir_ / "p.db").string());
    ASSERT_TRUE(other->set_app_token_hash("app1", "rotated"));
  }
  EXPECT_EQ(st_->find_app_and_user("app1", "alice")->app.api_token_hash, "rotated");
  {
    auto other = open_sqlite_store((dir_ / "p.db").string());
    ASSERT_TRUE(other->delete_app("app1"));
  }
  auto gone = st_->find_app_and_user("app1", "alice");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, errc::not_found);
  EXPECT_EQ(st_->find_app_and_user("app2", "alice")->app.app_id, "app2");
}

TEST_F(sqlite_store_test, batched_sessions_are_stored_before_done_and_fail_one_by_one) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  std::mutex m;
  std::condition_variable all_told;
  std::vector<std::pair<std::string, bool>> outcomes;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto hash = "k" + std::to_string(t) + "-" + std::to_string(i);
        // Every fifth session names a user that does not exist: refused alone.
        auto uid = i % 5 == 0 ? std::string("nobody") : std::string("alice");
        st_->create_session_batched(session(hash, "app1", uid, session_source::access_token),
                                    std::nullopt, [&, hash](result<void> r) {
                                      // Committed when told: visible to a lookup at once.
                                      EXPECT_EQ(static_cast<bool>(st_->find_session(hash)),
                                                static_cast<bool>(r));
                                      std::lock_guard lock(m);
                                      outcomes.emplace_back(hash, static_cast<bool>(r));
                                      all_told.notify_all();
                                    });
      }
    });
  for (auto& t : threads) t.join();
  std::unique_lock lock(m);
  ASSERT_TRUE(
      all_told.wait_for(lock, std::chrono::seconds(20), [&] { return outcomes.size() == 200u; }));
  for (const auto& [hash, ok] : outcomes) {
    auto i = std::stoi(hash.substr(hash.find('-') + 1));
    EXPECT_EQ(ok, i % 5 != 0) << hash;
  }
}

TEST_F(sqlite_store_test, a_batched_session_whose_token_was_rotated_meanwhile_is_refused) {
  auto u = user("app1", "alice");
  u.access_token_hash = "old";
  ASSERT_TRUE(st_->create_user(u));
  // Verified against "old", then the token rotates before the batch commits.
  ASSERT_TRUE(st_->set_access_token("app1", "alice", std::string("new")));
  std::promise<result<void>> told;
  st_->create_session_batched(session("k1", "app1", "alice", session_source::access_token),
                              std::string("old"), [&](result<void> r) { told.set_value(r); });
  auto r = told.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_credentials);
  EXPECT_FALSE(st_->find_session("k1"));
  std::promise<result<void>> told2;
  st_->create_session_batched(session("k2", "app1", "alice", session_source::access_token),
                              std::string("new"), [&](result<void> r2) { told2.set_value(r2); });
  EXPECT_TRUE(told2.get_future().get());
  EXPECT_TRUE(st_->find_session("k2"));
}

TEST_F(sqlite_store_test, expired_sessions_are_deleted) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  auto s = session("k1", "app1", "alice", session_source::session_token);
  s.expires_at = 100;
  ASSERT_TRUE(st_->create_session(s));
  ASSERT_TRUE(st_->create_session(session("k2", "app1", "alice", session_source::access_token)));
  EXPECT_EQ(*st_->delete_expired_sessions(100), 1);
  EXPECT_TRUE(st_->find_session("k2"));
}

}  // namespace
}  // namespace parley::store

namespace parley::store {
namespace {

class outbox_store_test : public sqlite_store_test {
 protected:
  outbox_entry entry(const std::string& id, const std::string& key, millis due,
                     outbox_kind kind = outbox_kind::webhook) {
    outbox_entry e;
    e.event_id = id;
    e.app_id = "app1";
    e.kind = kind;
    e.order_key = key;
    e.event = "direct_call.dial";
    e.payload = "{}";
    e.created_at = due;
    e.next_attempt_at = due;
    e.give_up_at = due + 1000;
    return e;
  }
  std::vector<std::string> claim(millis now, int limit = 10) {
    std::vector<std::string> ids;
    auto due = st_->claim_due_outbox(now, now + 60'000, limit);
    EXPECT_TRUE(due);
    if (due)
      for (const auto& e : *due) ids.push_back(e.event_id);
    return ids;
  }
  void deliver(const std::string& id) {
    auto e = st_->find_outbox("app1", id);
    ASSERT_TRUE(e);
    e->state = delivery_state::delivered;
    ASSERT_TRUE(st_->complete_delivery({*e, {}, std::nullopt}));
  }
};

TEST_F(outbox_store_test, entries_of_one_key_go_one_at_a_time_in_order) {
  std::vector<outbox_entry> batch{entry("a1", "call-a", 10), entry("a2", "call-a", 10),
                                  entry("b1", "call-b", 10)};
  ASSERT_TRUE(st_->delete_user("app1", "nobody", batch).has_error());  // no such user: nothing
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->delete_user("app1", "alice", batch));
  EXPECT_EQ(claim(10), (std::vector<std::string>{"a1", "b1"}));
  // Leased: not handed out again, and a2 still waits behind a1.
  EXPECT_TRUE(claim(11).empty());
  deliver("a1");
  EXPECT_EQ(claim(12), std::vector<std::string>{"a2"});
}

TEST_F(outbox_store_test, a_failed_delivery_no_longer_blocks_its_key_and_can_be_retried) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  std::vector<outbox_entry> batch{entry("a1", "k", 10), entry("a2", "k", 10)};
  ASSERT_TRUE(st_->delete_user("app1", "alice", batch));
  ASSERT_EQ(claim(10), std::vector<std::string>{"a1"});
  auto e = *st_->find_outbox("app1", "a1");
  e.state = delivery_state::failed;
  e.attempts = 7;
  e.last_status = 500;
  e.last_error = "HTTP 500";
  ASSERT_TRUE(st_->complete_delivery({e, {}, std::nullopt}));
  EXPECT_EQ(claim(11), std::vector<std::string>{"a2"});

  auto failed = st_->list_outbox("app1", outbox_kind::webhook, delivery_state::failed, 0, 10);
  ASSERT_TRUE(failed);
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].last_status, 500);
  EXPECT_EQ((*failed)[0].attempts, 7);

  auto again = st_->retry_outbox("app1", "a1", 50, 5000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state, delivery_state::pending);
  EXPECT_EQ(again->give_up_at, 5000);
  EXPECT_FALSE(st_->retry_outbox("app2", "a1", 50, 5000));  // another app's event: not found
}

TEST_F(outbox_store_test, the_outbox_is_written_only_when_the_call_write_wins) {
  call_record c;
  c.call_id = "c1";
  c.app_id = "app1";
  c.caller_id = "alice";
  c.callee_id = "bob";
  c.version = 1;
  std::vector<outbox_entry> dial{entry("d", "c1", 10)};
  ASSERT_TRUE(st_->create_call(c, dial));
  c.version = 3;  // stale: the stored version is 1, not 2
  std::vector<outbox_entry> lost{entry("x", "c1", 10)};
  auto r = st_->update_call(c, lost);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_FALSE(st_->find_outbox("app1", "x"));
  c.version = 2;
  std::vector<outbox_entry> won{entry("y", "c1", 10)};
  ASSERT_TRUE(*st_->update_call(c, won));
  EXPECT_TRUE(st_->find_outbox("app1", "y"));
  auto stats = st_->outbox_pending_stats(outbox_kind::webhook);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->pending, 2);
  EXPECT_EQ(stats->oldest_created_at, 10);
}

TEST_F(outbox_store_test, leases_survive_a_restart_only_until_released) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  std::vector<outbox_entry> batch{entry("a1", "k", 10)};
  ASSERT_TRUE(st_->delete_user("app1", "alice", batch));
  ASSERT_EQ(claim(10).size(), 1u);
  st_.reset();  // the process dies with a1 in flight
  st_ = open_sqlite_store((dir_ / "p.db").string());
  EXPECT_TRUE(claim(20).empty());
  ASSERT_TRUE(st_->release_outbox_leases());
  EXPECT_EQ(claim(20), std::vector<std::string>{"a1"});
}

TEST_F(outbox_store_test, a_dead_token_goes_with_the_outcome_and_follow_up_events) {
  ASSERT_TRUE(st_->create_user(user("app1", "bob")));
  ASSERT_TRUE(st_->put_push_token("app1", "bob", {"fcm", "tok", 1}));
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  std::vector<outbox_entry> batch{entry("p1", "k", 10, outbox_kind::push)};
  ASSERT_TRUE(st_->delete_user("app1", "alice", batch));
  auto e = *st_->find_outbox("app1", "p1");
  e.state = delivery_state::failed;
  delivery_result r{e, {entry("f1", "f1", 11)}, std::array<std::string, 3>{"bob", "fcm", "tok"}};
  ASSERT_TRUE(st_->complete_delivery(r));
  EXPECT_TRUE(st_->list_push_tokens("app1", "bob")->empty());
  EXPECT_TRUE(st_->find_outbox("app1", "f1"));
  // Push entries are not listed as webhook deliveries.
  EXPECT_EQ(st_->list_outbox("app1", outbox_kind::webhook, std::nullopt, 0, 10)->size(), 1u);
}

TEST_F(outbox_store_test, finished_entries_are_pruned_after_their_time) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  std::vector<outbox_entry> batch{entry("a1", "k1", 10), entry("a2", "k2", 10)};
  ASSERT_TRUE(st_->delete_user("app1", "alice", batch));
  auto e = *st_->find_outbox("app1", "a1");
  e.state = delivery_state::delivered;
  e.next_attempt_at = 100;  // finished at 100
  ASSERT_TRUE(st_->complete_delivery({e, {}, std::nullopt}));
  EXPECT_EQ(*st_->prune_outbox(100, 0), 0);
  EXPECT_EQ(*st_->prune_outbox(101, 0), 1);
  EXPECT_TRUE(st_->find_outbox("app1", "a2"));  // pending entries are never pruned
}

}  // namespace
}  // namespace parley::store
