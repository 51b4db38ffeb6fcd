#include "api/outbox_events.hpp"

#include "api/json_codec.hpp"
#include "common/crypto.hpp"
#include "services/push/push_job.hpp"

#include <boost/json.hpp>

namespace parley::api {

namespace json = boost::json;

namespace {

// A cancel push is worth sending for a few minutes; after that the device has learnt the end
// from its WebSocket or the ringing screen has timed out.
constexpr millis cancel_push_lifetime_ms = 5 * 60 * 1000;

void add_webhook(std::vector<store::outbox_entry>& out, const store::app_record& app,
                 const char* event, json::object data, const std::string& order_key, millis now,
                 millis give_up_ms) {
  if (!app.settings.webhook_url) return;
  store::outbox_entry e;
  e.event_id = crypto::uuid_v4();
  e.app_id = app.app_id;
  e.kind = store::outbox_kind::webhook;
  e.order_key = order_key.empty() ? e.event_id : order_key;
  e.event = event;
  e.payload = json::serialize(json::object{{"event_id", e.event_id},
                                           {"event", event},
                                           {"app_id", app.app_id},
                                           {"occurred_at", now},
                                           {"data", std::move(data)}});
  e.created_at = now;
  e.next_attempt_at = now;
  e.give_up_at = now + give_up_ms;
  out.push_back(std::move(e));
}

// One push per token. The payload, a push_job, keeps what the delivery thread needs besides the
// `parley` object: whom it is for, and the text of an alert.
void add_pushes(std::vector<store::outbox_entry>& out, const store::app_record& app,
                const store::call_record& call, const char* event, const json::object& parley,
                const std::string& title, const std::vector<store::push_token_record>& tokens,
                millis now, millis give_up_at) {
  if (!services::has_push_provider(app.settings)) return;
  auto parley_text = json::serialize(parley);
  for (const auto& t : tokens) {
    store::outbox_entry e;
    e.event_id = crypto::uuid_v4();
    e.app_id = app.app_id;
    e.kind = store::outbox_kind::push;
    // The cancel of a call waits for its incoming push to the same token.
    e.order_key = call.call_id + '\n' + t.type + '\n' + t.token;
    e.event = event;
    e.payload = services::push::encode_push_job(
        {call.callee_id, call.call_id, t.type, t.token, call.is_video, title, parley_text});
    e.created_at = now;
    e.next_attempt_at = now;
    e.give_up_at = give_up_at;
    out.push_back(std::move(e));
  }
}

}  // namespace

std::vector<store::outbox_entry> outbox_events::call_dialed(
    const store::app_record& app, const store::call_record& call,
    const std::string& caller_nickname, const std::vector<store::push_token_record>& callee_tokens,
    millis now) {
  std::vector<store::outbox_entry> out;
  add_webhook(out, app, "direct_call.dial", {{"call", to_json(call)}}, call.call_id, now,
              webhook_give_up_ms_);
  millis deadline = call.created_at + call.ringing_timeout_ms;
  json::object parley{{"type", "incoming_call"},
                      {"app_id", app.app_id},
                      {"call_id", call.call_id},
                      {"caller", {{"user_id", call.caller_id}, {"nickname", caller_nickname}}},
                      {"callee_id", call.callee_id},
                      {"is_video", call.is_video},
                      {"created_at", call.created_at},
                      {"ringing_deadline", deadline}};
  add_pushes(out, app, call, services::push_incoming_event, parley,
             caller_nickname.empty() ? call.caller_id : caller_nickname, callee_tokens, now,
             deadline);
  return out;
}

std::vector<store::outbox_entry> outbox_events::call_changed(
    const store::app_record& app, const store::call_record& before, const store::call_record& after,
    const std::vector<store::push_token_record>& callee_tokens, millis now) {
  using store::call_state;
  std::vector<store::outbox_entry> out;
  if (after.state == call_state::accepted && before.state == call_state::ringing)
    add_webhook(out, app, "direct_call.accept", {{"call", to_json(after)}}, after.call_id, now,
                webhook_give_up_ms_);
  if (after.state == call_state::ended)
    add_webhook(out, app, "direct_call.end", {{"call", to_json(after)}}, after.call_id, now,
                webhook_give_up_ms_);
  if (before.state == call_state::ringing && after.state != call_state::ringing) {
    std::string reason = after.state == call_state::ended ? std::string(to_string(after.result))
                                                          : std::string(other_device_accepted);
    json::object parley{{"type", "call_cancel"},
                        {"app_id", app.app_id},
                        {"call_id", after.call_id},
                        {"callee_id", after.callee_id},
                        {"reason", reason}};
    add_pushes(out, app, after, services::push_cancel_event, parley, {}, callee_tokens, now,
               now + cancel_push_lifetime_ms);
  }
  return out;
}

std::vector<store::outbox_entry> outbox_events::user_deleted(const store::app_record& app,
                                                             const std::string& user_id,
                                                             millis now) {
  std::vector<store::outbox_entry> out;
  add_webhook(out, app, "user.deleted", {{"user_id", user_id}}, "user\n" + user_id, now,
              webhook_give_up_ms_);
  return out;
}

std::vector<store::outbox_entry> outbox_events::push_failed(const store::app_record& app,
                                                            const store::outbox_entry& push,
                                                            const std::string& reason, millis now) {
  std::vector<store::outbox_entry> out;
  auto job = services::push::decode_push_job(push.payload);
  if (!job) return out;
  json::object data{{"call_id", job->call_id},
                    {"user_id", job->user_id},
                    {"token_type", job->token_type},
                    {"token", job->token},
                    {"reason", reason}};
  add_webhook(out, app, "push.failed", std::move(data), {}, now, webhook_give_up_ms_);
  return out;
}

}  // namespace parley::api
