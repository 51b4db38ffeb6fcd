#pragma once
// HTTP as the API layer sees it: plain values, no Beast types. The transport parses the wire
// request into this and writes the response back.

#include <string>
#include <utility>
#include <vector>

namespace parley::api {

struct http_request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as received
  std::string body;
  std::string remote_address;
  // The only headers the API reads.
  std::string api_token;      // Api-Token
  std::string admin_token;    // Admin-Token
  std::string authorization;  // Authorization
};

struct http_response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // The route pattern that answered, for metrics ("unmatched" when none did).
  std::string route = "unmatched";
};

}  // namespace parley::api
