#pragma once
// The REST API: a table of {method, path pattern, handler}, matched segment by segment. This
// is where an HTTP request is decoded and dispatched; handlers live in *_routes.cpp.

#include "api/context.hpp"
#include "api/http_types.hpp"
#include "services/pagination.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::api {

using path_params = std::vector<std::string>;  // the {…} segments, percent-decoded, in order
using query_params = std::map<std::string, std::string, std::less<>>;

struct request_view {
  const http_request& http;
  const path_params& params;
  const query_params& query;
};

using route_handler = std::function<http_response(context&, const request_view&)>;

// Builds an answer given later. Runs on the requester's own thread (the transport's), not on
// the store thread that finished the work: that one's time is the group commit's.
using answer_maker = std::function<http_response()>;
// Delivers an answer given later; called once, from any thread.
using responder = std::function<void(answer_maker)>;
// A route whose answer waits for the store's group commit: it copies what it needs from the
// request (valid only during the call) and answers through the responder.
using deferred_route_handler = std::function<void(context&, const request_view&, responder)>;

struct route {
  std::string method;
  std::string pattern;  // e.g. "/v1/apps/{app_id}/users/{user_id}"
  route_handler handler;
  deferred_route_handler deferred = nullptr;  // set instead of handler
};

// Route groups, each in its own file.
void add_platform_routes(std::vector<route>& table);
void add_client_routes(std::vector<route>& table);
void add_admin_routes(std::vector<route>& table);
void add_ops_routes(std::vector<route>& table);
void add_demo_routes(std::vector<route>& table);

class http_api {
 public:
  explicit http_api(context& ctx);

  // Answers one request: returns the answer, or nothing when the route answers later through
  // `later` (deferred routes: authentication, which waits for its session's commit). Never
  // throws: a bug becomes 500 `internal` with an id in the log, given either way. Thread-safe
  // (handlers only touch thread-safe services).
  std::optional<http_response> handle(const http_request& req, responder later);

 private:
  struct compiled {
    std::string method;
    std::string pattern;
    std::string route_name;             // method and pattern, the metrics label
    std::vector<std::string> segments;  // "{}" marks a parameter
    route_handler handler;
    deferred_route_handler deferred;
  };
  std::optional<http_response> dispatch(const http_request& req, responder& later);

  context& ctx_;
  std::vector<compiled> routes_;
};

// The page a list route asks for: `limit` (1..100, default 20; invalid_request naming "limit"
// otherwise) and the cursor `next` (checked by the list's service).
result<services::page_request> page_query(const query_params& q);

// The credentials of an `Authorization: Bearer <credentials>` header; the scheme's name in any
// case, then one or more spaces (RFC 7235). nullopt for another scheme or no credentials.
std::optional<std::string_view> bearer_credentials(std::string_view header);

// Percent-decoding (Boost.URL) of a path segment or query value: each "%XX" (hex digits in either
// case) becomes its byte, every other byte stays as it is ('+' too); nullopt when a '%' is not
// followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace parley::api
