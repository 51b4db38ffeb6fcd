#pragma once
// The payload of a push outbox entry: one push to one device token, as the change that caused
// it queued it (api/outbox_events writes it; the delivery thread reads it back to send the push,
// to delete a dead token and to say which push failed). This file holds its one codec.
//
// Stored format: a JSON object in the entry's payload column,
//   {"user_id":..,"call_id":..,"token_type":..,"token":..,"is_video":..,"title":..,"parley":".."}
// with the keys in that order. Rows written by earlier versions have exactly these keys, so they
// must keep decoding: add keys, never rename or drop one.

#include <boost/json/fwd.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace parley::services::push {

struct push_job {
  std::string user_id;     // whose token it is: the callee
  std::string call_id;     // the call it is about; also the collapse id
  std::string token_type;  // "apns", "apns_voip" or "fcm"
  std::string token;
  bool is_video = false;
  std::string title;        // alert title: the caller's nickname, else user id; empty for a cancel
  std::string parley_json;  // the serialized `parley` object of protocol.md ("Push notifications")
};

// The payload text. Byte for byte what earlier versions wrote for the same job.
std::string encode_push_job(const push_job& job);
// nullopt when `payload` is not a JSON object. A missing key, or one of another type, reads as
// empty (false for is_video), as it always has: a stored row is never refused for a key.
std::optional<push_job> decode_push_job(std::string_view payload);

// Boost.JSON conversions behind the two above (value_from / value_to). value_to throws when
// the value is not an object (as Boost.JSON's as_object does).
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const push_job& job);
push_job tag_invoke(const boost::json::value_to_tag<push_job>&, const boost::json::value& v);

}  // namespace parley::services::push
