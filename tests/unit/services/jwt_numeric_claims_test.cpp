// Regression tests for what fuzz_jwt found: numeric claims whose conversion to milliseconds was
// undefined behaviour (a double past the int64 range, integers near its limits). Each is now
// refused with invalid_credentials; before, the conversion's garbage decided (a `nbf` of 1e300
// let the token through).
#include "services/jwt.hpp"

#include "common/crypto.hpp"

#include <gtest/gtest.h>

namespace parley::services {
namespace {

constexpr millis now = 1'780'000'000'000;
const std::string secret = "fuzz-signing-secret-0123456789abcdefghijkl";
const std::string app = "app_fuzz";

std::string signed_token(const std::string& claims) {
  auto signing_input =
      crypto::base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + crypto::base64url(claims);
  return signing_input + "." + crypto::base64url(crypto::hmac_sha256(secret, signing_input));
}

std::string claims_with(const std::string& extra) {
  return R"({"sub":"alice","iss":"app_fuzz",)" + extra + "}";
}

void expect_refused(const std::string& claims) {
  auto r = verify_jwt(signed_token(claims), secret, app, now);
  ASSERT_FALSE(r) << claims << " was accepted";
  EXPECT_EQ(r.error().code, errc::invalid_credentials) << claims;
}

TEST(jwt_numeric_claims, exp_as_a_double_past_the_int64_range_is_refused) {
  // fuzz_jwt's input: the double-to-int64 conversion was undefined.
  expect_refused(claims_with(R"("exp":2363333333333333333333334904952.5)"));
  expect_refused(claims_with(R"("exp":-1e300)"));
}

TEST(jwt_numeric_claims, nbf_of_1e300_is_refused) {
  expect_refused(claims_with(R"("exp":1780003600,"nbf":1e300)"));
  expect_refused(claims_with(R"("exp":1780003600,"nbf":-1e300)"));
}

TEST(jwt_numeric_claims, integers_whose_milliseconds_overflow_are_refused) {
  expect_refused(claims_with(R"("exp":-9223372036854775807)"));
  expect_refused(claims_with(R"("exp":1780003600,"nbf":9223372036854775807)"));
  expect_refused(claims_with(R"("exp":1780003600,"nbf":-9223372036854775807)"));
  expect_refused(claims_with(R"("exp":18446744073709551615)"));
}

TEST(jwt_numeric_claims, ordinary_times_still_work) {
  auto ok = verify_jwt(signed_token(claims_with(R"("exp":1780003600,"nbf":1779999000)")), secret,
                       app, now);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->expires_at, 1'780'003'600'000);
}

}  // namespace
}  // namespace parley::services
