#include "services/jwt.hpp"

#include "common/crypto.hpp"

#include <gtest/gtest.h>

#include <vector>

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

TEST(jwt, exp_already_past_is_token_expired_even_within_the_leeway) {
  EXPECT_TRUE(verify_jwt(make(hs256, claims(now / 1000 + 1)), secret, app, now));
  // Accepted, it would give a session that expired before it was made.
  for (std::int64_t exp : {now / 1000, now / 1000 - 30, now / 1000 - 61}) {
    auto r = verify_jwt(make(hs256, claims(exp)), secret, app, now);
    ASSERT_FALSE(r) << exp;
    EXPECT_EQ(r.error().code, errc::token_expired) << exp;
  }
}

std::string with(const std::string& extra, std::int64_t exp_s = now / 1000 + 3600) {
  return R"({"sub":"alice","iss":")" + app + R"(","exp":)" + std::to_string(exp_s) + extra + "}";
}

TEST(jwt, numeric_claims_must_be_whole_seconds_in_range) {
  EXPECT_TRUE(verify_jwt(make(hs256, with(R"(,"nbf":1000,"iat":1000)")), secret, app, now));
  for (std::string extra :
       {R"(,"nbf":1e300)", R"(,"nbf":-1e300)", R"(,"nbf":1.5)", R"(,"nbf":-5)", R"(,"iat":1e300)",
        R"(,"iat":"1000")", R"(,"nbf":18446744073709551615)", R"(,"iat":253402300800)"}) {
    auto r = verify_jwt(make(hs256, with(extra)), secret, app, now);
    ASSERT_FALSE(r) << extra;
    EXPECT_EQ(r.error().code, errc::invalid_credentials) << extra;
  }
  for (std::string exp : {"1.8e9", "1800003600.0", "-1", "\"1800003600\""}) {
    auto c = R"({"sub":"alice","iss":")" + app + R"(","exp":)" + exp + "}";
    auto r = verify_jwt(make(hs256, c), secret, app, now);
    ASSERT_FALSE(r) << exp;
    EXPECT_EQ(r.error().code, errc::invalid_credentials) << exp;
  }
}

TEST(jwt, every_part_must_be_unpadded_canonical_base64url) {
  auto good = make(hs256, claims(now / 1000 + 3600));
  ASSERT_TRUE(verify_jwt(good, secret, app, now));
  auto d1 = good.find('.'), d2 = good.rfind('.');
  std::vector<std::string> bad{good + "=", good + "==", good.substr(0, d1) + "=" + good.substr(d1),
                               good.substr(0, d2) + "=" + good.substr(d2)};
  // The signature's last character carries unused bits: flipping them spells the same bytes.
  auto sig = good.substr(d2 + 1);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto last = alphabet.find(sig.back());
  bad.push_back(good.substr(0, good.size() - 1) + alphabet[last ^ 1]);
  for (const auto& t : bad) {
    auto r = verify_jwt(t, secret, app, now);
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error().code, errc::invalid_credentials) << t;
  }
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
