#include "services/jwt.hpp"

#include "common/crypto.hpp"
#include "services/limits.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace parley::services {

namespace {
constexpr millis leeway_ms = 60'000;
constexpr millis max_lifetime_ms = 24 * 3600 * 1000LL;

failure bad(std::string why) {
  return fail(errc::invalid_credentials, std::move(why));
}

std::optional<boost::json::object> decode_part(std::string_view part) {
  auto raw = crypto::base64url_decode(part);
  if (!raw) return std::nullopt;
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = limits::json_depth;
  auto v = boost::json::parse(*raw, ec, {}, opt);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::optional<std::int64_t> number_claim(const boost::json::object& o, const char* name) {
  auto p = o.if_contains(name);
  if (!p) return std::nullopt;
  if (p->is_int64()) return p->as_int64();
  if (p->is_uint64()) return static_cast<std::int64_t>(p->as_uint64());
  if (p->is_double()) return static_cast<std::int64_t>(p->as_double());
  return std::nullopt;
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

  auto signature = crypto::base64url_decode(token.substr(dot2 + 1));
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
  auto exp = number_claim(*claims, "exp");
  if (!exp) return bad("the jwt has no exp");
  if (*exp > (now + max_lifetime_ms + leeway_ms) / 1000)
    return bad("the jwt exp is more than 24 hours ahead");
  if (auto nbf = number_claim(*claims, "nbf"); nbf && *nbf * 1000 > now + leeway_ms)
    return bad("the jwt is not valid yet");
  if (*exp * 1000 + leeway_ms <= now) return fail(errc::token_expired, "the jwt has expired");

  return jwt_claims{std::string(sub->as_string()), *exp * 1000};
}

}  // namespace parley::services
