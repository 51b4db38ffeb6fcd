#include "services/push/apns.hpp"

#include "common/crypto.hpp"
#include "services/push/signing.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace parley::services::push {

namespace {

// APNs refuses provider tokens older than an hour and throttles renewals more frequent than
// every 20 minutes: 50 minutes sits between the two.
constexpr millis jwt_lifetime_ms = 50 * 60 * 1000;

std::string cache_key(const apns_credentials& creds) {
  return creds.key_id + '\n' + creds.team_id + '\n' + key_fingerprint(creds.private_key_pem);
}

// The "reason" of an APNs error body ({"reason": "BadDeviceToken"}), or empty.
std::string body_reason(const std::string& body) {
  if (body.empty()) return {};
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = 16;
  auto v = boost::json::parse(body, ec, {}, opt);
  if (ec || !v.is_object()) return {};
  auto r = v.as_object().if_contains("reason");
  if (r == nullptr || !r->is_string()) return {};
  return std::string(r->as_string());
}

}  // namespace

result<outbound::request> apns_client::build(const apns_credentials& creds,
                                             const std::string& base_url, const push_message& msg,
                                             millis now) {
  auto type = from_string<token_type>(msg.token_type);
  bool voip = type == token_type::apns_voip;
  if (!voip && type != token_type::apns)
    return fail(errc::invalid_request, "not an APNs token", "token_type");
  boost::system::error_code ec;
  auto parley = boost::json::parse(msg.parley_json, ec);
  if (ec || !parley.is_object()) return fail(errc::internal, "the parley object is not JSON");

  // The provider JWT, reused while it is younger than 50 minutes.
  auto key = cache_key(creds);
  auto cached = jwts_.find(key);
  if (cached == jwts_.end() || now - cached->second.issued_at >= jwt_lifetime_ms ||
      now < cached->second.issued_at) {
    auto jwt = apns_provider_jwt(creds.private_key_pem, creds.key_id, creds.team_id, now / 1000);
    if (!jwt) return jwt.error();
    cached = jwts_.insert_or_assign(key, cached_jwt{std::move(*jwt), now}).first;
  }

  // Push type and priority: VoIP pushes wake the app through PushKit; on a plain token an
  // incoming call is a visible alert and a cancel a silent background push, which APNs
  // requires to be sent at priority 5.
  bool background = !voip && msg.cancel;
  std::string push_type = voip ? "voip" : (msg.cancel ? "background" : "alert");
  boost::json::object body;
  if (!voip) {
    if (msg.cancel) {
      body["aps"] = boost::json::object{{"content-available", 1}};
    } else {
      body["aps"] = boost::json::object{
          {"alert",
           boost::json::object{{"title", msg.title},
                               {"body", msg.is_video ? "Incoming video call" : "Incoming call"}}},
          {"sound", "default"}};
    }
  }
  body["parley"] = std::move(parley);

  outbound::request r;
  r.method = "POST";
  r.url = without_trailing_slash(base_url) + "/3/device/" + percent_encode(msg.token);
  r.require_http2 = true;
  r.headers = {
      {"authorization", "bearer " + cached->second.jwt},
      {"apns-topic", voip ? creds.bundle_id + ".voip" : creds.bundle_id},
      {"apns-push-type", push_type},
      {"apns-priority", background ? "5" : "10"},
      {"apns-expiration", std::to_string(std::max<millis>(0, msg.expires_at / 1000))},
      {"content-type", "application/json"},
  };
  if (!msg.collapse_id.empty()) r.headers.emplace_back("apns-collapse-id", msg.collapse_id);
  // APNs echoes apns-id in its answer and logs; it must be a canonical UUID.
  if (crypto::is_uuid_v4(msg.event_id)) r.headers.emplace_back("apns-id", msg.event_id);
  r.body = boost::json::serialize(body);
  return r;
}

classified apns_client::classify(const outbound::response& r) const {
  classified c;
  c.reason = body_reason(r.body);
  if (c.reason.empty()) c.reason = r.status == 0 ? r.error : "HTTP " + std::to_string(r.status);
  if (auto ra = r.header("retry-after")) c.retry_after_s = parse_retry_after(*ra, now_ms() / 1000);

  if (r.status == 200) {
    c.outcome = push_outcome::delivered;
  } else if (r.status == 410 || (r.status == 400 && (c.reason == "BadDeviceToken" ||
                                                     c.reason == "DeviceTokenNotForTopic"))) {
    c.outcome = push_outcome::unregistered;
  } else if (r.status == 403 &&
             (c.reason == "ExpiredProviderToken" || c.reason == "InvalidProviderToken")) {
    c.outcome = push_outcome::reauthenticate;
  } else if (retryable_status(r.status)) {
    c.outcome = push_outcome::retry;
  } else {
    c.outcome = push_outcome::rejected;
  }
  return c;
}

void apns_client::invalidate(const apns_credentials& creds) {
  jwts_.erase(cache_key(creds));
}

}  // namespace parley::services::push
