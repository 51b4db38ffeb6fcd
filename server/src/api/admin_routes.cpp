// Operator API over HTTP (protocol.md, "Operator API"), under /admin/v1 with the Admin-Token
// header. Without a configured admin token every admin path answers 404, as if absent.

#include "api/json_codec.hpp"
#include "api/responses.hpp"
#include "api/router.hpp"
#include "common/clock.hpp"
#include "services/limits.hpp"

namespace parley::api {

namespace json = boost::json;

namespace {

template <class Fn>
http_response with_admin(context& ctx, const request_view& rv, Fn&& fn) {
  const auto& want = ctx.config.admin_token;
  if (want.empty()) return error_response(fail(errc::not_found, "no such route"));
  if (auto r = ctx.auth.admin_attempt(rv.http.admin_token, want, rv.http.remote_address, now_ms());
      !r)
    return error_response(r.error());
  return fn();
}

http_response list_apps(context& ctx, const request_view& rv) {
  return with_admin(ctx, rv, [&] {
    auto apps = ctx.apps.list();
    if (!apps) return error_response(apps.error());
    json::array out;
    for (const auto& a : *apps)
      out.push_back(
          json::object{{"app_id", a.app_id}, {"name", a.name}, {"created_at", a.created_at}});
    return json_response(200, {{"apps", std::move(out)}});
  });
}

http_response create_app(context& ctx, const request_view& rv) {
  return with_admin(ctx, rv, [&] {
    auto body = parse_object(rv.http.body);
    if (!body) return error_response(body.error());
    auto name = req_string(*body, "name", limits::app_name_bytes);
    if (!name) return error_response(name.error());
    auto app = ctx.apps.create(*name, now_ms());
    if (!app) return error_response(app.error());
    return json_response(201, {{"app_id", app->app_id},
                               {"api_token", app->api_token},
                               {"signing_secret", app->signing_secret},
                               {"name", app->name}});
  });
}

http_response rotate_token(context& ctx, const request_view& rv) {
  return with_admin(ctx, rv, [&] {
    auto token = ctx.apps.rotate_token(rv.params.at(0));
    if (!token) return error_response(token.error());
    return json_response(200, {{"app_id", rv.params.at(0)}, {"api_token", *token}});
  });
}

http_response delete_app(context& ctx, const request_view& rv) {
  return with_admin(ctx, rv, [&] {
    auto r = ctx.apps.remove(rv.params.at(0));
    if (!r) return error_response(r.error());
    return no_content();
  });
}

}  // namespace

void add_admin_routes(std::vector<route>& t) {
  t.push_back({"GET", "/admin/v1/apps", list_apps});
  t.push_back({"POST", "/admin/v1/apps", create_app});
  t.push_back({"POST", "/admin/v1/apps/{app_id}/rotate_token", rotate_token});
  t.push_back({"DELETE", "/admin/v1/apps/{app_id}", delete_app});
}

}  // namespace parley::api
