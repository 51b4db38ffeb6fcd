#include "impl/codec.hpp"

#include <boost/json/parse.hpp>

#include <charconv>

namespace parley::detail {

std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 64;
  auto v = json::parse(text, ec, {}, opts);
  if (ec) return std::nullopt;
  return v;
}

std::optional<std::string> get_string(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().get_string());
}

std::optional<std::int64_t> get_int(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_double()) return static_cast<std::int64_t>(v.get_double());
  return std::nullopt;
}

std::optional<bool> get_bool(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_bool()) return std::nullopt;
  return it->value().get_bool();
}

const json::object* get_object(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return nullptr;
  return &it->value().get_object();
}

const json::array* get_array(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array()) return nullptr;
  return &it->value().get_array();
}

namespace {

std::map<std::string, std::string> string_map(const json::object* o) {
  std::map<std::string, std::string> out;
  if (!o) return out;
  for (const auto& kv : *o)
    if (kv.value().is_string()) out[std::string(kv.key())] = std::string(kv.value().get_string());
  return out;
}

json::object to_json(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

template <class T>
json::value optional_value(const std::optional<T>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}

}  // namespace

std::optional<user> user_from_json(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  auto id = get_string(o, "user_id");
  if (!id || id->empty()) return std::nullopt;
  user u;
  u.user_id = std::move(*id);
  u.nickname = get_string(o, "nickname").value_or("");
  u.profile_url = get_string(o, "profile_url").value_or("");
  u.metadata = string_map(get_object(o, "metadata"));
  u.created_at = get_int(o, "created_at").value_or(0);
  u.has_access_token = get_bool(o, "has_access_token").value_or(false);
  return u;
}

json::object to_json(const user& u) {
  return {{"user_id", u.user_id},         {"nickname", u.nickname},
          {"profile_url", u.profile_url}, {"metadata", to_json(u.metadata)},
          {"created_at", u.created_at},   {"has_access_token", u.has_access_token}};
}

std::optional<std::vector<ice_server>> ice_servers_from_json(const json::value& v) {
  if (!v.is_array()) return std::nullopt;
  std::vector<ice_server> out;
  for (const auto& item : v.get_array()) {
    if (!item.is_object()) return std::nullopt;
    const auto& o = item.get_object();
    ice_server s;
    if (const auto* urls = get_array(o, "urls")) {
      for (const auto& url : *urls)
        if (url.is_string()) s.urls.emplace_back(url.get_string());
    } else if (auto url = get_string(o, "urls")) {
      s.urls.push_back(std::move(*url));  // the WebRTC shape allows one string too
    } else {
      return std::nullopt;
    }
    s.username = get_string(o, "username");
    s.credential = get_string(o, "credential");
    out.push_back(std::move(s));
  }
  return out;
}

json::array to_json(const std::vector<ice_server>& servers) {
  json::array out;
  for (const auto& s : servers) {
    json::array urls;
    for (const auto& url : s.urls) urls.emplace_back(url);
    json::object o{{"urls", std::move(urls)}};
    if (s.username) o["username"] = *s.username;
    if (s.credential) o["credential"] = *s.credential;
    out.emplace_back(std::move(o));
  }
  return out;
}

std::optional<call_info> call_from_json(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  auto id = get_string(o, "call_id");
  if (!id || id->empty()) return std::nullopt;
  call_info c;
  c.call_id = std::move(*id);
  c.caller_id = get_string(o, "caller_id").value_or("");
  c.callee_id = get_string(o, "callee_id").value_or("");
  c.is_video = get_bool(o, "is_video").value_or(false);
  c.state = get_string(o, "state").value_or("");
  c.created_at = get_int(o, "created_at").value_or(0);
  c.accepted_at = get_int(o, "accepted_at");
  c.connected_at = get_int(o, "connected_at");
  c.ended_at = get_int(o, "ended_at");
  c.end_result = get_string(o, "end_result");
  c.ended_by = get_string(o, "ended_by");
  c.duration_ms = get_int(o, "duration_ms");
  c.custom_items = string_map(get_object(o, "custom_items"));
  // Not in the server's call object: the SDK's own, from a push (kept in the state file).
  c.caller_nickname = get_string(o, "caller_nickname");
  c.ringing_deadline = get_int(o, "ringing_deadline");
  return c;
}

json::object to_json(const call_info& c) {
  json::object o{{"call_id", c.call_id},
                 {"caller_id", c.caller_id},
                 {"callee_id", c.callee_id},
                 {"is_video", c.is_video},
                 {"state", c.state},
                 {"created_at", c.created_at},
                 {"accepted_at", optional_value(c.accepted_at)},
                 {"connected_at", optional_value(c.connected_at)},
                 {"ended_at", optional_value(c.ended_at)},
                 {"end_result", optional_value(c.end_result)},
                 {"ended_by", optional_value(c.ended_by)},
                 {"duration_ms", optional_value(c.duration_ms)},
                 {"custom_items", to_json(c.custom_items)}};
  if (c.caller_nickname) o["caller_nickname"] = *c.caller_nickname;
  if (c.ringing_deadline) o["ringing_deadline"] = *c.ringing_deadline;
  return o;
}

namespace {

error_code code_for_status(int status) {
  switch (status) {
    case 400:
      return error_code::invalid_request;
    case 401:
      return error_code::unauthorized;
    case 403:
      return error_code::forbidden;
    case 404:
      return error_code::not_found;
    case 413:
      return error_code::payload_too_large;
    case 429:
      return error_code::rate_limited;
    case 500:
      return error_code::internal;
    case 503:
      return error_code::unavailable;
    default:
      return error_code::invalid_response;
  }
}

std::optional<int> parse_seconds(std::string_view text) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

error error_from_http(int status, std::string_view body, std::string_view retry_after) {
  std::optional<error> err;
  if (auto v = parse_json(body); v && v->is_object()) {
    if (const auto* e = get_object(v->get_object(), "error")) {
      auto code = get_string(*e, "code").value_or("");
      auto message = get_string(*e, "message").value_or("");
      err.emplace(error_code_from_string(code), message, status);
      err->with_server_code(code);
      if (auto field = get_string(*e, "field")) err->with_field(*field);
    }
  }
  if (!err) {
    std::string message = "HTTP " + std::to_string(status) + " without an error body";
    err.emplace(code_for_status(status), std::move(message), status);
  }
  if (auto seconds = parse_seconds(retry_after)) err->with_retry_after_s(*seconds);
  return std::move(*err);
}

error error_from_frame(const json::object& frame) {
  auto code = get_string(frame, "code").value_or("");
  error err(error_code_from_string(code), get_string(frame, "message").value_or(""));
  err.with_server_code(code);
  if (auto field = get_string(frame, "field")) err.with_field(*field);
  if (auto seconds = get_int(frame, "retry_after_s"))
    err.with_retry_after_s(static_cast<int>(*seconds));
  return err;
}

}  // namespace parley::detail
