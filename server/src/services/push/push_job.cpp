#include "services/push/push_job.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

namespace parley::services::push {

namespace json = boost::json;

namespace {

std::string string_at(const json::object& o, std::string_view key) {
  auto p = o.if_contains(key);
  return p != nullptr && p->is_string() ? std::string(p->as_string()) : std::string();
}

}  // namespace

void tag_invoke(const json::value_from_tag&, json::value& v, const push_job& job) {
  // The order of the keys is the stored format's (see the header).
  v = json::object{{"user_id", job.user_id},       {"call_id", job.call_id},
                   {"token_type", job.token_type}, {"token", job.token},
                   {"is_video", job.is_video},     {"title", job.title},
                   {"parley", job.parley_json}};
}

push_job tag_invoke(const json::value_to_tag<push_job>&, const json::value& v) {
  const auto& o = v.as_object();
  push_job job;
  job.user_id = string_at(o, "user_id");
  job.call_id = string_at(o, "call_id");
  job.token_type = string_at(o, "token_type");
  job.token = string_at(o, "token");
  if (auto p = o.if_contains("is_video"); p != nullptr && p->is_bool()) job.is_video = p->as_bool();
  job.title = string_at(o, "title");
  job.parley_json = string_at(o, "parley");
  return job;
}

std::string encode_push_job(const push_job& job) {
  return json::serialize(json::value_from(job));
}

std::optional<push_job> decode_push_job(std::string_view payload) {
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return json::value_to<push_job>(v);
}

}  // namespace parley::services::push
