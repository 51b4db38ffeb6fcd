#include "store/stored_json.hpp"

#include <boost/json.hpp>

namespace parley::store {

namespace json = boost::json;

void tag_invoke(json::value_from_tag, json::value& out, const apns_settings& a) {
  out = {{"key_id", a.key_id},
         {"team_id", a.team_id},
         {"bundle_id", a.bundle_id},
         {"private_key", a.private_key},
         {"sandbox", a.sandbox}};
}

void tag_invoke(json::value_from_tag, json::value& out, const fcm_settings& f) {
  out = {{"project_id", f.project_id},
         {"client_email", f.client_email},
         {"private_key_id", f.private_key_id},
         {"private_key", f.private_key},
         {"token_uri", f.token_uri}};
}

void tag_invoke(json::value_from_tag, json::value& out, const push_settings& p) {
  json::object o;
  if (p.apns) o["apns"] = json::value_from(*p.apns);
  if (p.fcm) o["fcm"] = json::value_from(*p.fcm);
  if (p.webhook_url) o["webhook_url"] = *p.webhook_url;
  out = std::move(o);
}

void tag_invoke(json::value_from_tag, json::value& out, const app_settings& s) {
  out = {{"ringing_timeout_s", s.ringing_timeout_s},
         {"connection_timeout_s", s.connection_timeout_s},
         {"reconnect_grace_s", s.reconnect_grace_s},
         {"max_ringing_per_caller", s.max_ringing_per_caller},
         {"max_ringing_per_callee", s.max_ringing_per_callee},
         {"webhook_url", json::value_from(s.webhook_url)},
         {"webhook_secret", s.webhook_secret},
         {"push", json::value_from(s.push)}};
}

namespace {

// Members read leniently: absent or of another type, the target keeps its value.
void read(const json::object& o, const char* key, int& out) {
  if (auto p = o.if_contains(key); p && p->is_int64()) out = static_cast<int>(p->as_int64());
}
void read(const json::object& o, const char* key, bool& out) {
  if (auto p = o.if_contains(key); p && p->is_bool()) out = p->as_bool();
}
void read(const json::object& o, const char* key, std::string& out) {
  if (auto p = o.if_contains(key); p && p->is_string()) out = std::string(p->as_string());
}
void read(const json::object& o, const char* key, std::optional<std::string>& out) {
  if (auto p = o.if_contains(key); p && p->is_string()) out = std::string(p->as_string());
}
const json::object* member_object(const json::object& o, const char* key) {
  auto p = o.if_contains(key);
  return p && p->is_object() ? &p->as_object() : nullptr;
}

}  // namespace

app_settings tag_invoke(json::value_to_tag<app_settings>, const json::value& v) {
  app_settings s;
  if (!v.is_object()) return s;
  const auto& o = v.as_object();
  read(o, "ringing_timeout_s", s.ringing_timeout_s);
  read(o, "connection_timeout_s", s.connection_timeout_s);
  read(o, "reconnect_grace_s", s.reconnect_grace_s);
  read(o, "max_ringing_per_caller", s.max_ringing_per_caller);
  read(o, "max_ringing_per_callee", s.max_ringing_per_callee);
  read(o, "webhook_url", s.webhook_url);
  read(o, "webhook_secret", s.webhook_secret);
  if (auto push = member_object(o, "push")) {
    if (auto ao = member_object(*push, "apns")) {
      auto& a = s.push.apns.emplace();
      read(*ao, "key_id", a.key_id);
      read(*ao, "team_id", a.team_id);
      read(*ao, "bundle_id", a.bundle_id);
      read(*ao, "private_key", a.private_key);
      read(*ao, "sandbox", a.sandbox);
    }
    if (auto fo = member_object(*push, "fcm")) {
      auto& f = s.push.fcm.emplace();
      read(*fo, "project_id", f.project_id);
      read(*fo, "client_email", f.client_email);
      read(*fo, "private_key_id", f.private_key_id);
      read(*fo, "private_key", f.private_key);
      read(*fo, "token_uri", f.token_uri);
    }
    read(*push, "webhook_url", s.push.webhook_url);
  }
  return s;
}

std::string encode_settings(const app_settings& s) {
  return json::serialize(json::value_from(s));
}

app_settings decode_settings(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return {};
  return json::value_to<app_settings>(v);
}

std::string encode_map(const string_map& m) {
  return json::serialize(json::value_from(m));
}

string_map decode_map(const std::string& text) {
  // Lenient: members that are not strings are left out.
  string_map m;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return m;
  for (const auto& kv : v.as_object())
    if (kv.value().is_string()) m[std::string(kv.key())] = std::string(kv.value().as_string());
  return m;
}

}  // namespace parley::store
