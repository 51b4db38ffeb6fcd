// Operations endpoints: liveness for load balancers and Prometheus metrics.

#include "api/responses.hpp"
#include "api/router.hpp"

namespace parley::api {

namespace {

http_response healthz(context& ctx, const request_view&) {
  if (ctx.draining) return error_response(fail(errc::unavailable, "the server is draining"));
  return json_response(200, {{"status", "ok"}});
}

http_response metrics_text(context& ctx, const request_view&) {
  http_response r;
  r.body = ctx.stats.render();
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

}  // namespace

void add_ops_routes(std::vector<route>& t) {
  t.push_back({"GET", "/healthz", healthz});
  t.push_back({"GET", "/metrics", metrics_text});
}

}  // namespace parley::api
