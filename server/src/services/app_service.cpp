#include "services/app_service.hpp"

#include "common/crypto.hpp"
#include "common/enum_names.hpp"
#include "outbound/url_policy.hpp"
#include "services/limits.hpp"
#include "services/push/signing.hpp"

#include <charconv>

namespace parley::services {

result<new_app> app_service::create(const std::string& name, millis now) {
  if (name.empty() || name.size() > limits::app_name_bytes)
    return fail(errc::invalid_request, "name must be 1 to 128 bytes", "name");
  new_app out{crypto::uuid_v4(), name, crypto::new_secret(), crypto::new_secret(), now};
  store::app_record rec;
  rec.app_id = out.app_id;
  rec.name = name;
  rec.api_token_hash = crypto::sha256_hex(out.api_token);
  rec.signing_secret = out.signing_secret;
  rec.created_at = now;
  rec.settings.webhook_secret = new_webhook_secret();
  if (auto r = store_.create_app(rec); !r) return r.error();
  return out;
}

std::string new_webhook_secret() {
  return "whsec_" + crypto::new_secret();
}

namespace {

// The bounds of the numeric settings (protocol.md, "Settings"), checked in this order.
struct setting_bound {
  const char* name;
  int lo, hi;
  std::optional<std::int64_t> settings_patch::*given;
  int store::app_settings::*slot;
};
constexpr setting_bound setting_bounds[] = {
    {"ringing_timeout_s", 10, 180, &settings_patch::ringing_timeout_s,
     &store::app_settings::ringing_timeout_s},
    {"connection_timeout_s", 5, 120, &settings_patch::connection_timeout_s,
     &store::app_settings::connection_timeout_s},
    {"reconnect_grace_s", 0, 120, &settings_patch::reconnect_grace_s,
     &store::app_settings::reconnect_grace_s},
    {"max_ringing_per_caller", 1, 1000, &settings_patch::max_ringing_per_caller,
     &store::app_settings::max_ringing_per_caller},
    {"max_ringing_per_callee", 1, 1000, &settings_patch::max_ringing_per_callee,
     &store::app_settings::max_ringing_per_callee},
};

// A URL the server will POST to on the app's behalf; `name` is how its message calls it, `field`
// its path in the request. What can be refused before any request is refused here
// (outbound/url_policy.hpp: userinfo, localhost, private and link-local literals in any numeric
// form); a DNS name is checked again at each connection by the outbound client.
result<void> check_url(const std::string& url, const std::string& name, const std::string& field,
                       const outbound::address_policy& policy) {
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    return fail(errc::invalid_request, name + " must be an http or https URL", field);
  if (auto why = outbound::refuse_url(url, name, policy))
    return fail(errc::invalid_request, *why, field);
  return {};
}

// The URLs and keys of a patch (the numbers are checked apart), in the order of the request's
// fields, so the first bad one is named as when the API layer checked them while reading.
result<void> check_urls_and_keys(const settings_patch& patch,
                                 const outbound::address_policy& policy) {
  if (patch.webhook_url && *patch.webhook_url)
    if (auto r = check_url(**patch.webhook_url, "webhook_url", "webhook_url", policy); !r) return r;
  if (patch.push_apns && *patch.push_apns)
    if (auto r = push::check_ec_p256_key((*patch.push_apns)->private_key, "push.apns.private_key");
        !r)
      return r;
  if (patch.push_fcm && *patch.push_fcm) {
    const std::string at = "push.fcm.service_account";
    const auto& f = **patch.push_fcm;
    if (auto r = push::check_rsa_key(f.private_key, at + ".private_key"); !r) return r;
    if (f.token_uri)
      if (auto r = check_url(*f.token_uri, "token_uri", at + ".token_uri", policy); !r) return r;
  }
  if (patch.push_webhook_url && *patch.push_webhook_url)
    if (auto r = check_url(**patch.push_webhook_url, "url", "push.webhook.url", policy); !r)
      return r;
  return {};
}

// Sets `slot` when the patch holds it: to its value, or clears it.
template <class T>
void apply(const settings_patch::clearable<T>& given, std::optional<T>& slot) {
  if (given) slot = *given;
}

store::fcm_settings to_settings(const fcm_account& a) {
  return {a.project_id, a.client_email, a.private_key_id, a.private_key, a.token_uri.value_or("")};
}

}  // namespace

result<store::app_settings> app_service::update_settings(const store::app_record& app,
                                                         const settings_patch& patch, millis now) {
  if (auto r = check_urls_and_keys(patch, outbound_); !r) return r.error();
  auto s = app.settings;
  for (const auto& b : setting_bounds) {
    const auto& v = patch.*b.given;
    if (!v) continue;
    if (*v < b.lo || *v > b.hi)
      return fail(
          errc::invalid_request,
          std::string(b.name) + " must be " + std::to_string(b.lo) + " to " + std::to_string(b.hi),
          b.name);
    s.*b.slot = static_cast<int>(*v);
  }
  apply(patch.webhook_url, s.webhook_url);
  apply(patch.push_apns, s.push.apns);
  if (patch.push_fcm) {
    s.push.fcm.reset();
    if (*patch.push_fcm) s.push.fcm = to_settings(**patch.push_fcm);
  }
  apply(patch.push_webhook_url, s.push.webhook_url);
  if (auto r = store_.set_settings(app.app_id, s); !r) return r.error();
  const auto& old = app.settings;
  // Best effort: if this fails the entries are still given up, at their next turn.
  if (old.webhook_url && !s.webhook_url)
    (void)store_.make_outbox_due(app.app_id, store::outbox_kind::webhook, now);
  if ((old.push.webhook_url && !s.push.webhook_url) || (old.push.apns && !s.push.apns) ||
      (old.push.fcm && !s.push.fcm))
    (void)store_.make_outbox_due(app.app_id, store::outbox_kind::push, now);
  return s;
}

result<std::string> app_service::rotate_webhook_secret(const std::string& app_id) {
  auto app = store_.find_app(app_id);
  if (!app) return app.error();
  auto s = app->settings;
  s.webhook_secret = new_webhook_secret();
  if (auto r = store_.set_settings(app_id, s); !r) return r.error();
  return s.webhook_secret;
}

result<delivery_page> app_service::list_deliveries(const std::string& app_id,
                                                   const std::string& state, int limit,
                                                   const std::string& cursor) {
  if (auto r = check_page_limit(limit); !r) return r.error();
  std::optional<store::delivery_state> st;
  if (!state.empty()) {
    st = from_string<store::delivery_state>(state);
    if (!st)
      return fail(errc::invalid_request, "state must be pending, delivered or failed", "state");
  }
  // The cursor is the last delivery's sequence number.
  std::int64_t after = 0;
  if (!cursor.empty()) {
    auto key = decode_cursor(cursor);
    if (!key) return key.error();
    auto [p, ec] = std::from_chars(key->data(), key->data() + key->size(), after);
    if (ec != std::errc() || p != key->data() + key->size() || after < 0) return bad_cursor();
  }
  auto rows = store_.list_outbox(app_id, store::outbox_kind::webhook, st, after, limit + 1);
  if (!rows) return rows.error();
  delivery_page page;
  page.deliveries = std::move(*rows);
  page.next =
      trim_page(page.deliveries, limit, [](const auto& d) { return std::to_string(d.seq); });
  return page;
}

result<store::outbox_entry> app_service::retry_delivery(const std::string& app_id,
                                                        const std::string& event_id, millis now,
                                                        millis give_up_ms) {
  if (!crypto::is_uuid_v4(event_id)) return fail(errc::not_found, "event_not_found");
  auto found = store_.find_outbox(app_id, event_id);
  if (!found) return found.error();
  if (found->kind != store::outbox_kind::webhook) return fail(errc::not_found, "event_not_found");
  return store_.retry_outbox(app_id, event_id, now, now + give_up_ms);
}

result<std::vector<store::app_record>> app_service::list() {
  return store_.list_apps();
}

result<std::string> app_service::rotate_token(const std::string& app_id) {
  auto token = crypto::new_secret();
  if (auto r = store_.set_app_token_hash(app_id, crypto::sha256_hex(token)); !r) return r.error();
  return token;
}

result<void> app_service::remove(const std::string& app_id) {
  if (auto r = store_.delete_app(app_id); !r) return r.error();
  if (hub_) hub_->close_app(app_id, close_code::session_invalid, "app deleted");
  // Its calls' rows went with it: none is kept open any more.
  if (calls_) calls_->app_removed(app_id);
  return {};
}

result<store::app_record> app_service::authorize(const std::string& app_id,
                                                 std::string_view api_token) {
  auto unauthorized = fail(errc::unauthorized, "missing or wrong Api-Token");
  if (api_token.empty() || api_token.size() > limits::token_bytes) return unauthorized;
  auto app = store_.find_app(app_id);
  if (!app) {
    if (app.error().code == errc::not_found) return unauthorized;
    return app.error();
  }
  if (!crypto::constant_time_equal(crypto::sha256_hex(api_token), app->api_token_hash))
    return unauthorized;
  return app;
}

}  // namespace parley::services
