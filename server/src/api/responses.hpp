#pragma once
// Building HTTP answers, and the one mapping of a `failure` to the error body of protocol.md.

#include "api/http_types.hpp"
#include "common/errors.hpp"

#include <boost/json/object.hpp>

namespace parley::api {

http_response json_response(int status, const boost::json::object& body);
http_response no_content();
// {"error": {"code", "message", "field"?}} with the table's status (and Retry-After for 429).
http_response error_response(const failure& f);
// The WebSocket form: {"type": "error", "req_id"?, "code", "message", "field"?, "retry_after_s"?}.
boost::json::object error_frame(const failure& f, std::string_view req_id);

}  // namespace parley::api
