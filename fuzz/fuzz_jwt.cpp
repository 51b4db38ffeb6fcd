// JWT verification (services/jwt). Two ways in, picked by the first byte: the input as a whole
// token, or the input as claims (and a header) that the target signs with the app's secret, so
// that the fuzzer reaches the claim checks behind the signature.
//
// Invariants (abort on violation):
// - every refusal is invalid_credentials or token_expired;
// - an accepted token names a valid user id, expires after `now` minus the leeway and at most
//   24 h (plus the leeway) ahead, and was signed by this app: the same token with another
//   secret or for another app is refused;
// - verification is a pure function: the same token at the same time gives the same answer.
#include "common/crypto.hpp"
#include "services/jwt.hpp"
#include "services/limits.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using parley::errc;
namespace crypto = parley::crypto;

constexpr std::string_view secret = "fuzz-signing-secret-0123456789abcdefghijkl";
constexpr std::string_view app_id = "app_fuzz";
constexpr parley::millis now = 1'780'000'000'000;  // fixed: the fuzzer sees the same world
constexpr parley::millis leeway_ms = 60'000;
constexpr parley::millis day_ms = 24 * 3600 * 1000LL;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_jwt invariant violated: %s\n", what);
  std::abort();
}

void verify(const std::string& token) {
  auto r = parley::services::verify_jwt(token, secret, app_id, now);
  auto again = parley::services::verify_jwt(token, secret, app_id, now);
  check(bool(r) == bool(again), "the same token gave two answers");
  if (!r) {
    check(r.error().code == errc::invalid_credentials || r.error().code == errc::token_expired,
          "a refusal with a code other than invalid_credentials or token_expired");
    return;
  }
  check(parley::limits::valid_user_id(r->sub), "accepted a token whose sub is not a user id");
  check(r->expires_at > now - leeway_ms, "accepted a token expired beyond the leeway");
  check(r->expires_at <= now + day_ms + leeway_ms, "accepted a token living over 24 h");
  check(!parley::services::verify_jwt(token, "another-secret", app_id, now),
        "accepted a token with the wrong secret");
  check(!parley::services::verify_jwt(token, secret, "app_other", now),
        "accepted a token for another app");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    verify(std::string(in));
    return 0;
  }
  // "header\nclaims": signed here. Without a newline, the claims under a fixed HS256 header.
  std::string header = R"({"alg":"HS256","typ":"JWT"})";
  std::string_view claims = in;
  if (auto nl = in.find('\n'); nl != std::string_view::npos) {
    header = std::string(in.substr(0, nl));
    claims = in.substr(nl + 1);
  }
  auto signing_input = crypto::base64url(header) + "." + crypto::base64url(claims);
  verify(signing_input + "." + crypto::base64url(crypto::hmac_sha256(secret, signing_input)));
  return 0;
}
