// The auth service on a real SQLite store: authentication through its live path (the session
// committed by the group commit), its refusals, and deauthentication closing the session's
// live connections itself, as revocation does.
#include "services/auth_service.hpp"

#include "service_fixture.hpp"

#include <string>

namespace parley::services {
namespace {

class auth_service_test : public testing::service_fixture {
 protected:
  std::uint64_t auth_count(const std::string& outcome) {
    return stats_.auth_total.value({outcome});
  }
};

TEST_F(auth_service_test, an_access_token_becomes_a_session_that_verifies) {
  auto token = add_user("alice");
  auto a = authenticate({.user_id = "alice", .access_token = token});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->user.user_id, "alice");
  EXPECT_FALSE(a->session_expires_at);
  auto s = auth_->verify(a->session_key, now_);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->session.user_id, "alice");
  EXPECT_EQ(s->session.device_id, "dev-1");
  EXPECT_EQ(s->session.source, store::session_source::access_token);
  EXPECT_EQ(auth_count("success"), 1u);
}

TEST_F(auth_service_test, without_a_device_id_the_session_has_none) {
  auto token = add_user("alice");
  auto a = authenticate({.user_id = "alice", .access_token = token}, std::nullopt);
  ASSERT_TRUE(a);
  EXPECT_EQ(auth_->verify(a->session_key, now_)->session.device_id, "");
}

TEST_F(auth_service_test, an_empty_device_id_is_refused_before_anything_is_written) {
  auto token = add_user("alice");
  auto a = authenticate({.user_id = "alice", .access_token = token}, "");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, errc::invalid_request);
  EXPECT_EQ(a.error().field, "device_id");
  EXPECT_EQ(a.error().message, "device_id must be 1 to 64 bytes");
  EXPECT_EQ(auth_count("invalid_request"), 1u);
  EXPECT_EQ(auth_count("success"), 0u);
}

TEST_F(auth_service_test, refusals_name_what_was_wrong) {
  auto token = add_user("alice");
  auto code = [&](const credentials& c) {
    auto a = authenticate(c);
    return a ? errc::internal : a.error().code;
  };
  EXPECT_EQ(code({.user_id = "not valid", .access_token = token}), errc::invalid_request);
  EXPECT_EQ(code({.user_id = "alice"}), errc::invalid_request);
  EXPECT_EQ(code({.user_id = "alice", .access_token = token, .jwt = "x"}), errc::invalid_request);
  EXPECT_EQ(code({.user_id = "alice", .access_token = "wrong"}), errc::invalid_credentials);
  EXPECT_EQ(code({.user_id = "nobody", .access_token = token}), errc::invalid_credentials);
  // Three failures for alice (the fixture's limit): the right token is refused too.
  EXPECT_EQ(code({.user_id = "alice", .access_token = "wrong"}), errc::invalid_credentials);
  EXPECT_EQ(code({.user_id = "alice", .access_token = "wrong"}), errc::invalid_credentials);
  EXPECT_EQ(code({.user_id = "alice", .access_token = token}), errc::rate_limited);
}

TEST_F(auth_service_test, deauthentication_ends_the_session_and_closes_its_connections) {
  auto token = add_user("alice");
  auto ended = session_of("alice", token, "dev-1");
  auto other = session_of("alice", token, "dev-2");
  auto ended_conn = connect(ended, "dev-1");
  auto other_conn = connect(other, "dev-2");

  ASSERT_TRUE(auth_->deauthenticate(ended.session));

  EXPECT_EQ(ended_conn->closes_copy(), std::vector<int>{close_code::deauthenticated});
  EXPECT_TRUE(other_conn->closes_copy().empty());
  EXPECT_EQ(hub_.size(), 1u);
  auto key_hash = ended.session.key_hash;
  EXPECT_FALSE(st_->find_session(ended.session.id, key_hash, nullptr));
  EXPECT_TRUE(st_->find_session(other.session.id, other.session.key_hash, nullptr));
}

TEST_F(auth_service_test, the_admin_token_is_compared_and_failures_are_limited) {
  const std::string configured = "admin-token-0123456789";
  EXPECT_TRUE(auth_->admin_attempt(configured, configured, "192.0.2.9", now_));
  for (int i = 0; i < 5; ++i) {
    auto r = auth_->admin_attempt("wrong", configured, "192.0.2.9", now_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::unauthorized);
  }
  EXPECT_EQ(auth_->admin_attempt("", configured, "192.0.2.10", now_).error().code,
            errc::unauthorized);
  // The limited address is refused even with the right token; another address is not.
  auto limited = auth_->admin_attempt(configured, configured, "192.0.2.9", now_);
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, errc::rate_limited);
  EXPECT_GE(limited.error().retry_after_s, 1);
  EXPECT_TRUE(auth_->admin_attempt(configured, configured, "192.0.2.10", now_));
}

}  // namespace
}  // namespace parley::services
