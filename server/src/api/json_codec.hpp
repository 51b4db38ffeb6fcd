#pragma once
// Decoding request JSON with the protocol's limits, reading typed fields with errors that name
// the field, and encoding the protocol's objects.

#include "common/errors.hpp"
#include "services/auth_service.hpp"
#include "services/call_service.hpp"
#include "services/ice.hpp"
#include "services/user.hpp"
#include "store/call_record.hpp"
#include "store/records.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace parley::api {

// Parses a JSON object: depth at most 32, valid UTF-8, no number beyond a double's range (it
// would serialize as `Infinity`, not JSON). An empty text is an empty object when
// `empty_ok`. invalid_request otherwise.
result<boost::json::object> parse_object(std::string_view text, bool empty_ok = false);

// Typed field access: nullopt when absent (or null); invalid_request naming the field when the
// type is wrong or a string is longer than `max_bytes`.
result<std::optional<std::string>> opt_string(const boost::json::object& o, std::string_view name,
                                              std::size_t max_bytes);
result<std::string> req_string(const boost::json::object& o, std::string_view name,
                               std::size_t max_bytes);
result<std::optional<bool>> opt_bool(const boost::json::object& o, std::string_view name);
result<std::optional<std::int64_t>> opt_int(const boost::json::object& o, std::string_view name);
// An object of string values: at most 16 pairs, keys 1–128 bytes, values at most 128 bytes.
result<std::optional<store::string_map>> opt_string_map(const boost::json::object& o,
                                                        std::string_view name);

// The protocol's user object.
boost::json::object to_json(const services::user& u);
boost::json::object to_json(const store::user_record& u);  // to_json(services::user_of(u))
boost::json::array to_json(const std::vector<services::ice_server>& servers);
boost::json::object to_json(const store::app_settings& s);
// A webhook delivery of GET /webhook_deliveries.
boost::json::object delivery_json(const store::outbox_entry& e);
boost::json::value to_json(const std::optional<millis>& t);
// The end_result the callee's other devices are told when one device accepted: in the call
// object they get and as the reason of the cancel push. A wire name only; no call is stored so.
inline constexpr std::string_view other_device_accepted = "other_device_accepted";

// The protocol's call object. `other_device_copy`: the copy a callee's other devices get when
// one device accepted (state ended, end_result other_device_accepted).
boost::json::object to_json(const store::call_record& c, bool other_device_copy = false);

}  // namespace parley::api
