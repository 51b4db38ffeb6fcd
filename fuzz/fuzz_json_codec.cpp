// The JSON codec (api/json_codec) and the handlers that decode JSON bodies. The first byte of
// an input picks a route that takes a body; the rest is the JSON text.
//
// Invariants (abort on violation):
// - parse_object accepts exactly what it accepts with empty_ok, except the empty text; every
//   refusal is invalid_request;
// - what it accepts serializes to JSON that parses back to an equal object (doubles within
//   a few ulps: Boost.JSON 1.81's parser does not round long decimals exactly, so the
//   shortest form of a double may parse to its neighbour);
// - the typed accessors never return a value that breaks their contract (string length, map
//   size, key and value lengths), and fail with invalid_request naming the field;
// - a body handler never answers 500: a bad body is a 4xx with the error body of protocol.md,
//   whose code is one of the error table's.
#include "api/json_codec.hpp"
#include "services/limits.hpp"
#include "world.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string_view>

namespace {

namespace api = parley::api;
namespace json = boost::json;
using parley::errc;

// The router's answer: now, or the one a deferred route gives later (from the store's thread).
api::http_response answer(api::http_api& http, const api::http_request& req) {
  auto later = std::make_shared<std::promise<api::http_response>>();
  auto given = later->get_future();
  if (auto now = http.handle(req, [later](api::answer_maker make) { later->set_value(make()); }))
    return std::move(*now);
  return given.get();
}

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_json_codec invariant violated: %s\n", what);
  std::abort();
}

// Equal, doubles within a relative 1e-15 (a few ulps).
bool near_equal(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    double x = a.get_double(), y = b.get_double();
    return x == y || std::fabs(x - y) <= 1e-15 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &p = a.get_array(), &q = b.get_array();
    if (p.size() != q.size()) return false;
    for (std::size_t i = 0; i < p.size(); ++i)
      if (!near_equal(p[i], q[i])) return false;
    return true;
  }
  if (a.is_object()) {
    const auto &p = a.get_object(), &q = b.get_object();
    if (p.size() != q.size()) return false;
    for (const auto& kv : p) {
      auto other = q.if_contains(kv.key());
      if (!other || !near_equal(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

template <class R>
void check_failure(const R& r, std::string_view field) {
  if (r) return;
  check(r.error().code == errc::invalid_request, "an accessor failed with another code");
  check(r.error().field == field, "an accessor's failure does not name the field");
}

void accessors(const json::object& o, std::string_view key) {
  for (std::size_t max : {std::size_t{0}, std::size_t{8}, std::size_t{64}}) {
    auto s = api::opt_string(o, key, max);
    check_failure(s, key);
    if (s && *s) check((*s)->size() <= max, "opt_string returned a string over its limit");
    auto r = api::req_string(o, key, max);
    check_failure(r, key);
    check(bool(r) == bool(s && *s), "req_string and opt_string disagree");
  }
  check_failure(api::opt_bool(o, key), key);
  check_failure(api::opt_int(o, key), key);
  auto m = api::opt_string_map(o, key);
  check_failure(m, key);
  if (m && *m) {
    check((*m)->size() <= parley::limits::map_pairs, "opt_string_map: too many pairs");
    for (const auto& [k, v] : **m)
      check(!k.empty() && k.size() <= parley::limits::map_string_bytes &&
                v.size() <= parley::limits::map_string_bytes,
            "opt_string_map: a key or value over its limit");
  }
}

struct body_route {
  const char* method;
  const char* target;
  enum { platform, admin, none } auth;
};
constexpr body_route routes[] = {
    {"POST", "/v1/apps/$APP_ID/users", body_route::platform},
    {"PATCH", "/v1/apps/$APP_ID/users/alice", body_route::platform},
    {"PATCH", "/v1/apps/$APP_ID/settings", body_route::platform},
    {"POST", "/v1/apps/$APP_ID/users/bob/session_tokens", body_route::platform},
    {"POST", "/v1/apps/$APP_ID/auth", body_route::none},
    {"POST", "/admin/v1/apps", body_route::admin},
};

bool known_code(std::string_view code) {
  for (int e = 0; e <= static_cast<int>(errc::unavailable); ++e)
    if (parley::code_name(static_cast<errc>(e)) == code) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto o = api::parse_object(text);
  auto e = api::parse_object(text, true);
  if (text.empty())
    check(e && e->empty(), "empty text with empty_ok is not an empty object");
  else
    check(bool(o) == bool(e), "empty_ok changed the answer for a non-empty text");
  if (!o) {
    check(o.error().code == errc::invalid_request, "a refused text is not invalid_request");
  } else {
    auto again = api::parse_object(json::serialize(*o));
    check(again && near_equal(*again, *o), "serialize then parse does not give the same object");
    int n = 0;
    for (const auto& kv : *o) {
      if (++n > 32) break;
      accessors(*o, kv.key());
    }
    for (auto key : {"user_id", "nickname", "metadata", "custom_items", "is_video"})
      accessors(*o, key);
  }

  // The same text as the body of a route that decodes one.
  static parley::fuzz::world w("json");
  w.repair();
  const auto& route = routes[data[0] % std::size(routes)];
  api::http_request req;
  req.method = route.method;
  req.target = w.expand(route.target);
  req.body = w.expand(text);
  req.remote_address = "127.0.0.1";
  if (route.auth == body_route::platform) req.api_token = w.app.api_token;
  if (route.auth == body_route::admin) req.admin_token = w.ctx->config.admin_token;
  auto res = answer(*w.http, req);
  check(res.status != 500, "a body made the handler fail with 500 internal");
  if (res.status >= 400) {
    boost::system::error_code ec;
    auto body = json::parse(res.body, ec);
    check(!ec && body.is_object(), "an error answer is not a JSON object");
    auto err = body.as_object().if_contains("error");
    check(err && err->is_object(), "an error answer has no error object");
    auto code = err->as_object().if_contains("code");
    check(code && code->is_string() && known_code(code->as_string()),
          "an error code outside the error table");
  }
  return 0;
}
