#include "services/jwt.hpp"

#include "common/crypto.hpp"

#include <gtest/gtest.h>

namespace parley::services {
namespace {

constexpr millis now = 1'800'000'000'000;
const std::string secret = "app-signing-secret";
const std::string app = "7208c82d-0304-4ae7-84ce-b31fa1580393";

std::string make(const std::string& header, const std::string& claims,
                 const std::string& key = secret) {
  auto signing_input = crypto::base64url(header) + "." + crypto::base64url(claims);
  return signing_input + "." + crypto::base64url(crypto::hmac_sha256(key, signing_input));
}

std::string claims(std::int64_t exp_s, const std::string& iss = app,
                   const std::string& sub = "alice") {
  return R"({"sub":")" + sub + R"(","iss":")" + iss + R"(","exp":)" + std::to_string(exp_s) + "}";
}

const std::string hs256 = R"({"alg":"HS256","typ":"JWT"})";

TEST(jwt, valid_token_gives_sub_and_expiry_in_ms) {
  auto r = verify_jwt(make(hs256, claims(now / 1000 + 3600)), secret, app, now);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->sub, "alice");
  EXPECT_EQ(r->expires_at, (now / 1000 + 3600) * 1000);
}

TEST(jwt, wrong_key_is_invalid_credentials) {
  auto r = verify_jwt(make(hs256, claims(now / 1000 + 3600), "other"), secret, app, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_credentials);
}

TEST(jwt, alg_none_is_refused) {
  auto token = crypto::base64url(R"({"alg":"none"})") + "." +
               crypto::base64url(claims(now / 1000 + 3600)) + ".";
  auto r = verify_jwt(token, secret, app, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_credentials);
}

TEST(jwt, other_algorithms_are_refused_even_if_signed_with_hmac) {
  auto r = verify_jwt(make(R"({"alg":"HS512"})", claims(now / 1000 + 3600)), secret, app, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_credentials);
}

TEST(jwt, token_of_another_app_is_refused) {
  auto r = verify_jwt(make(hs256, claims(now / 1000 + 3600, "other-app")), secret, app, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_credentials);
}

TEST(jwt, missing_exp_is_refused) {
  auto r = verify_jwt(make(hs256, R"({"sub":"alice","iss":")" + app + R"("})"), secret, app, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_credentials);
}

TEST(jwt, exp_more_than_24_hours_ahead_is_refused) {
  auto r = verify_jwt(make(hs256, claims(now / 1000 + 24 * 3600 + 120)), secret, app, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_credentials);
  EXPECT_TRUE(verify_jwt(make(hs256, claims(now / 1000 + 24 * 3600)), secret, app, now));
}

TEST(jwt, expiry_has_sixty_seconds_of_leeway) {
  EXPECT_TRUE(verify_jwt(make(hs256, claims(now / 1000 - 30)), secret, app, now));
  auto r = verify_jwt(make(hs256, claims(now / 1000 - 61)), secret, app, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::token_expired);
}

TEST(jwt, invalid_sub_is_refused) {
  auto r = verify_jwt(make(hs256, claims(now / 1000 + 60, app, "bad user")), secret, app, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_credentials);
}

TEST(jwt, garbage_never_crashes) {
  for (std::string t : {"", ".", "..", "a.b.c", "a.b", "a.b.c.d", "!!!.###.$$$",
                        "eyJhbGciOiJIUzI1NiJ9..", "e30.e30.e30"}) {
    auto r = verify_jwt(t, secret, app, now);
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error().code, errc::invalid_credentials) << t;
  }
}

}  // namespace
}  // namespace parley::services
