// The user service on a real SQLite store: the id and profile limits hold for any caller,
// deletion closes the user's connections and ends its calls, revocation closes the sessions it
// ends, and the user list pages without gaps with cursors it alone issues.
#include "services/user_service.hpp"

#include "service_fixture.hpp"
#include "waiting_calls.hpp"

#include "services/limits.hpp"

#include <string>

namespace parley::services {
namespace {

using testing::fake_connection;

class user_service_test : public testing::service_fixture {};

std::string field_of(const failure& f) {
  return f.field;
}

TEST_F(user_service_test, create_checks_the_user_id_and_the_profile_limits) {
  auto refused = [&](new_user u) {
    auto r = users_->create("app", u, now_);
    EXPECT_FALSE(r) << u.user_id;
    return r ? failure{} : r.error();
  };
  std::string longest(limits::user_id_bytes, 'a');
  ASSERT_TRUE(users_->create("app", {.user_id = longest}, now_));
  for (auto bad : {std::string(limits::user_id_bytes + 1, 'b'), std::string(), std::string("a b"),
                   std::string("a/b")}) {
    auto f = refused({.user_id = bad});
    EXPECT_EQ(f.code, errc::invalid_request);
    EXPECT_EQ(field_of(f), "user_id");
  }
  EXPECT_EQ(field_of(refused({.user_id = "n", .nickname = std::string(129, 'x')})), "nickname");
  EXPECT_EQ(field_of(refused({.user_id = "p", .profile_url = std::string(2049, 'x')})),
            "profile_url");
  store::string_map many;
  for (int i = 0; i < 17; ++i) many["k" + std::to_string(i)] = "v";
  EXPECT_EQ(field_of(refused({.user_id = "m", .metadata = many})), "metadata");
  for (auto id : {"n", "p", "m"}) EXPECT_FALSE(st_->find_user("app", id)) << id;
  EXPECT_EQ(users_->create("app", {.user_id = longest}, now_).error().code, errc::user_exists);
}

TEST_F(user_service_test, create_returns_the_user_as_stored_and_the_token_once) {
  auto plain = users_->create("app", {.user_id = "plain", .nickname = "Pat"}, 1234);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->access_token);
  EXPECT_FALSE(plain->user.access_token_hash);
  EXPECT_EQ(plain->user.nickname, "Pat");
  EXPECT_EQ(plain->user.created_at, 1234);

  auto with = users_->create("app", {.user_id = "with", .issue_access_token = true}, 1234);
  ASSERT_TRUE(with);
  ASSERT_TRUE(with->access_token);
  auto stored = st_->find_user("app", "with");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->access_token_hash, crypto::sha256_hex(*with->access_token));
  EXPECT_EQ(with->user.access_token_hash, stored->access_token_hash);
}

TEST_F(user_service_test, remove_closes_the_users_connections_and_ends_its_calls) {
  auto alice = session_of("alice", add_user("alice"));
  auto bob = session_of("bob", add_user("bob"));
  auto alice_conn = connect(alice);
  auto bob_conn = connect(bob);
  caller_context from{"app", "alice", "conn-a", "dev-1"};
  auto call = testing::waiting_calls(*calls_).dial(from, {"bob", false, {}}, now_);
  ASSERT_TRUE(call);

  ASSERT_TRUE(remove_user("alice", now_ + 1));

  EXPECT_EQ(alice_conn->closes_copy(), std::vector<int>{close_code::user_deleted});
  EXPECT_TRUE(bob_conn->closes_copy().empty());
  EXPECT_FALSE(st_->find_user("app", "alice"));
  // Ended at once, not after a reconnect grace; the call log stays.
  auto after = st_->find_call("app", call->call_id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->state, store::call_state::ended);
  EXPECT_EQ(after->result, store::end_result::connection_lost);
  EXPECT_EQ(after->ended_at, now_ + 1);
}

TEST_F(user_service_test, removing_an_unknown_user_closes_and_ends_nothing) {
  auto bob = session_of("bob", add_user("bob"));
  auto bob_conn = connect(bob);
  EXPECT_EQ(remove_user("nobody", now_).error().code, errc::not_found);
  EXPECT_EQ(remove_user("not a valid id", now_).error().code, errc::not_found);
  EXPECT_TRUE(bob_conn->closes_copy().empty());
}

TEST_F(user_service_test, revoking_the_access_token_closes_its_sessions_connections) {
  auto token = add_user("alice");
  auto by_token = connect(session_of("alice", token, "dev-1"), "dev-1");
  ASSERT_TRUE(users_->revoke_access_token("app", "alice"));
  EXPECT_EQ(by_token->closes_copy(), std::vector<int>{close_code::session_invalid});
}

TEST_F(user_service_test, the_demo_sign_in_creates_the_user_then_rotates_its_token) {
  auto first = users_->demo_access_token("app", "dana", now_);
  ASSERT_TRUE(first);
  auto u = st_->find_user("app", "dana");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->nickname, "dana");
  EXPECT_EQ(u->access_token_hash, crypto::sha256_hex(*first));
  auto again = users_->demo_access_token("app", "dana", now_);
  ASSERT_TRUE(again);
  EXPECT_NE(*again, *first);
  EXPECT_EQ(st_->find_user("app", "dana")->access_token_hash, crypto::sha256_hex(*again));
  EXPECT_EQ(users_->demo_access_token("app", "bad id", now_).error().field, "user_id");
}

// Pagination, shared with the other lists (services/pagination.hpp).

TEST_F(user_service_test, an_empty_list_is_one_empty_page_without_next) {
  auto page = users_->list("app", 20, "");
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->users.empty());
  EXPECT_FALSE(page->next);
}

TEST_F(user_service_test, an_exactly_full_page_has_no_next) {
  for (auto id : {"a", "b", "c"}) add_user(id);
  auto page = users_->list("app", 3, "");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->users.size(), 3u);
  EXPECT_FALSE(page->next);
}

TEST_F(user_service_test, pages_follow_each_other_without_gaps_in_id_order) {
  for (auto id : {"e", "a", "d", "b", "c"}) add_user(id);
  std::vector<std::string> seen;
  std::vector<std::size_t> sizes;
  std::string cursor;
  for (;;) {
    auto page = users_->list("app", 2, cursor);
    ASSERT_TRUE(page);
    sizes.push_back(page->users.size());
    for (auto& u : page->users) seen.push_back(u.user_id);
    if (!page->next) break;
    cursor = *page->next;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 2, 1}));
}

TEST_F(user_service_test, a_cursor_past_the_end_gives_an_empty_page) {
  for (auto id : {"a", "b"}) add_user(id);
  auto page = users_->list("app", 20, crypto::base64url("zzz"));
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->users.empty());
  EXPECT_FALSE(page->next);
}

TEST_F(user_service_test, a_cursor_it_did_not_issue_or_a_bad_limit_is_refused) {
  // Not base64url; base64url of a key that is no user id.
  for (std::string bad : {std::string("!!!"), crypto::base64url("not an id")}) {
    auto r = users_->list("app", 20, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, errc::invalid_request);
    EXPECT_EQ(r.error().field, "next");
  }
  for (int limit : {0, -1, 101}) {
    auto r = users_->list("app", limit, "");
    ASSERT_FALSE(r) << limit;
    EXPECT_EQ(r.error().field, "limit");
  }
  EXPECT_TRUE(users_->list("app", 1, ""));
  EXPECT_TRUE(users_->list("app", 100, ""));
}

}  // namespace
}  // namespace parley::services
