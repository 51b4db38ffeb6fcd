#pragma once
// Building HTTP answers, and the one mapping of a `failure` to the error body of protocol.md.

#include "api/http_types.hpp"
#include "common/errors.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::api {

http_response json_response(int status, const boost::json::object& body);
http_response no_content();
// A page of a list route, 200: {<items>: [encode(row)...], "next": cursor or null}.
template <class Row, class Encode>
http_response page_response(std::string_view items, const std::vector<Row>& rows,
                            const std::optional<std::string>& next, Encode encode) {
  boost::json::array out;
  for (const auto& row : rows) out.push_back(encode(row));
  boost::json::object body{{items, std::move(out)}};
  if (next)
    body["next"] = *next;
  else
    body["next"] = nullptr;
  return json_response(200, body);
}
// {"error": {"code", "message", "field"?}} with the table's status (and Retry-After for 429).
http_response error_response(const failure& f);
// The WebSocket form: {"type": "error", "req_id"?, "code", "message", "field"?, "retry_after_s"?}.
boost::json::object error_frame(const failure& f, std::string_view req_id);

}  // namespace parley::api
