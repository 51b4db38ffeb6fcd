#pragma once
// The app's own push gateway (`push.webhook.url` in the app's settings): Parley POSTs a signed
// push.send event and the app's backend relays it to the device however it likes.

#include "common/errors.hpp"
#include "outbound/http_client.hpp"
#include "services/push/push_types.hpp"

#include <string>

namespace parley::services::push {

struct gateway_credentials {
  std::string url;     // push.webhook.url
  std::string secret;  // the app's webhook_secret, which signs the body
  std::string app_id;
};

class gateway_client {
 public:
  // POST {url}, body {"event_id":msg.event_id,"event":"push.send","app_id":app_id,
  // "occurred_at":msg.created_at,"data":{"user_id","token_type","token","parley":{...}}} (parley
  // null when parley_json is not JSON); headers Content-Type application/json, Parley-Event-Id,
  // Parley-Event push.send and Parley-Signature (parley_signature at `now`). Any token type.
  result<outbound::request> build(const gateway_credentials& creds, const push_message& msg,
                                  millis now) const;
  // 2xx delivered; 410 unregistered (reason "Gone"); 429, 5xx, status 0: retry, with Retry-After
  // when given; other: rejected. reason "HTTP <status>", or the transport error for status 0.
  classified classify(const outbound::response& r) const;
};

}  // namespace parley::services::push
