#pragma once
// Apple Push Notification service over HTTP/2 with a provider JWT (token-based authentication).

#include "common/errors.hpp"
#include "outbound/http_client.hpp"
#include "services/push/push_types.hpp"

#include <map>
#include <string>

namespace parley::services::push {

struct apns_credentials {
  std::string private_key_pem;  // the .p8 key
  std::string key_id;
  std::string team_id;
  std::string bundle_id;
  bool sandbox = false;
};

class apns_client {
 public:
  // POST {base_url}/3/device/{token}. Headers: authorization "bearer <provider JWT>" (cached per
  // key_id+team_id, renewed after 50 minutes: APNs refuses tokens older than an hour and
  // renewals more often than every 20 minutes), apns-topic (bundle_id, or bundle_id + ".voip"
  // for apns_voip), apns-push-type (voip for apns_voip; alert for an incoming call on apns;
  // background for a cancel on apns), apns-priority (10; 5 for background), apns-expiration
  // (expires_at in unix seconds), apns-collapse-id (collapse_id). Body: apns_voip
  // {"parley":{...}}; apns incoming {"aps":{"alert":{"title":title,"body":"Incoming call" or
  // "Incoming video call"},"sound":"default"},"parley":{...}}; apns cancel
  // {"aps":{"content-available":1},"parley":{...}}. require_http2 is set.
  result<outbound::request> build(const apns_credentials& creds, const std::string& base_url,
                                  const push_message& msg, millis now);
  // 200 delivered; 410, or 400 with reason BadDeviceToken / DeviceTokenNotForTopic: unregistered;
  // 403 ExpiredProviderToken / InvalidProviderToken: reauthenticate; 429, 5xx, status 0: retry;
  // other: rejected. reason = the JSON body's "reason" when there is one.
  classified classify(const outbound::response& r) const;
  // Drops the cached provider JWT of these credentials (after reauthenticate).
  void invalidate(const apns_credentials& creds);

 private:
  struct cached_jwt {
    std::string jwt;
    millis issued_at = 0;
  };
  std::map<std::string, cached_jwt> jwts_;  // key: key_id + '\n' + team_id + '\n' + key fingerprint
};

}  // namespace parley::services::push
