// Platform API (protocol.md, "Platform API"): the app's backend manages users, tokens, push
// tokens and settings. Every route checks the Api-Token of the app in the path first, and every
// query below is scoped by that app.

#include "api/json_codec.hpp"
#include "api/responses.hpp"
#include "api/router.hpp"
#include "common/clock.hpp"
#include "services/limits.hpp"

namespace parley::api {

namespace json = boost::json;

namespace {

// Runs `fn(app)` when the request carries the app's current Api-Token; 401 otherwise.
template <class Fn>
http_response with_app(context& ctx, const request_view& rv, Fn&& fn) {
  auto app = ctx.apps.authorize(rv.params.at(0), rv.http.api_token);
  if (!app) return error_response(app.error());
  return fn(*app);
}

template <class T>
http_response or_error(const result<T>& r, http_response ok) {
  if (!r) return error_response(r.error());
  return ok;
}

json::array push_tokens_json(const std::vector<store::push_token_record>& tokens) {
  json::array out;
  for (const auto& t : tokens)
    out.push_back(
        json::object{{"type", t.type}, {"token", t.token}, {"registered_at", t.registered_at}});
  return out;
}

http_response create_user(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto body = parse_object(rv.http.body);
    if (!body) return error_response(body.error());
    auto user_id = req_string(*body, "user_id", limits::user_id_field_bytes);
    if (!user_id) return error_response(user_id.error());
    auto nickname = opt_string(*body, "nickname", limits::nickname_bytes);
    if (!nickname) return error_response(nickname.error());
    auto profile_url = opt_string(*body, "profile_url", limits::profile_url_bytes);
    if (!profile_url) return error_response(profile_url.error());
    auto metadata = opt_string_map(*body, "metadata");
    if (!metadata) return error_response(metadata.error());
    auto issue = opt_bool(*body, "issue_access_token");
    if (!issue) return error_response(issue.error());
    services::new_user u{*user_id, *nickname, *profile_url, *metadata, issue->value_or(false)};

    auto created = ctx.users.create(app.app_id, u, now_ms());
    if (!created) return error_response(created.error());

    json::object out{{"user", to_json(created->user)}};
    if (created->access_token) out["access_token"] = *created->access_token;
    return json_response(201, out);
  });
}

http_response list_users(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto req = page_query(rv.query);
    if (!req) return error_response(req.error());
    auto page = ctx.users.list(app.app_id, req->limit, req->cursor);
    if (!page) return error_response(page.error());
    return page_response("users", page->users, page->next,
                         [](const store::user_record& u) { return to_json(u); });
  });
}

http_response get_user(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto u = ctx.users.get(app.app_id, rv.params.at(1));
    if (!u) return error_response(u.error());
    return json_response(200, {{"user", to_json(*u)}});
  });
}

http_response patch_user(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto body = parse_object(rv.http.body);
    if (!body) return error_response(body.error());
    store::user_patch patch;
    auto nickname = opt_string(*body, "nickname", limits::nickname_bytes);
    if (!nickname) return error_response(nickname.error());
    auto profile_url = opt_string(*body, "profile_url", limits::profile_url_bytes);
    if (!profile_url) return error_response(profile_url.error());
    auto metadata = opt_string_map(*body, "metadata");
    if (!metadata) return error_response(metadata.error());
    patch.nickname = *nickname;
    patch.profile_url = *profile_url;
    patch.metadata = *metadata;
    auto u = ctx.users.update(app.app_id, rv.params.at(1), patch);
    if (!u) return error_response(u.error());
    return json_response(200, {{"user", to_json(*u)}});
  });
}

// Answers once the user is deleted and the calls it was in have ended (committed).
void delete_user(context& ctx, const request_view& rv, responder respond) {
  auto app = ctx.apps.authorize(rv.params.at(0), rv.http.api_token);
  if (!app) return respond([f = app.error()] { return error_response(f); });
  ctx.users.remove(app->app_id, rv.params.at(1), now_ms(),
                   [respond = std::move(respond)](result<void> r) {
                     respond([r = std::move(r)] { return or_error(r, no_content()); });
                   });
}

http_response issue_access_token(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto token = ctx.users.issue_access_token(app.app_id, rv.params.at(1));
    if (!token) return error_response(token.error());
    return json_response(200, {{"access_token", *token}});
  });
}

http_response revoke_access_token(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    return or_error(ctx.users.revoke_access_token(app.app_id, rv.params.at(1)), no_content());
  });
}

http_response issue_session_token(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto body = parse_object(rv.http.body, true);
    if (!body) return error_response(body.error());
    auto expires_at = opt_int(*body, "expires_at");
    if (!expires_at) return error_response(expires_at.error());
    auto t = ctx.users.issue_session_token(app.app_id, rv.params.at(1), *expires_at, now_ms());
    if (!t) return error_response(t.error());
    return json_response(201, {{"token", t->token}, {"expires_at", t->expires_at}});
  });
}

http_response revoke_session_tokens(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    return or_error(ctx.users.revoke_session_tokens(app.app_id, rv.params.at(1)), no_content());
  });
}

http_response list_push_tokens(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto tokens = ctx.users.push_tokens(app.app_id, rv.params.at(1));
    if (!tokens) return error_response(tokens.error());
    return json_response(200, {{"push_tokens", push_tokens_json(*tokens)}});
  });
}

http_response delete_push_tokens(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    std::string token = rv.params.size() > 3 ? rv.params[3] : std::string();
    return or_error(
        ctx.users.delete_push_tokens(app.app_id, rv.params.at(1), rv.params.at(2), token),
        no_content());
  });
}

http_response get_settings(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    return json_response(200, to_json(app.settings));
  });
}

// Errors inside a nested object name the whole path, e.g. "push.apns.key_id".
failure nested(failure f, const std::string& prefix) {
  f.field = f.field.empty() ? prefix : prefix + "." + f.field;
  return f;
}

// Read bounds; the values are the app service's to check.
constexpr std::size_t url_bytes = 2048;
constexpr std::size_t key_pem_bytes = 16 * 1024;
constexpr std::size_t id_bytes = 256;

result<store::apns_settings> parse_apns(const json::value& v) {
  const std::string at = "push.apns";
  if (!v.is_object()) return fail(errc::invalid_request, at + " must be an object or null", at);
  const auto& o = v.as_object();
  store::apns_settings a;
  for (auto [name, slot] : {std::pair{"key_id", &a.key_id}, std::pair{"team_id", &a.team_id},
                            std::pair{"bundle_id", &a.bundle_id}}) {
    auto x = req_string(o, name, id_bytes);
    if (!x) return nested(x.error(), at);
    if (x->empty())
      return fail(errc::invalid_request, std::string(name) + " is empty", at + "." + name);
    *slot = std::move(*x);
  }
  auto key = req_string(o, "private_key", key_pem_bytes);
  if (!key) return nested(key.error(), at);
  a.private_key = std::move(*key);
  auto env = opt_string(o, "environment", 32);
  if (!env) return nested(env.error(), at);
  if (*env && **env != "production" && **env != "sandbox")
    return fail(errc::invalid_request, "environment must be production or sandbox",
                at + ".environment");
  a.sandbox = *env && **env == "sandbox";
  return a;
}

result<services::fcm_account> parse_fcm(const json::value& v) {
  const std::string at = "push.fcm";
  if (!v.is_object()) return fail(errc::invalid_request, at + " must be an object or null", at);
  auto sa = v.as_object().if_contains("service_account");
  const std::string sat = at + ".service_account";
  if (!sa || !sa->is_object())
    return fail(errc::invalid_request, "service_account must be the service account's JSON object",
                sat);
  const auto& o = sa->as_object();
  services::fcm_account f;
  for (auto [name, slot] :
       {std::pair{"project_id", &f.project_id}, std::pair{"client_email", &f.client_email},
        std::pair{"private_key_id", &f.private_key_id}}) {
    auto x = req_string(o, name, id_bytes);
    if (!x) return nested(x.error(), sat);
    if (x->empty())
      return fail(errc::invalid_request, std::string(name) + " is empty", sat + "." + name);
    *slot = std::move(*x);
  }
  auto key = req_string(o, "private_key", key_pem_bytes);
  if (!key) return nested(key.error(), sat);
  f.private_key = std::move(*key);
  if (o.if_contains("token_uri")) {
    auto uri = req_string(o, "token_uri", url_bytes);
    if (!uri) return nested(uri.error(), sat);
    f.token_uri = std::move(*uri);
  }
  return f;
}

// The "push" object of a settings patch: apns, fcm and webhook, each an object or null.
result<void> parse_push(const json::object& body, services::settings_patch& patch) {
  auto p = body.if_contains("push");
  if (!p) return {};
  if (!p->is_object()) return fail(errc::invalid_request, "push must be an object", "push");
  const auto& o = p->as_object();
  for (const auto& kv : o)
    if (kv.key() != "apns" && kv.key() != "fcm" && kv.key() != "webhook")
      return fail(errc::invalid_request, "push has apns, fcm and webhook only",
                  "push." + std::string(kv.key()));
  if (auto a = o.if_contains("apns")) {
    if (a->is_null()) {
      patch.push_apns.emplace();
    } else {
      auto parsed = parse_apns(*a);
      if (!parsed) return parsed.error();
      patch.push_apns.emplace(std::move(*parsed));
    }
  }
  if (auto f = o.if_contains("fcm")) {
    if (f->is_null()) {
      patch.push_fcm.emplace();
    } else {
      auto parsed = parse_fcm(*f);
      if (!parsed) return parsed.error();
      patch.push_fcm.emplace(std::move(*parsed));
    }
  }
  if (auto w = o.if_contains("webhook")) {
    if (w->is_null()) {
      patch.push_webhook_url.emplace();
    } else if (!w->is_object()) {
      return fail(errc::invalid_request, "push.webhook must be an object or null", "push.webhook");
    } else {
      auto url = req_string(w->as_object(), "url", url_bytes);
      if (!url) return nested(url.error(), "push.webhook");
      patch.push_webhook_url.emplace(std::move(*url));
    }
  }
  return {};
}

// The body of PATCH /settings as a typed patch: the JSON types and read bounds are checked here,
// the values (numbers' bounds, URLs, keys) by the app service.
result<services::settings_patch> parse_settings_patch(const json::object& body) {
  services::settings_patch patch;
  for (auto [name, slot] : {std::pair{"ringing_timeout_s", &patch.ringing_timeout_s},
                            std::pair{"connection_timeout_s", &patch.connection_timeout_s},
                            std::pair{"reconnect_grace_s", &patch.reconnect_grace_s},
                            std::pair{"max_ringing_per_caller", &patch.max_ringing_per_caller},
                            std::pair{"max_ringing_per_callee", &patch.max_ringing_per_callee}}) {
    auto v = opt_int(body, name);
    if (!v) return v.error();
    *slot = *v;
  }
  if (auto p = body.if_contains("webhook_url")) {
    if (p->is_null()) {
      patch.webhook_url.emplace();
    } else {
      auto url = req_string(body, "webhook_url", url_bytes);
      if (!url) return url.error();
      patch.webhook_url.emplace(std::move(*url));
    }
  }
  if (auto r = parse_push(body, patch); !r) return r.error();
  return patch;
}

http_response patch_settings(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto body = parse_object(rv.http.body);
    if (!body) return error_response(body.error());
    auto patch = parse_settings_patch(*body);
    if (!patch) return error_response(patch.error());
    auto s = ctx.apps.update_settings(app, *patch, now_ms());
    if (!s) return error_response(s.error());
    return json_response(200, to_json(*s));
  });
}

http_response rotate_webhook_secret(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto secret = ctx.apps.rotate_webhook_secret(app.app_id);
    if (!secret) return error_response(secret.error());
    return json_response(200, {{"webhook_secret", *secret}});
  });
}

http_response list_deliveries(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto req = page_query(rv.query);
    if (!req) return error_response(req.error());
    std::string state;
    if (auto it = rv.query.find("state"); it != rv.query.end()) state = it->second;
    auto page = ctx.apps.list_deliveries(app.app_id, state, req->limit, req->cursor);
    if (!page) return error_response(page.error());
    return page_response("deliveries", page->deliveries, page->next,
                         [](const store::outbox_entry& d) { return delivery_json(d); });
  });
}

http_response retry_delivery(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto d = ctx.apps.retry_delivery(app.app_id, rv.params.at(1), now_ms(),
                                     ctx.config.webhook_give_up_ms);
    if (!d) return error_response(d.error());
    return json_response(202, {{"delivery", delivery_json(*d)}});
  });
}

http_response list_calls(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto req = page_query(rv.query);
    if (!req) return error_response(req.error());
    std::string user_id;
    if (auto it = rv.query.find("user_id"); it != rv.query.end()) user_id = it->second;
    auto page = ctx.calls.list(app.app_id, user_id, req->limit, req->cursor);
    if (!page) return error_response(page.error());
    return page_response("calls", page->calls, page->next,
                         [](const store::call_record& c) { return to_json(c); });
  });
}

http_response get_call(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto c = ctx.calls.find(app.app_id, rv.params.at(1));
    if (!c) return error_response(c.error());
    return json_response(200, {{"call", to_json(*c)}});
  });
}

http_response usage(context& ctx, const request_view& rv) {
  return with_app(ctx, rv, [&](const store::app_record& app) {
    auto from = rv.query.find("from");
    auto to = rv.query.find("to");
    if (from == rv.query.end())
      return error_response(fail(errc::invalid_request, "from is required", "from"));
    if (to == rv.query.end())
      return error_response(fail(errc::invalid_request, "to is required", "to"));
    auto report = ctx.calls.usage(app.app_id, from->second, to->second);
    if (!report) return error_response(report.error());
    json::array out;
    for (const auto& d : report->days) {
      out.push_back(json::object{{"date", d.date},
                                 {"calls", d.calls},
                                 {"connected_calls", d.connected_calls},
                                 {"billable_minutes", d.billable_minutes}});
    }
    return json_response(200, {{"days", std::move(out)},
                               {"total_billable_minutes", report->total_billable_minutes}});
  });
}

}  // namespace

void add_platform_routes(std::vector<route>& t) {
  const std::string users = "/v1/apps/{app_id}/users";
  const std::string user = users + "/{user_id}";
  t.push_back({"POST", users, create_user});
  t.push_back({"GET", users, list_users});
  t.push_back({"GET", user, get_user});
  t.push_back({"PATCH", user, patch_user});
  t.push_back({"DELETE", user, nullptr, delete_user});
  t.push_back({"POST", user + "/access_token", issue_access_token});
  t.push_back({"DELETE", user + "/access_token", revoke_access_token});
  t.push_back({"POST", user + "/session_tokens", issue_session_token});
  t.push_back({"DELETE", user + "/session_tokens", revoke_session_tokens});
  t.push_back({"GET", user + "/push_tokens", list_push_tokens});
  t.push_back({"DELETE", user + "/push_tokens/{type}", delete_push_tokens});
  t.push_back({"DELETE", user + "/push_tokens/{type}/{token}", delete_push_tokens});
  t.push_back({"GET", "/v1/apps/{app_id}/direct_calls", list_calls});
  t.push_back({"GET", "/v1/apps/{app_id}/direct_calls/{call_id}", get_call});
  t.push_back({"GET", "/v1/apps/{app_id}/usage", usage});
  t.push_back({"GET", "/v1/apps/{app_id}/settings", get_settings});
  t.push_back({"PATCH", "/v1/apps/{app_id}/settings", patch_settings});
  t.push_back({"POST", "/v1/apps/{app_id}/settings/webhook_secret", rotate_webhook_secret});
  t.push_back({"GET", "/v1/apps/{app_id}/webhook_deliveries", list_deliveries});
  t.push_back({"POST", "/v1/apps/{app_id}/webhook_deliveries/{event_id}/retry", retry_delivery});
}

}  // namespace parley::api
