#include "api/json_codec.hpp"

#include "services/limits.hpp"
#include "services/push/signing.hpp"

#include <boost/json/parse.hpp>

#include <cmath>

namespace parley::api {

namespace json = boost::json;

namespace {
// A number too large for a double parses as infinity, which Boost.JSON 1.81 serializes as
// `Infinity`: not JSON. Relayed as-is (the `data` of `signal`), it broke the peer's parser
// (found by fuzz_json_codec). Depth is bounded by the parse (32).
bool all_finite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return std::isfinite(v.get_double());
    case json::kind::array:
      for (const auto& e : v.get_array())
        if (!all_finite(e)) return false;
      return true;
    case json::kind::object:
      for (const auto& kv : v.get_object())
        if (!all_finite(kv.value())) return false;
      return true;
    default:
      return true;
  }
}
}  // namespace

result<json::object> parse_object(std::string_view text, bool empty_ok) {
  if (text.empty() && empty_ok) return json::object{};
  json::parse_options opt;
  opt.max_depth = limits::json_depth;
  boost::system::error_code ec;
  auto v = json::parse(text, ec, {}, opt);
  if (ec) {
    if (ec == json::error::too_deep)
      return fail(errc::invalid_request, "JSON is nested deeper than 32 levels");
    return fail(errc::invalid_request, "the body is not valid JSON: " + ec.message());
  }
  if (!v.is_object()) return fail(errc::invalid_request, "the body must be a JSON object");
  if (!all_finite(v))
    return fail(errc::invalid_request, "the body has a number too large for a double");
  return std::move(v.as_object());
}

namespace {
failure wrong_type(std::string_view name, std::string_view what) {
  return fail(errc::invalid_request, std::string(name) + " must be " + std::string(what),
              std::string(name));
}
}  // namespace

result<std::optional<std::string>> opt_string(const json::object& o, std::string_view name,
                                              std::size_t max_bytes) {
  auto p = o.if_contains(name);
  if (!p || p->is_null()) return std::optional<std::string>{};
  if (!p->is_string()) return wrong_type(name, "a string");
  if (p->as_string().size() > max_bytes)
    return wrong_type(name, "at most " + std::to_string(max_bytes) + " bytes");
  return std::optional<std::string>(std::string(p->as_string()));
}

result<std::string> req_string(const json::object& o, std::string_view name,
                               std::size_t max_bytes) {
  auto r = opt_string(o, name, max_bytes);
  if (!r) return r.error();
  if (!*r)
    return fail(errc::invalid_request, std::string(name) + " is required", std::string(name));
  return std::move(**r);
}

result<std::optional<bool>> opt_bool(const json::object& o, std::string_view name) {
  auto p = o.if_contains(name);
  if (!p || p->is_null()) return std::optional<bool>{};
  if (!p->is_bool()) return wrong_type(name, "true or false");
  return std::optional<bool>(p->as_bool());
}

result<std::optional<std::int64_t>> opt_int(const json::object& o, std::string_view name) {
  auto p = o.if_contains(name);
  if (!p || p->is_null()) return std::optional<std::int64_t>{};
  if (p->is_int64()) return std::optional<std::int64_t>(p->as_int64());
  if (p->is_uint64() && p->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return std::optional<std::int64_t>(static_cast<std::int64_t>(p->as_uint64()));
  return wrong_type(name, "an integer");
}

result<std::optional<store::string_map>> opt_string_map(const json::object& o,
                                                        std::string_view name) {
  auto p = o.if_contains(name);
  if (!p || p->is_null()) return std::optional<store::string_map>{};
  if (!p->is_object()) return wrong_type(name, "an object of strings");
  const auto& obj = p->as_object();
  if (obj.size() > limits::map_pairs) return wrong_type(name, "an object of at most 16 pairs");
  store::string_map m;
  for (const auto& kv : obj) {
    if (!kv.value().is_string()) return wrong_type(name, "an object of strings");
    if (kv.key().empty() || kv.key().size() > limits::map_string_bytes ||
        kv.value().as_string().size() > limits::map_string_bytes)
      return wrong_type(name, "an object whose keys are 1 to 128 bytes and values at most 128");
    m[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return std::optional<store::string_map>(std::move(m));
}

json::object to_json(const services::user& u) {
  json::object metadata;
  for (const auto& [k, v] : u.metadata) metadata[k] = v;
  return {{"user_id", u.user_id},         {"nickname", u.nickname},
          {"profile_url", u.profile_url}, {"metadata", std::move(metadata)},
          {"created_at", u.created_at},   {"has_access_token", u.has_access_token}};
}

json::object to_json(const store::user_record& u) {
  return to_json(services::user_of(u));
}

json::array to_json(const std::vector<services::ice_server>& servers) {
  json::array out;
  for (const auto& s : servers) {
    json::array urls;
    for (const auto& u : s.urls) urls.emplace_back(u);
    json::object o{{"urls", std::move(urls)}};
    if (s.username) o["username"] = *s.username;
    if (s.credential) o["credential"] = *s.credential;
    out.emplace_back(std::move(o));
  }
  return out;
}

json::object to_json(const store::app_settings& s) {
  json::object o{{"ringing_timeout_s", s.ringing_timeout_s},
                 {"connection_timeout_s", s.connection_timeout_s},
                 {"reconnect_grace_s", s.reconnect_grace_s},
                 {"max_ringing_per_caller", s.max_ringing_per_caller},
                 {"max_ringing_per_callee", s.max_ringing_per_callee}};
  if (s.webhook_url)
    o["webhook_url"] = *s.webhook_url;
  else
    o["webhook_url"] = nullptr;
  o["webhook_secret"] = s.webhook_secret;
  // Private keys never leave the server: a fingerprint tells which one is set.
  json::object push{{"apns", nullptr}, {"fcm", nullptr}, {"webhook", nullptr}};
  if (const auto& a = s.push.apns)
    push["apns"] = {{"key_id", a->key_id},
                    {"team_id", a->team_id},
                    {"bundle_id", a->bundle_id},
                    {"environment", a->sandbox ? "sandbox" : "production"},
                    {"private_key_fingerprint", services::push::key_fingerprint(a->private_key)}};
  if (const auto& f = s.push.fcm)
    push["fcm"] = {{"project_id", f->project_id},
                   {"client_email", f->client_email},
                   {"private_key_id", f->private_key_id},
                   {"private_key_fingerprint", services::push::key_fingerprint(f->private_key)}};
  if (s.push.webhook_url) push["webhook"] = {{"url", *s.push.webhook_url}};
  o["push"] = std::move(push);
  return o;
}

json::object delivery_json(const store::outbox_entry& e) {
  json::object o{{"event_id", e.event_id},      {"event", e.event},
                 {"state", to_string(e.state)}, {"attempts", e.attempts},
                 {"created_at", e.created_at},  {"next_attempt_at", nullptr},
                 {"last_status", nullptr},      {"last_error", nullptr}};
  if (e.state == store::delivery_state::pending) o["next_attempt_at"] = e.next_attempt_at;
  if (e.last_status) o["last_status"] = *e.last_status;
  if (e.last_error) o["last_error"] = *e.last_error;
  return o;
}

json::object to_json(const store::call_record& c, bool other_device_copy) {
  json::object items;
  for (const auto& [k, v] : c.custom_items) items[k] = v;
  auto opt_text = [](const std::optional<std::string>& s) -> json::value {
    if (s) return json::value(*s);
    return nullptr;
  };
  json::object o{{"call_id", c.call_id},
                 {"caller_id", c.caller_id},
                 {"callee_id", c.callee_id},
                 {"is_video", c.is_video},
                 {"state", to_string(c.state)},
                 {"created_at", c.created_at},
                 {"accepted_at", to_json(c.accepted_at)},
                 {"connected_at", to_json(c.connected_at)},
                 {"ended_at", to_json(c.ended_at)},
                 {"end_result", nullptr},
                 {"ended_by", opt_text(c.ended_by)},
                 {"duration_ms", 0},
                 {"custom_items", std::move(items)}};
  if (c.state == store::call_state::ended) {
    o["end_result"] = to_string(c.result);
    if (c.connected_at && c.ended_at) o["duration_ms"] = *c.ended_at - *c.connected_at;
  }
  if (other_device_copy) {
    o["state"] = to_string(store::call_state::ended);
    o["end_result"] = other_device_accepted;
    o["ended_by"] = c.callee_id;
    o["ended_at"] = to_json(c.accepted_at);
  }
  return o;
}

json::value to_json(const std::optional<millis>& t) {
  if (t) return *t;
  return nullptr;
}

}  // namespace parley::api
