#pragma once
// Operator actions on apps (CLI and admin API) and the check of an app's Api-Token that guards
// the Platform API.

#include "common/errors.hpp"
#include "outbound/address_policy.hpp"
#include "services/call_service.hpp"
#include "services/connection_hub.hpp"
#include "services/pagination.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::services {

// "whsec_" and 256 random bits.
std::string new_webhook_secret();

struct delivery_page {
  std::vector<store::outbox_entry> deliveries;
  std::optional<std::string> next;
};

// An FCM service account as the app hands it over.
struct fcm_account {
  std::string project_id;
  std::string client_email;
  std::string private_key_id;
  std::string private_key;               // RSA PEM
  std::optional<std::string> token_uri;  // absent: Google's
};

// A change of an app's settings, as read from the request: absent fields stay as they are.
// Its values are unchecked; app_service::update_settings checks them.
struct settings_patch {
  // Absent: unchanged; holding nullopt: removed.
  template <class T>
  using clearable = std::optional<std::optional<T>>;

  // Bounds in app_service::update_settings.
  std::optional<std::int64_t> ringing_timeout_s;
  std::optional<std::int64_t> connection_timeout_s;
  std::optional<std::int64_t> reconnect_grace_s;
  std::optional<std::int64_t> max_ringing_per_caller;
  std::optional<std::int64_t> max_ringing_per_callee;
  clearable<std::string> webhook_url;
  clearable<store::apns_settings> push_apns;
  clearable<fcm_account> push_fcm;
  clearable<std::string> push_webhook_url;
};

struct new_app {
  std::string app_id;
  std::string name;
  std::string api_token;       // shown once
  std::string signing_secret;  // shown once
  millis created_at = 0;
};

class app_service {
 public:
  // `hub` and `calls` may be null for the offline CLI (no live connections to close, no calls
  // kept open in memory). `outbound`: the addresses an app's URLs may name
  // (--allow-private-outbound), as the outbox worker's.
  app_service(store::store& st, connection_hub* hub, outbound::address_policy outbound = {},
              call_service* calls = nullptr)
      : store_(st), hub_(hub), outbound_(outbound), calls_(calls) {}

  result<new_app> create(const std::string& name, millis now);
  result<std::vector<store::app_record>> list();
  // Issues a new api token; the old one stops working at once.
  result<std::string> rotate_token(const std::string& app_id);
  // Deletes the app with all its users; its live connections close with 4001.
  result<void> remove(const std::string& app_id);

  // Applies `patch` to the settings of `app` (read before the change) and returns the settings
  // saved. invalid_request naming the field (its path in the request, e.g.
  // "push.fcm.service_account.private_key"), and then nothing is saved, for the first of:
  // - a URL (webhook_url, push.fcm.service_account.token_uri, push.webhook.url) that is not http
  //   or https or that outbound/url_policy.hpp refuses under the address policy;
  // - push.apns.private_key not an EC P-256 PEM private key, push.fcm.service_account's not an
  //   RSA one (push/signing.hpp);
  // - a number out of its bounds (seconds: ringing_timeout_s 10..180, connection_timeout_s
  //   5..120, reconnect_grace_s 0..120; calls: max_ringing_per_caller and
  //   max_ringing_per_callee 1..1000).
  // Pending deliveries whose receiver the change removed (webhook_url, a push provider) become
  // due now, so the delivery thread gives them up at once rather than retrying them for the
  // whole give-up period.
  result<store::app_settings> update_settings(const store::app_record& app,
                                              const settings_patch& patch, millis now);
  // A new webhook secret; deliveries from now on are signed with it.
  result<std::string> rotate_webhook_secret(const std::string& app_id);

  // Webhook deliveries, oldest first. `state`: "", "pending", "delivered" or "failed".
  // invalid_request for a limit outside 1..100 (field "limit"), another state (field "state"),
  // or a cursor this list did not issue (field "next").
  result<delivery_page> list_deliveries(const std::string& app_id, const std::string& state,
                                        int limit, const std::string& cursor);
  // Sends a delivery again as soon as possible, retried for `give_up_ms` from now.
  result<store::outbox_entry> retry_delivery(const std::string& app_id, const std::string& event_id,
                                             millis now, millis give_up_ms);

  // unauthorized unless `api_token` is the app's current token (constant-time compare of
  // hashes). An unknown app gives the same answer, so nothing about other apps leaks.
  result<store::app_record> authorize(const std::string& app_id, std::string_view api_token);

 private:
  store::store& store_;
  connection_hub* hub_;
  outbound::address_policy outbound_;
  call_service* calls_;
};

}  // namespace parley::services
