#include "api/responses.hpp"

#include <boost/json/serialize.hpp>

namespace parley::api {

http_response json_response(int status, const boost::json::object& body) {
  http_response r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

http_response no_content() {
  http_response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

http_response error_response(const failure& f) {
  boost::json::object err{{"code", code_name(f.code)}, {"message", f.message}};
  if (!f.field.empty()) err["field"] = f.field;
  auto r = json_response(http_status(f.code), {{"error", std::move(err)}});
  if (f.code == errc::rate_limited)
    r.headers.emplace_back("Retry-After", std::to_string(std::max(1, f.retry_after_s)));
  return r;
}

boost::json::object error_frame(const failure& f, std::string_view req_id) {
  boost::json::object o{{"type", "error"}};
  if (!req_id.empty()) o["req_id"] = req_id;
  o["code"] = code_name(f.code);
  o["message"] = f.message;
  if (!f.field.empty()) o["field"] = f.field;
  if (f.code == errc::rate_limited) o["retry_after_s"] = std::max(1, f.retry_after_s);
  return o;
}

}  // namespace parley::api
