#pragma once
// What goes into the outbox for each change: webhooks for the app's backend and pushes for the
// callee's devices. Services decide *when* (in the transaction of the change); the API layer,
// which owns the wire format, builds the bodies, so this is an interface.

#include "common/clock.hpp"
#include "store/call_record.hpp"
#include "store/records.hpp"

#include <string>
#include <vector>

namespace parley::services {

// Push payload kinds, the `event` of push outbox entries.
inline constexpr const char* push_incoming_event = "push.incoming_call";
inline constexpr const char* push_cancel_event = "push.call_cancel";

// Whether the app hears of anything through the outbox: a webhook URL or a push provider. When
// not, the call path skips the queries that only the outbox needs.
inline bool has_push_provider(const store::app_settings& s) {
  return s.push.apns || s.push.fcm || s.push.webhook_url;
}
inline bool uses_outbox(const store::app_settings& s) {
  return s.webhook_url || has_push_provider(s);
}

class outbox_composer {
 public:
  virtual ~outbox_composer() = default;
  // A call was dialed: direct_call.dial, and an incoming-call push per callee token.
  virtual std::vector<store::outbox_entry> call_dialed(
      const store::app_record& app, const store::call_record& call,
      const std::string& caller_nickname,
      const std::vector<store::push_token_record>& callee_tokens, millis now) = 0;
  // A call moved from `before` to `after`: direct_call.accept / direct_call.end, and a cancel
  // push per callee token when it stopped ringing.
  virtual std::vector<store::outbox_entry> call_changed(
      const store::app_record& app, const store::call_record& before,
      const store::call_record& after, const std::vector<store::push_token_record>& callee_tokens,
      millis now) = 0;
  virtual std::vector<store::outbox_entry> user_deleted(const store::app_record& app,
                                                        const std::string& user_id, millis now) = 0;
  // A push was given up: push.failed (none when the app has no webhook_url).
  virtual std::vector<store::outbox_entry> push_failed(const store::app_record& app,
                                                       const store::outbox_entry& push,
                                                       const std::string& reason, millis now) = 0;
};

}  // namespace parley::services
