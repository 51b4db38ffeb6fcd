// The store's contract (store/store.hpp), as tests every implementation must pass. They run for
// each implementation instantiated with INSTANTIATE_TEST_SUITE_P over store_test and
// outbox_store_test (tests/unit/store/sqlite_store_test.cpp for the SQLite store).

#include "store_contract.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace parley::store {
namespace {

TEST_P(store_test, duplicate_user_is_user_exists_but_same_id_in_another_app_is_fine) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  auto dup = st_->create_user(user("app1", "alice"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, errc::user_exists);
  EXPECT_TRUE(st_->create_user(user("app2", "alice")));
}

TEST_P(store_test, users_are_scoped_by_app) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  EXPECT_TRUE(st_->find_user("app1", "alice"));
  auto other = st_->find_user("app2", "alice");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, errc::not_found);
  EXPECT_FALSE(st_->delete_user("app2", "alice", {}));
  EXPECT_TRUE(st_->find_user("app1", "alice"));
}

TEST_P(store_test, metadata_round_trips) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  auto u = st_->find_user("app1", "alice");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->metadata.at("k"), "v");
}

TEST_P(store_test, list_pages_in_user_id_order) {
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

TEST_P(store_test, a_session_is_found_by_its_id_and_hash_and_only_both) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  auto k1 = session("k1", "app1", "alice", session_source::access_token);
  ASSERT_TRUE(st_->create_session(k1));
  auto s = st_->find_session(k1.id, "k1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, k1.id);
  EXPECT_EQ(s->user_id, "alice");
  EXPECT_FALSE(st_->find_session(k1.id, "k2"));      // right row, wrong secret
  EXPECT_FALSE(st_->find_session(k1.id + 1, "k1"));  // no such row
  EXPECT_FALSE(st_->find_session(0, "k1"));          // not a legacy row
  // Ids are handed out once, past every stored row, also by a store opened later.
  auto k2 = session("k2", "app1", "alice", session_source::access_token);
  EXPECT_GT(k2.id, k1.id);
  st_.reset();
  st_ = open_store();
  EXPECT_GT(st_->new_session_id(), k1.id);
}

TEST_P(store_test, a_session_of_a_user_that_no_longer_exists_is_not_written) {
  auto r = st_->create_session(session("k1", "app1", "nobody", session_source::jwt));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_credentials);
}

TEST_P(store_test, rotating_access_token_ends_only_access_token_sessions) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->create_user(user("app1", "bob")));
  auto k1 = session("k1", "app1", "alice", session_source::access_token);
  auto k2 = session("k2", "app1", "alice", session_source::session_token);
  auto k3 = session("k3", "app1", "alice", session_source::jwt);
  auto bobs = session("k4", "app1", "bob", session_source::access_token);
  for (const auto& k : {k1, k2, k3, bobs}) ASSERT_TRUE(st_->create_session(k));
  ASSERT_TRUE(st_->set_access_token("app1", "alice", std::string("newhash")));
  EXPECT_FALSE(found(k1));
  EXPECT_TRUE(found(k2));
  EXPECT_TRUE(found(k3));
  EXPECT_TRUE(found(bobs));
  // Sessions made after the rotation hold the new epoch.
  auto k5 = session("k5", "app1", "alice", session_source::access_token);
  ASSERT_TRUE(st_->create_session(k5));
  EXPECT_TRUE(found(k5));
}

TEST_P(store_test, revoking_session_tokens_ends_their_sessions) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->add_session_token("app1", "alice", "t1", 1000));
  auto k1 = session("k1", "app1", "alice", session_source::access_token);
  auto k2 = session("k2", "app1", "alice", session_source::session_token);
  ASSERT_TRUE(st_->create_session(k1));
  ASSERT_TRUE(st_->create_session(k2));
  ASSERT_TRUE(st_->revoke_session_tokens("app1", "alice"));
  EXPECT_FALSE(found(k2));
  EXPECT_TRUE(found(k1));
  EXPECT_FALSE(st_->find_session_token("app1", "t1"));
}

TEST_P(store_test, a_refreshed_session_ends_with_its_new_source) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  auto k1 = session("k1", "app1", "alice", session_source::access_token);
  ASSERT_TRUE(st_->create_session(k1));
  ASSERT_TRUE(st_->update_session(k1, session_source::session_token, 5000));
  ASSERT_TRUE(st_->set_access_token("app1", "alice", std::nullopt));
  auto s = st_->find_session(k1.id, "k1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->source, session_source::session_token);
  EXPECT_EQ(s->expires_at, 5000);
  ASSERT_TRUE(st_->revoke_session_tokens("app1", "alice"));
  EXPECT_FALSE(found(k1));
}

TEST_P(store_test, deleting_a_user_ends_sessions_and_removes_tokens_and_push_tokens) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  auto k1 = session("k1", "app1", "alice", session_source::jwt);
  auto k2 = session("k2", "app1", "alice", session_source::access_token);
  ASSERT_TRUE(st_->create_session(k1));
  ASSERT_TRUE(st_->create_session(k2));
  ASSERT_TRUE(st_->put_push_token("app1", "alice", {"fcm", "tok", 5}));
  ASSERT_TRUE(st_->delete_user("app1", "alice", {}));
  EXPECT_FALSE(found(k1));
  // A user made again with the same id gets none of the old sessions.
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  EXPECT_FALSE(found(k1));
  EXPECT_FALSE(found(k2));
  EXPECT_TRUE(st_->list_push_tokens("app1", "alice")->empty());
  auto k3 = session("k3", "app1", "alice", session_source::jwt);
  ASSERT_TRUE(st_->create_session(k3));
  EXPECT_TRUE(found(k3));
}

TEST_P(store_test, deleting_an_app_ends_its_sessions) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->create_user(user("app2", "alice")));
  auto k1 = session("k1", "app1", "alice", session_source::access_token);
  auto k2 = session("k2", "app2", "alice", session_source::access_token);
  ASSERT_TRUE(st_->create_session(k1));
  ASSERT_TRUE(st_->create_session(k2));
  ASSERT_TRUE(st_->delete_app("app1"));
  EXPECT_FALSE(found(k1));
  EXPECT_TRUE(found(k2));
}

TEST_P(store_test, pruning_reclaims_the_rows_of_ended_sessions_a_slice_at_a_time) {
  store_options small;
  small.prune_slice = 3;
  open_empty_with_apps(small);
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->create_user(user("app1", "bob")));
  std::vector<session_record> alices, bobs;
  for (int i = 0; i < 5; ++i) {
    alices.push_back(
        session("a" + std::to_string(i), "app1", "alice", session_source::access_token));
    bobs.push_back(session("b" + std::to_string(i), "app1", "bob", session_source::jwt));
    ASSERT_TRUE(st_->create_session(alices.back()));
    ASSERT_TRUE(st_->create_session(bobs.back()));
  }
  ASSERT_TRUE(st_->set_access_token("app1", "alice", std::nullopt));  // ends alice's 5
  // Nothing ended for bob: a full round of slices removes alice's rows and only those.
  int removed = 0;
  for (int i = 0; i < 4; ++i) {
    auto r = st_->prune_sessions(0);
    ASSERT_TRUE(r);
    EXPECT_LE(*r, 3);  // one slice of 3 ids per call
    removed += *r;
  }
  EXPECT_EQ(removed, 5);
  for (const auto& b : bobs) EXPECT_TRUE(found(b));
  // The cursor went round: rows ended later are found on the next round.
  ASSERT_TRUE(st_->delete_user("app1", "bob", {}));
  removed = 0;
  for (int i = 0; i < 4; ++i) removed += *st_->prune_sessions(0);
  EXPECT_EQ(removed, 5);
  ASSERT_TRUE(st_->create_user(user("app1", "bob")));
  for (const auto& b : bobs) EXPECT_FALSE(found(b));
}

TEST_P(store_test, a_push_token_moves_to_the_user_who_registers_it_last) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->create_user(user("app1", "bob")));
  ASSERT_TRUE(st_->put_push_token("app1", "alice", {"apns_voip", "tok", 1}));
  ASSERT_TRUE(st_->put_push_token("app1", "bob", {"apns_voip", "tok", 2}));
  EXPECT_TRUE(st_->list_push_tokens("app1", "alice")->empty());
  EXPECT_EQ(st_->list_push_tokens("app1", "bob")->size(), 1u);
}

TEST_P(store_test, data_survives_reopening_and_migrations_are_not_rerun) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  st_.reset();
  st_ = open_store();
  EXPECT_TRUE(st_->find_user("app1", "alice"));
}

// find_app_and_user serves the app from a cache while the apps version read beside the user is
// unchanged; every change to an app, from this store or from another connection (the operator
// CLI runs in another process), must be seen by the next lookup.
TEST_P(store_test, the_cached_app_is_never_stale) {
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
    auto other = open_store();
    ASSERT_TRUE(other->set_app_token_hash("app1", "rotated"));
  }
  EXPECT_EQ(st_->find_app_and_user("app1", "alice")->app.api_token_hash, "rotated");
  {
    auto other = open_store();
    ASSERT_TRUE(other->delete_app("app1"));
  }
  auto gone = st_->find_app_and_user("app1", "alice");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, errc::not_found);
  EXPECT_EQ(st_->find_app_and_user("app2", "alice")->app.app_id, "app2");
}

TEST_P(store_test, batched_sessions_are_stored_before_done_and_fail_one_by_one) {
  // One user per thread: 40 sessions each, under the default max_sessions_per_user.
  for (int t = 0; t < 4; ++t)
    ASSERT_TRUE(st_->create_user(user("app1", "alice" + std::to_string(t))));
  std::mutex m;
  std::condition_variable all_told;
  std::vector<std::pair<std::string, bool>> outcomes;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto hash = "k" + std::to_string(t) + "-" + std::to_string(i);
        // Every fifth session names a user that does not exist: refused alone.
        auto uid = i % 5 == 0 ? std::string("nobody") : "alice" + std::to_string(t);
        auto s = session(hash, "app1", uid, session_source::access_token);
        st_->create_session_batched(s, std::nullopt, [&, hash, s](result<void> r) {
          // Committed when told: visible to a lookup at once.
          EXPECT_EQ(found(s), static_cast<bool>(r));
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

TEST_P(store_test, a_batched_session_whose_token_was_rotated_meanwhile_is_refused) {
  auto u = user("app1", "alice");
  u.access_token_hash = "old";
  ASSERT_TRUE(st_->create_user(u));
  // Verified against "old", then the token rotates before the batch commits.
  ASSERT_TRUE(st_->set_access_token("app1", "alice", std::string("new")));
  std::promise<result<void>> told;
  auto k1 = session("k1", "app1", "alice", session_source::access_token);
  st_->create_session_batched(k1, std::string("old"), [&](result<void> r) { told.set_value(r); });
  auto r = told.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_credentials);
  EXPECT_FALSE(found(k1));
  std::promise<result<void>> told2;
  auto k2 = session("k2", "app1", "alice", session_source::access_token);
  st_->create_session_batched(k2, std::string("new"),
                              [&](result<void> r2) { told2.set_value(r2); });
  EXPECT_TRUE(told2.get_future().get());
  EXPECT_TRUE(found(k2));
}

TEST_P(store_test, expired_sessions_are_deleted) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  auto s = session("k1", "app1", "alice", session_source::session_token);
  s.expires_at = 100;
  ASSERT_TRUE(st_->create_session(s));
  auto k2 = session("k2", "app1", "alice", session_source::access_token);
  ASSERT_TRUE(st_->create_session(k2));
  EXPECT_EQ(*st_->prune_sessions(100), 1);
  EXPECT_FALSE(found(s));
  EXPECT_TRUE(found(k2));
}

}  // namespace
}  // namespace parley::store

namespace parley::store {
namespace {

TEST_P(outbox_store_test, entries_of_one_key_go_one_at_a_time_in_order) {
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

TEST_P(outbox_store_test, a_failed_delivery_no_longer_blocks_its_key_and_can_be_retried) {
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

TEST_P(outbox_store_test, entries_of_a_removed_receiver_are_made_due_now) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  std::vector<outbox_entry> batch{entry("w-later", "k1", 500), entry("w-done", "k2", 10),
                                  entry("p-later", "k3", 500, outbox_kind::push)};
  ASSERT_TRUE(st_->delete_user("app1", "alice", batch));
  deliver("w-done");
  EXPECT_TRUE(claim(20).empty());  // w-later and p-later are due at 500

  ASSERT_TRUE(st_->make_outbox_due("app2", outbox_kind::webhook, 20));  // another app: no change
  EXPECT_TRUE(claim(20).empty());
  ASSERT_TRUE(st_->make_outbox_due("app1", outbox_kind::webhook, 20));
  EXPECT_EQ(claim(20), std::vector<std::string>{"w-later"});  // only pending webhooks
  EXPECT_EQ(st_->find_outbox("app1", "w-done")->state, delivery_state::delivered);
  ASSERT_TRUE(st_->make_outbox_due("app1", outbox_kind::push, 30));
  EXPECT_EQ(claim(30), std::vector<std::string>{"p-later"});
}

TEST_P(outbox_store_test, the_outbox_is_written_only_when_the_call_write_wins) {
  call_record c;
  c.call_id = "c1";
  c.app_id = "app1";
  c.caller_id = "alice";
  c.callee_id = "bob";
  c.version = 1;
  std::vector<outbox_entry> dial{entry("d", "c1", 10)};
  ASSERT_TRUE(create_call_now(*st_, c, dial));
  c.version = 3;  // stale: the stored version is 1, not 2
  std::vector<outbox_entry> lost{entry("x", "c1", 10)};
  auto r = update_call_now(*st_, c, lost);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_FALSE(st_->find_outbox("app1", "x"));
  c.version = 2;
  std::vector<outbox_entry> won{entry("y", "c1", 10)};
  ASSERT_TRUE(*update_call_now(*st_, c, won));
  EXPECT_TRUE(st_->find_outbox("app1", "y"));
  auto stats = st_->outbox_pending_stats(outbox_kind::webhook);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->pending, 2);
  EXPECT_EQ(stats->oldest_created_at, 10);
}

// Batched call writes share transactions; each is all-or-nothing on its own: a write that fails
// (a duplicate call id) leaves neither its row nor its outbox entries, and the others commit.
TEST_P(outbox_store_test, batched_call_writes_fail_alone_and_write_the_outbox_only_when_they_win) {
  auto call = [](const std::string& id) {
    call_record c;
    c.call_id = id;
    c.app_id = "app1";
    c.caller_id = "alice";
    c.callee_id = "bob";
    c.version = 1;
    return c;
  };
  std::mutex m;
  std::condition_variable told;
  std::map<std::string, bool> outcomes;
  auto record = [&](const std::string& name) {
    return [&, name](auto r) {
      bool ok = static_cast<bool>(r);
      if constexpr (std::is_same_v<decltype(r), result<bool>>) ok = ok && *r;  // won the CAS
      std::lock_guard lock(m);
      outcomes[name] = ok;
      told.notify_all();
    };
  };
  for (int i = 0; i < 20; ++i) {
    auto id = "c" + std::to_string(i);
    st_->create_call_batched(call(id), {entry("d" + id, id, 10)}, record(id));
    // The same id again, with its own outbox entry: refused, and its entry with it.
    st_->create_call_batched(call(id), {entry("dup" + id, id, 10)}, record("dup" + id));
  }
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(
        told.wait_for(lock, std::chrono::seconds(20), [&] { return outcomes.size() == 40u; }));
  }
  for (int i = 0; i < 20; ++i) {
    auto id = "c" + std::to_string(i);
    EXPECT_TRUE(outcomes[id]) << id;
    EXPECT_FALSE(outcomes["dup" + id]) << id;
    EXPECT_TRUE(st_->find_outbox("app1", "d" + id));
    EXPECT_FALSE(st_->find_outbox("app1", "dup" + id));
  }
  // Two updates from the same version: one wins and writes its entry; the other writes nothing.
  auto c = call("c0");
  c.version = 2;
  c.state = call_state::accepted;
  auto d = c;
  d.state = call_state::ended;
  st_->update_call_batched(c, {entry("u1", "c0", 10)}, record("u1"));
  st_->update_call_batched(d, {entry("u2", "c0", 10)}, record("u2"));
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(
        told.wait_for(lock, std::chrono::seconds(20), [&] { return outcomes.size() == 42u; }));
  }
  EXPECT_TRUE(outcomes["u1"]);
  EXPECT_FALSE(outcomes["u2"]);
  EXPECT_TRUE(st_->find_outbox("app1", "u1"));
  EXPECT_FALSE(st_->find_outbox("app1", "u2"));
  EXPECT_EQ(st_->find_call("app1", "c0")->state, call_state::accepted);
}

TEST_P(outbox_store_test, leases_survive_a_restart_only_until_released) {
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  std::vector<outbox_entry> batch{entry("a1", "k", 10)};
  ASSERT_TRUE(st_->delete_user("app1", "alice", batch));
  ASSERT_EQ(claim(10).size(), 1u);
  st_.reset();  // the process dies with a1 in flight
  st_ = open_store();
  EXPECT_TRUE(claim(20).empty());
  ASSERT_TRUE(st_->release_outbox_leases());
  EXPECT_EQ(claim(20), std::vector<std::string>{"a1"});
}

TEST_P(outbox_store_test, a_dead_token_goes_with_the_outcome_and_follow_up_events) {
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

TEST_P(outbox_store_test, finished_entries_are_pruned_after_their_time) {
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

// ---- issue 11: ringing limits and sessions per user ----

call_record ringing_call(const std::string& id, const std::string& caller,
                         const std::string& callee) {
  call_record c;
  c.call_id = id;
  c.app_id = "app1";
  c.caller_id = caller;
  c.callee_id = callee;
  c.version = 1;
  return c;
}

// Dials racing through the group commit, many in one batch: exactly the limit ring.
TEST_P(store_test, concurrent_batched_dials_ring_exactly_up_to_the_limits) {
  std::mutex m;
  std::condition_variable told;
  std::map<std::string, std::optional<errc>> outcomes;
  auto dial = [&](const call_record& c, ringing_limits lim) {
    st_->create_call_batched(
        c, {},
        [&, id = c.call_id](result<void> r) {
          std::lock_guard lock(m);
          outcomes[id] = r ? std::nullopt : std::optional<errc>(r.error().code);
          told.notify_all();
        },
        lim);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i)
        dial(ringing_call("a" + std::to_string(t * 10 + i), "alice", "bob"), {3, 0});
    });
  for (auto& t : threads) t.join();
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(
        told.wait_for(lock, std::chrono::seconds(20), [&] { return outcomes.size() == 40u; }));
  }
  int rang = 0;
  for (const auto& [id, code] : outcomes) {
    if (!code)
      ++rang;
    else
      EXPECT_EQ(*code, errc::rate_limited) << id;
  }
  EXPECT_EQ(rang, 3);

  // The callee's limit counts every caller's calls (bob has 3 ringing already).
  EXPECT_TRUE(create_call_now(*st_, ringing_call("c1", "carol", "bob"), {}, {0, 4}));
  auto r = create_call_now(*st_, ringing_call("c2", "dave", "bob"), {}, {0, 4});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_call_state);
  EXPECT_FALSE(st_->find_call("app1", "c2"));  // nothing written

  // A call accepted stops counting: the next dial to bob rings.
  auto c1 = ringing_call("c1", "carol", "bob");
  c1.version = 2;
  c1.state = call_state::accepted;
  ASSERT_TRUE(*update_call_now(*st_, c1, {}));
  EXPECT_TRUE(create_call_now(*st_, ringing_call("c2", "dave", "bob"), {}, {0, 4}));
}

TEST_P(store_test, calls_left_ringing_count_after_a_reopen) {
  ASSERT_TRUE(create_call_now(*st_, ringing_call("c1", "alice", "bob"), {}, {2, 0}));
  ASSERT_TRUE(create_call_now(*st_, ringing_call("c2", "alice", "carol"), {}, {2, 0}));
  st_.reset();
  st_ = open_store();
  auto r = create_call_now(*st_, ringing_call("c3", "alice", "dave"), {}, {2, 0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::rate_limited);
}

TEST_P(store_test, a_session_past_the_users_limit_ends_the_oldest_and_says_which) {
  store_options o;
  o.max_sessions_per_user = 3;
  open_empty_with_apps(o);
  std::vector<std::string> ended;
  st_->on_sessions_ended(
      [&](const std::vector<std::string>& h) { ended.insert(ended.end(), h.begin(), h.end()); });
  ASSERT_TRUE(st_->create_user(user("app1", "alice")));
  ASSERT_TRUE(st_->create_user(user("app1", "bob")));
  std::vector<session_record> keys;
  for (int i = 0; i < 3; ++i) {
    keys.push_back(session("k" + std::to_string(i), "app1", "alice", session_source::jwt));
    ASSERT_TRUE(st_->create_session(keys.back()));
  }
  auto bobs = session("b0", "app1", "bob", session_source::jwt);
  ASSERT_TRUE(st_->create_session(bobs));
  EXPECT_TRUE(ended.empty());

  keys.push_back(session("k3", "app1", "alice", session_source::jwt));
  ASSERT_TRUE(st_->create_session(keys.back()));
  EXPECT_EQ(ended, std::vector<std::string>{"k0"});
  EXPECT_FALSE(found(keys[0]));
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(found(keys[static_cast<std::size_t>(i)])) << i;
  EXPECT_TRUE(found(bobs));

  // Ended sessions do not count: a deauthenticated one frees its place.
  ASSERT_TRUE(st_->delete_session(keys[1]));
  keys.push_back(session("k4", "app1", "alice", session_source::jwt));
  ASSERT_TRUE(st_->create_session(keys.back()));
  EXPECT_EQ(ended.size(), 1u);
  // Nor does an expired one.
  ended.clear();
  auto expired = session("k5", "app1", "alice", session_source::jwt);
  expired.created_at = 100;
  ASSERT_TRUE(st_->update_session(keys[2], session_source::jwt, 50));
  ASSERT_TRUE(st_->create_session(expired));
  EXPECT_TRUE(ended.empty());

  // After a reopen the count is the table's: the next one ends the oldest live one (k3), by
  // the batched path too.
  st_.reset();
  st_ = open_store(o);
  st_->on_sessions_ended(
      [&](const std::vector<std::string>& h) { ended.insert(ended.end(), h.begin(), h.end()); });
  std::promise<result<void>> told;
  auto k6 = session("k6", "app1", "alice", session_source::jwt);
  k6.created_at = 100;
  st_->create_session_batched(k6, std::nullopt, [&](result<void> r) { told.set_value(r); });
  ASSERT_TRUE(told.get_future().get());
  EXPECT_EQ(ended, std::vector<std::string>{"k3"});
  EXPECT_FALSE(found(keys[3]));
  EXPECT_TRUE(found(keys[4]));
  EXPECT_TRUE(found(k6));
}

}  // namespace
}  // namespace parley::store
