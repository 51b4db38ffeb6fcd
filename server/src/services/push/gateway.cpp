#include "services/push/gateway.hpp"

#include "services/push/signing.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace parley::services::push {

namespace json = boost::json;

result<outbound::request> gateway_client::build(const gateway_credentials& creds,
                                                const push_message& msg, millis now) const {
  boost::system::error_code ec;
  auto parley = json::parse(msg.parley_json, ec);
  json::object body{{"event_id", msg.event_id},
                    {"event", "push.send"},
                    {"app_id", creds.app_id},
                    {"occurred_at", msg.created_at},
                    {"data",
                     {{"user_id", msg.user_id},
                      {"token_type", msg.token_type},
                      {"token", msg.token},
                      {"parley", ec ? json::value(nullptr) : parley}}}};
  outbound::request r;
  r.url = creds.url;
  r.body = json::serialize(body);
  r.headers = {{"Content-Type", "application/json"},
               {"Parley-Event-Id", msg.event_id},
               {"Parley-Event", "push.send"},
               {"Parley-Signature", parley_signature(creds.secret, now / 1000, r.body)}};
  return r;
}

classified gateway_client::classify(const outbound::response& r) const {
  if (r.status >= 200 && r.status < 300) return {push_outcome::delivered, std::nullopt, ""};
  if (r.status == 410) return {push_outcome::unregistered, std::nullopt, "Gone"};
  if (retryable_status(r.status)) {
    std::optional<int> after;
    if (auto h = r.header("retry-after")) after = parse_retry_after(*h, now_ms() / 1000);
    return {push_outcome::retry, after, r.status ? "HTTP " + std::to_string(r.status) : r.error};
  }
  return {push_outcome::rejected, std::nullopt, "HTTP " + std::to_string(r.status)};
}

}  // namespace parley::services::push
