#pragma once
// What the push providers share: one notification for one device token, and how a provider's
// answer is read.

#include "common/clock.hpp"
#include "common/enum_names.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::services::push {

// The kinds of device token a user registers (protocol.md, "Push tokens"); the names are the
// protocol's `type`. Which provider a token goes to also depends on the app's settings (an
// app with only a push gateway gets every token there).
enum class token_type : std::uint8_t { apns, apns_voip, fcm };
BOOST_DESCRIBE_ENUM(token_type, apns, apns_voip, fcm)

// One push to one token. `parley_json` is the serialized `parley` object of protocol.md
// ("Push notifications"); providers wrap it in their own envelope.
struct push_message {
  std::string event_id;    // the outbox entry's id; used as apns-id material / for logs
  std::string user_id;     // whose token it is (the push gateway is told)
  std::string token_type;  // "apns", "apns_voip" or "fcm"
  std::string token;
  std::string parley_json;
  bool cancel = false;  // a call_cancel push (else incoming_call)
  bool is_video = false;
  std::string title;        // caller's nickname, or user id when it has none (alert pushes)
  std::string collapse_id;  // the call id
  millis expires_at = 0;    // after this the push is useless (incoming: ringing deadline)
  millis created_at = 0;    // when the change that queued it happened (the gateway's occurred_at)
};

enum class push_outcome {
  delivered,
  retry,           // 429, 5xx, transport error: try again later (retry_after_s when given)
  unregistered,    // the token is dead (APNs 410 / BadDeviceToken, FCM UNREGISTERED): delete it
  reauthenticate,  // the provider token was refused (APNs ExpiredProviderToken, FCM 401): renew,
                   // retry
  rejected,        // any other refusal: do not retry
};

struct classified {
  push_outcome outcome = push_outcome::rejected;
  std::optional<int> retry_after_s;  // from Retry-After (seconds or HTTP date)
  std::string reason;                // provider's reason, for logs and push.failed
};

// Everything outside RFC 3986's unreserved set percent-encoded: safe for a path segment (a
// device token in the APNs path) and for application/x-www-form-urlencoded values alike.
std::string percent_encode(std::string_view s);
// A base URL without its trailing slashes, ready for a path to be appended.
std::string without_trailing_slash(std::string url);

// No answer (0), 429 or 5xx: worth trying again later, for every push provider.
inline bool retryable_status(int status) {
  return status == 0 || status == 429 || (status >= 500 && status <= 599);
}

// Retry-After as seconds from `now_s` (unix seconds): delta-seconds or an HTTP date.
std::optional<int> parse_retry_after(std::string_view value, std::int64_t now_s);

}  // namespace parley::services::push
