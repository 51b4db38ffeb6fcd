// Client API (protocol.md, "Client API"): what an end user's device calls. Authentication turns
// a token into a session key; every other route takes `Authorization: Bearer <session_key>`.

#include "api/json_codec.hpp"
#include "api/responses.hpp"
#include "api/router.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "services/limits.hpp"

namespace parley::api {

namespace json = boost::json;

namespace {

template <class Fn>
http_response with_session(context& ctx, const request_view& rv, Fn&& fn) {
  auto key = bearer_credentials(rv.http.authorization);
  if (!key)
    return error_response(fail(errc::unauthorized, "missing Authorization: Bearer <session_key>"));
  auto s = ctx.auth.verify(*key, now_ms());
  if (!s) return error_response(s.error());
  return fn(*s);
}

// Answers once the new session is committed (group commit), or at once when refused.
void authenticate(context& ctx, const request_view& rv, responder respond) {
  // A body that cannot be read never reaches the auth service, which counts every other
  // outcome: its attempt is counted here.
  auto refuse = [&](failure f) {
    ctx.stats.auth_total.add({"invalid_request"});
    respond([f = std::move(f)] { return error_response(f); });
  };
  auto body = parse_object(rv.http.body);
  if (!body) return refuse(body.error());
  services::credentials c;
  auto user_id = req_string(*body, "user_id", limits::user_id_field_bytes);
  auto access = opt_string(*body, "access_token", limits::token_bytes);
  auto session = opt_string(*body, "session_token", limits::token_bytes);
  auto jwt = opt_string(*body, "jwt", limits::token_bytes);
  auto device = opt_string(*body, "device_id", limits::device_id_bytes);
  for (const auto* r : {&access, &session, &jwt, &device})
    if (!*r) return refuse(r->error());
  if (!user_id) return refuse(user_id.error());
  c.user_id = *user_id;
  c.access_token = *access;
  c.session_token = *session;
  c.jwt = *jwt;
  ctx.auth.authenticate_async(rv.params.at(0), c, *device, rv.http.remote_address, now_ms(),
                              [respond = std::move(respond)](result<services::authenticated> a) {
                                // On the store's thread: only hand over; the JSON is made on the
                                // request's thread.
                                respond([a = std::move(a)] {
                                  if (!a) return error_response(a.error());
                                  return json_response(
                                      200, {{"session_key", a->session_key},
                                            {"user", to_json(a->user)},
                                            {"session_expires_at", to_json(a->session_expires_at)},
                                            {"ice_servers", to_json(a->ice_servers)}});
                                });
                              });
}

http_response me(context& ctx, const request_view& rv) {
  return with_session(ctx, rv, [&](const services::session_view& s) {
    return json_response(
        200, {{"user", to_json(s.user)}, {"session_expires_at", to_json(s.session.expires_at)}});
  });
}

http_response deauthenticate(context& ctx, const request_view& rv) {
  return with_session(ctx, rv, [&](const services::session_view& s) {
    if (auto r = ctx.auth.deauthenticate(s.session); !r) return error_response(r.error());
    return no_content();
  });
}

http_response put_push_token(context& ctx, const request_view& rv) {
  return with_session(ctx, rv, [&](const services::session_view& s) {
    auto r = ctx.users.register_push_token(s.session.app_id, s.session.user_id, rv.params.at(0),
                                           rv.params.at(1), now_ms());
    if (!r) return error_response(r.error());
    return no_content();
  });
}

http_response delete_push_tokens(context& ctx, const request_view& rv) {
  return with_session(ctx, rv, [&](const services::session_view& s) {
    std::string token = rv.params.size() > 1 ? rv.params[1] : std::string();
    auto r =
        ctx.users.delete_push_tokens(s.session.app_id, s.session.user_id, rv.params.at(0), token);
    if (!r) return error_response(r.error());
    return no_content();
  });
}

http_response my_calls(context& ctx, const request_view& rv) {
  return with_session(ctx, rv, [&](const services::session_view& s) {
    auto req = page_query(rv.query);
    if (!req) return error_response(req.error());
    auto page = ctx.calls.list(s.session.app_id, s.session.user_id, req->limit, req->cursor);
    if (!page) return error_response(page.error());
    return page_response("calls", page->calls, page->next,
                         [](const store::call_record& c) { return to_json(c); });
  });
}

}  // namespace

void add_client_routes(std::vector<route>& t) {
  t.push_back({"POST", "/v1/apps/{app_id}/auth", nullptr, authenticate});
  t.push_back({"GET", "/v1/me", me});
  t.push_back({"DELETE", "/v1/session", deauthenticate});
  t.push_back({"GET", "/v1/me/direct_calls", my_calls});
  t.push_back({"PUT", "/v1/me/push_tokens/{type}/{token}", put_push_token});
  t.push_back({"DELETE", "/v1/me/push_tokens/{type}/{token}", delete_push_tokens});
  t.push_back({"DELETE", "/v1/me/push_tokens/{type}", delete_push_tokens});
}

}  // namespace parley::api
