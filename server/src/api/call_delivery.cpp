#include "api/call_delivery.hpp"

#include "api/json_codec.hpp"

#include <boost/json/serialize.hpp>

namespace parley::api {

namespace json = boost::json;
using services::calls::audience;
using services::calls::effect_type;

void call_delivery::deliver(const store::call_record& c, const services::calls::effect& e) {
  json::object msg{{"type", to_string(e.type)}};
  // Reconnect notices name the call; state changes carry the whole call object.
  if (e.type == effect_type::peer_reconnecting || e.type == effect_type::peer_reconnected)
    msg["call_id"] = c.call_id;
  else
    msg["call"] = to_json(c, e.other_device_copy);
  auto text = json::serialize(msg);
  switch (e.to) {
    case audience::caller_bound:
      if (!c.caller.connection_id.empty()) hub_.send_to_connection(c.caller.connection_id, text);
      break;
    case audience::callee_bound:
      if (!c.callee.connection_id.empty()) hub_.send_to_connection(c.callee.connection_id, text);
      break;
    case audience::callee_all:
      hub_.send_to_user(c.app_id, c.callee_id, text);
      break;
    case audience::callee_others:
      hub_.send_to_user(c.app_id, c.callee_id, text, e.except_connection);
      break;
    case audience::both_all:
      hub_.send_to_user(c.app_id, c.caller_id, text);
      hub_.send_to_user(c.app_id, c.callee_id, text);
      break;
  }
}

}  // namespace parley::api
