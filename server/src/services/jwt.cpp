#include "services/jwt.hpp"

#include "common/crypto.hpp"
#include "services/limits.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace parley::services {

namespace {
constexpr millis leeway_ms = 60'000;
constexpr millis max_lifetime_ms = 24 * 3600 * 1000LL;

// NumericDate claims are whole seconds from 1970 to the end of 9999: a fraction, a negative
// value or one past that is refused rather than rounded or overflowed.
constexpr std::int64_t max_numeric_date = 253'402'300'799;

failure bad(std::string why) {
  return fail(errc::invalid_credentials, std::move(why));
}

// RFC 7515's base64url: the URL-safe alphabet, no padding, and the one canonical spelling of
// the bytes (unused low bits zero), so that a token has exactly one accepted form.
std::optional<std::string> strict_base64url(std::string_view part) {
  auto raw = crypto::base64url_decode(part);
  if (!raw || crypto::base64url(*raw) != part) return std::nullopt;
  return raw;
}

std::optional<boost::json::object> decode_part(std::string_view part) {
  auto raw = strict_base64url(part);
  if (!raw) return std::nullopt;
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = limits::json_depth;
  auto v = boost::json::parse(*raw, ec, {}, opt);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// A NumericDate claim: absent (nullopt), or an integer in 0..max_numeric_date, else a failure.
result<std::optional<std::int64_t>> date_claim(const boost::json::object& o, const char* name) {
  auto p = o.if_contains(name);
  if (!p) return std::optional<std::int64_t>();
  std::int64_t v = -1;
  if (p->is_int64()) v = p->as_int64();
  if (p->is_uint64() && p->as_uint64() <= static_cast<std::uint64_t>(max_numeric_date))
    v = static_cast<std::int64_t>(p->as_uint64());
  if (v < 0 || v > max_numeric_date)
    return bad(std::string("the jwt ") + name + " must be whole seconds from 1970 to 9999");
  return std::optional<std::int64_t>(v);
}
}  // namespace

result<jwt_claims> verify_jwt(std::string_view token, std::string_view signing_secret,
                              std::string_view app_id, millis now) {
  if (token.size() > limits::token_bytes) return bad("the jwt is too long");
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return bad("the jwt is malformed");
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return bad("the jwt is malformed");

  auto header = decode_part(token.substr(0, dot1));
  if (!header) return bad("the jwt header is malformed");
  // Only HS256: "none" and asymmetric algorithms are refused, so an attacker cannot pick one.
  auto alg = header->if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != "HS256")
    return bad("the jwt must be signed with HS256");

  auto signature = strict_base64url(token.substr(dot2 + 1));
  auto expected = crypto::hmac_sha256(signing_secret, token.substr(0, dot2));
  if (!signature || !crypto::constant_time_equal(*signature, expected))
    return bad("the jwt signature does not match");

  auto claims = decode_part(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims) return bad("the jwt claims are malformed");
  auto iss = claims->if_contains("iss");
  if (!iss || !iss->is_string() || iss->as_string() != app_id)
    return bad("the jwt iss is not this app");
  auto sub = claims->if_contains("sub");
  if (!sub || !sub->is_string() || !limits::valid_user_id(sub->as_string()))
    return bad("the jwt sub is not a valid user id");
  auto exp = date_claim(*claims, "exp");
  if (!exp) return exp.error();
  if (!*exp) return bad("the jwt has no exp");
  auto nbf = date_claim(*claims, "nbf");
  if (!nbf) return nbf.error();
  if (auto iat = date_claim(*claims, "iat"); !iat) return iat.error();
  if (**exp > (now + max_lifetime_ms + leeway_ms) / 1000)
    return bad("the jwt exp is more than 24 hours ahead");
  if (*nbf && **nbf * 1000 > now + leeway_ms) return bad("the jwt is not valid yet");
  // The session lasts until exp: a token at or past it would make a session born expired, so
  // it is refused (the leeway covers an issuer's clock ahead of ours, for nbf and the 24 h cap).
  if (**exp * 1000 <= now) return fail(errc::token_expired, "the jwt has expired");

  return jwt_claims{std::string(sub->as_string()), **exp * 1000};
}

}  // namespace parley::services
