#include "services/push/fcm.hpp"

#include "services/push/signing.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace parley::services::push {

namespace {

constexpr const char* default_token_uri = "https://oauth2.googleapis.com/token";
constexpr const char* jwt_bearer_grant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
// A token is used until a minute before Google says it expires, so one handed out never
// expires on the way to FCM.
constexpr millis token_margin_ms = 60'000;
constexpr std::int64_t default_expires_in_s = 3600;

std::string cache_key(const fcm_credentials& creds) {
  return creds.client_email + '\n' + creds.private_key_id;
}

std::optional<boost::json::object> parse_object(const std::string& body) {
  if (body.empty()) return std::nullopt;
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = 16;
  auto v = boost::json::parse(body, ec, {}, opt);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string string_member(const boost::json::object& o, const char* name) {
  auto p = o.if_contains(name);
  return p != nullptr && p->is_string() ? std::string(p->as_string()) : std::string();
}

std::optional<std::int64_t> number_member(const boost::json::object& o, const char* name) {
  auto p = o.if_contains(name);
  if (p == nullptr) return std::nullopt;
  if (p->is_int64()) return p->as_int64();
  if (p->is_uint64())
    return static_cast<std::int64_t>(std::min<std::uint64_t>(p->as_uint64(), 1u << 30));
  if (p->is_double()) return static_cast<std::int64_t>(p->as_double());
  return std::nullopt;
}

// What an FCM error body says: {"error": {"status": "NOT_FOUND", "details": [{"@type": ...,
// "errorCode": "UNREGISTERED"}]}}.
struct fcm_error {
  std::string status;
  std::string error_code;
};

fcm_error read_error(const std::string& body) {
  fcm_error out;
  auto o = parse_object(body);
  if (!o) return out;
  auto e = o->if_contains("error");
  if (e == nullptr || !e->is_object()) return out;
  out.status = string_member(e->as_object(), "status");
  auto details = e->as_object().if_contains("details");
  if (details != nullptr && details->is_array()) {
    for (const auto& d : details->as_array()) {
      if (!d.is_object()) continue;
      auto code = string_member(d.as_object(), "errorCode");
      if (!code.empty()) {
        out.error_code = std::move(code);
        break;
      }
    }
  }
  return out;
}

}  // namespace

result<std::string> fcm_client::access_token(outbound::http_transport& http,
                                             const fcm_credentials& creds,
                                             const std::string& oauth_url, millis now) {
  auto key = cache_key(creds);
  if (auto it = tokens_.find(key);
      it != tokens_.end() && now < it->second.expires_at - token_margin_ms)
    return it->second.token;

  // The assertion's audience is the endpoint it is posted to.
  std::string url = !oauth_url.empty()         ? oauth_url
                    : !creds.token_uri.empty() ? creds.token_uri
                                               : std::string(default_token_uri);
  auto assertion = google_oauth_assertion(creds.private_key_pem, creds.private_key_id,
                                          creds.client_email, fcm_scope, url, now / 1000);
  if (!assertion) return assertion.error();

  outbound::request r;
  r.method = "POST";
  r.url = url;
  r.headers = {{"content-type", "application/x-www-form-urlencoded"},
               {"accept", "application/json"}};
  r.body =
      "grant_type=" + percent_encode(jwt_bearer_grant) + "&assertion=" + percent_encode(*assertion);
  auto resp = http.perform(r);

  // Unreachable, overloaded or failing: try again later. A refusal (bad key, revoked account)
  // will not cure itself. 429 is a 4xx but means "later", not "never".
  if (resp.status == 0)
    return fail(errc::unavailable, "the OAuth token endpoint cannot be reached: " + resp.error);
  if (resp.status >= 500 || resp.status == 429)
    return fail(errc::unavailable,
                "the OAuth token endpoint answered " + std::to_string(resp.status));
  if (resp.status < 200 || resp.status > 299) {
    // Google's {"error": "invalid_grant", ...}: the code only, never the body.
    std::string why;
    if (auto o = parse_object(resp.body)) why = string_member(*o, "error");
    return fail(errc::invalid_credentials,
                "the OAuth token endpoint refused the service account (" +
                    std::to_string(resp.status) + (why.empty() ? "" : " " + why) + ")");
  }

  auto o = parse_object(resp.body);
  std::string token = o ? string_member(*o, "access_token") : std::string();
  if (token.empty())
    return fail(errc::unavailable, "the OAuth token endpoint answered without an access_token");
  auto expires_in = number_member(*o, "expires_in").value_or(default_expires_in_s);
  tokens_.insert_or_assign(key,
                           cached_token{token, now + std::max<std::int64_t>(0, expires_in) * 1000});
  return token;
}

result<outbound::request> fcm_client::build(const fcm_credentials& creds,
                                            const std::string& base_url,
                                            const std::string& access_token,
                                            const push_message& msg, millis now) const {
  if (from_string<token_type>(msg.token_type) != token_type::fcm)
    return fail(errc::invalid_request, "not an FCM token", "token_type");
  // FCM's TTL: how long to keep the message for an offline device. Past the ringing deadline a
  // call push is worthless; whole seconds, rounded down so it never outlives the deadline.
  millis ttl_s = std::max<millis>(0, msg.expires_at - now) / 1000;
  boost::json::object message{
      {"token", msg.token},
      // FCM data values are strings: the parley object travels serialized.
      {"data", boost::json::object{{"parley", msg.parley_json}}},
      {"android", boost::json::object{{"priority", "HIGH"}, {"ttl", std::to_string(ttl_s) + "s"}}}};

  outbound::request r;
  r.method = "POST";
  r.url = without_trailing_slash(base_url) + "/v1/projects/" + percent_encode(creds.project_id) +
          "/messages:send";
  r.headers = {{"authorization", "Bearer " + access_token},
               {"content-type", "application/json; charset=UTF-8"}};
  r.body = boost::json::serialize(boost::json::object{{"message", std::move(message)}});
  return r;
}

classified fcm_client::classify(const outbound::response& r) const {
  classified c;
  auto err = read_error(r.body);
  c.reason = !err.error_code.empty() ? err.error_code
             : !err.status.empty()   ? err.status
             : r.status == 0         ? r.error
                                     : "HTTP " + std::to_string(r.status);
  if (auto ra = r.header("retry-after")) c.retry_after_s = parse_retry_after(*ra, now_ms() / 1000);

  if (r.status == 200) {
    c.outcome = push_outcome::delivered;
  } else if (err.error_code == "UNREGISTERED" || err.status == "NOT_FOUND") {
    c.outcome = push_outcome::unregistered;
  } else if (r.status == 401) {
    c.outcome = push_outcome::reauthenticate;
  } else if (retryable_status(r.status)) {
    c.outcome = push_outcome::retry;
  } else {
    c.outcome = push_outcome::rejected;
  }
  return c;
}

void fcm_client::invalidate(const fcm_credentials& creds) {
  tokens_.erase(cache_key(creds));
}

}  // namespace parley::services::push
