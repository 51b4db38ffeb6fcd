// Demo-only routes (`serve --demo`): let a visitor of the demo page sign in by typing a user id.
// They stand in for the app backend a real deployment has, so they are answered only with
// --demo, only for the app named "demo", and only to loopback clients.

#include "api/json_codec.hpp"
#include "api/responses.hpp"
#include "api/router.hpp"
#include "common/clock.hpp"
#include "services/limits.hpp"

namespace parley::api {

namespace {

bool is_loopback(const std::string& address) {
  return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

template <class Fn>
http_response with_demo_app(context& ctx, const request_view& rv, Fn&& fn) {
  if (!ctx.config.demo || !is_loopback(rv.http.remote_address))
    return error_response(fail(errc::not_found, "no such route"));
  auto apps = ctx.apps.list();
  if (!apps) return error_response(apps.error());
  for (const auto& a : *apps)
    if (a.name == "demo") return fn(a);
  return error_response(fail(errc::not_found, "no app named demo (make run creates it)"));
}

http_response demo_app(context& ctx, const request_view& rv) {
  return with_demo_app(ctx, rv, [&](const store::app_record& app) {
    return json_response(200, {{"app_id", app.app_id}, {"name", app.name}});
  });
}

http_response demo_token(context& ctx, const request_view& rv) {
  return with_demo_app(ctx, rv, [&](const store::app_record& app) {
    if (rv.params.at(0) != app.app_id)
      return error_response(fail(errc::forbidden, "demo tokens are only for the demo app"));
    auto body = parse_object(rv.http.body);
    if (!body) return error_response(body.error());
    auto user_id = req_string(*body, "user_id", limits::user_id_bytes);
    if (!user_id) return error_response(user_id.error());
    auto token = ctx.users.demo_access_token(app.app_id, *user_id, now_ms());
    if (!token) return error_response(token.error());
    return json_response(200, {{"user_id", *user_id}, {"access_token", *token}});
  });
}

}  // namespace

void add_demo_routes(std::vector<route>& t) {
  t.push_back({"GET", "/demo/v1/app", demo_app});
  t.push_back({"POST", "/demo/v1/apps/{app_id}/token", demo_token});
}

}  // namespace parley::api
