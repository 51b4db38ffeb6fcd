#include "api/router.hpp"

#include "api/responses.hpp"
#include "common/crypto.hpp"
#include "common/log.hpp"

#include <boost/url/pct_string_view.hpp>

#include <cctype>
#include <chrono>

namespace parley::api {

namespace {
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}
}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
  // make_pct_string_view refuses exactly a '%' not followed by two hex digits and lets every
  // other byte through (it does not check the URL grammar); decode() keeps '+' as it is.
  auto escaped = boost::urls::make_pct_string_view(s);
  if (!escaped) return std::nullopt;
  return escaped->decode();
}

std::optional<std::string_view> bearer_credentials(std::string_view header) {
  constexpr std::string_view scheme = "bearer";
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return std::nullopt;
  auto rest = header.substr(scheme.size());
  auto start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) return std::nullopt;
  return rest.substr(start);
}

result<services::page_request> page_query(const query_params& q) {
  services::page_request page;
  if (auto it = q.find("limit"); it != q.end()) {
    const auto& v = it->second;
    if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos ||
        !services::check_page_limit(std::stoi(v)))
      return fail(errc::invalid_request, "limit must be 1 to 100", "limit");
    page.limit = std::stoi(v);
  }
  if (auto it = q.find("next"); it != q.end()) page.cursor = it->second;
  return page;
}

http_api::http_api(context& ctx) : ctx_(ctx) {
  std::vector<route> table;
  add_ops_routes(table);
  add_admin_routes(table);
  add_platform_routes(table);
  add_client_routes(table);
  add_demo_routes(table);
  for (auto& r : table) {
    compiled c{r.method,
               r.pattern,
               r.method + " " + r.pattern,
               {},
               std::move(r.handler),
               std::move(r.deferred)};
    for (auto seg : split_path(r.pattern))
      c.segments.emplace_back(seg.starts_with('{') ? "{}" : std::string(seg));
    routes_.push_back(std::move(c));
  }
}

std::optional<http_response> http_api::handle(const http_request& req, responder later) {
  auto started = std::chrono::steady_clock::now();
  auto record = [this, started](const http_response& res) {
    auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    ctx_.stats.http_request_duration.observe(elapsed.count());
    ctx_.stats.http_requests_total.add({res.route, std::to_string(res.status)});
  };
  // A deferred route's answer is counted when it is given.
  responder counted = [record, target = req.target, later = std::move(later)](answer_maker make) {
    later([record, target, make = std::move(make)] {
      http_response res;
      try {
        res = make();
      } catch (const std::exception& e) {
        // The same catch for an answer made later.
        auto id = crypto::uuid_v4();
        log::error("internal_error", {{"error_id", id}, {"what", e.what()}, {"target", target}});
        res = error_response(fail(errc::internal, "internal error " + id));
      }
      record(res);
      return res;
    });
  };
  std::optional<http_response> res;
  try {
    res = dispatch(req, counted);
  } catch (const std::exception& e) {
    // The one catch of the request path: log the bug with an id the caller can quote.
    auto id = crypto::uuid_v4();
    log::error("internal_error", {{"error_id", id}, {"what", e.what()}, {"target", req.target}});
    res = error_response(fail(errc::internal, "internal error " + id));
  }
  if (res) record(*res);
  return res;
}

std::optional<http_response> http_api::dispatch(const http_request& req, responder& later) {
  std::string_view target = req.target;
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query_text =
      path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view{};

  auto bad = [](std::string why) { return error_response(fail(errc::invalid_request, why)); };
  auto raw_segments = split_path(path);
  std::vector<std::string> segments;
  segments.reserve(raw_segments.size());
  for (auto s : raw_segments) {
    auto d = percent_decode(s);
    if (!d) return bad("the path has a bad percent escape");
    segments.push_back(std::move(*d));
  }

  const compiled* match = nullptr;
  bool path_known = false;
  path_params params;
  for (const auto& r : routes_) {
    if (r.segments.size() != segments.size()) continue;
    bool ok = true;
    for (std::size_t i = 0; i < segments.size() && ok; ++i)
      ok = r.segments[i] == "{}" ? !segments[i].empty() : r.segments[i] == segments[i];
    if (!ok) continue;
    path_known = true;
    if (r.method != req.method) continue;
    match = &r;
    for (std::size_t i = 0; i < segments.size(); ++i)
      if (r.segments[i] == "{}") params.push_back(segments[i]);
    break;
  }
  if (!match) {
    if (path_known) {
      auto r = error_response(fail(errc::invalid_request, "method not allowed on this path"));
      r.status = 405;
      return r;
    }
    return error_response(fail(errc::not_found, "no such route"));
  }

  query_params query;
  while (!query_text.empty()) {
    auto amp = query_text.find('&');
    auto pair = query_text.substr(0, amp);
    query_text = amp == std::string_view::npos ? std::string_view{} : query_text.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    auto value =
        percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) return bad("the query has a bad percent escape");
    query.emplace(std::move(*key), std::move(*value));
  }

  if (match->deferred) {
    match->deferred(ctx_, request_view{req, params, query},
                    [&route = match->route_name, later = std::move(later)](answer_maker make) {
                      later([&route, make = std::move(make)] {
                        auto res = make();
                        res.route = route;
                        return res;
                      });
                    });
    return std::nullopt;
  }
  auto res = match->handler(ctx_, request_view{req, params, query});
  res.route = match->route_name;
  return res;
}

}  // namespace parley::api
