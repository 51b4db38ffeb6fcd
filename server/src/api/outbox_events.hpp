#pragma once
// The bodies of webhooks and pushes (docs/protocol.md, "Push notifications and webhooks"):
// the outbox entries a change queues, built here because this layer owns the wire format.

#include "services/outbox.hpp"

namespace parley::api {

class outbox_events final : public services::outbox_composer {
 public:
  // `webhook_give_up_ms`: how long a webhook is retried (--webhook-give-up-s).
  explicit outbox_events(millis webhook_give_up_ms) : webhook_give_up_ms_(webhook_give_up_ms) {}

  std::vector<store::outbox_entry> call_dialed(
      const store::app_record& app, const store::call_record& call,
      const std::string& caller_nickname,
      const std::vector<store::push_token_record>& callee_tokens, millis now) override;
  std::vector<store::outbox_entry> call_changed(
      const store::app_record& app, const store::call_record& before,
      const store::call_record& after, const std::vector<store::push_token_record>& callee_tokens,
      millis now) override;
  std::vector<store::outbox_entry> user_deleted(const store::app_record& app,
                                                const std::string& user_id, millis now) override;
  std::vector<store::outbox_entry> push_failed(const store::app_record& app,
                                               const store::outbox_entry& push,
                                               const std::string& reason, millis now) override;

 private:
  millis webhook_give_up_ms_;
};

}  // namespace parley::api
