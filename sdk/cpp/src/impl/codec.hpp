#pragma once

// JSON of the protocol <-> the SDK's public types, and errors from HTTP and WebSocket answers.
// Readers are lenient about extra fields (the server may add some) and strict about the type of
// the fields they need.

#include <parley/error.hpp>
#include <parley/types.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::detail {

namespace json = boost::json;

// Parses text; std::nullopt when it is not JSON.
std::optional<json::value> parse_json(std::string_view text);

// Field readers: std::nullopt when missing, null or of another type.
std::optional<std::string> get_string(const json::object& o, std::string_view key);
std::optional<std::int64_t> get_int(const json::object& o, std::string_view key);
std::optional<bool> get_bool(const json::object& o, std::string_view key);
const json::object* get_object(const json::object& o, std::string_view key);
const json::array* get_array(const json::object& o, std::string_view key);

std::optional<user> user_from_json(const json::value& v);
json::object to_json(const user& u);

std::optional<std::vector<ice_server>> ice_servers_from_json(const json::value& v);
json::array to_json(const std::vector<ice_server>& servers);

std::optional<call_info> call_from_json(const json::value& v);
json::object to_json(const call_info& c);

// The error of a non-2xx HTTP answer: the protocol's error body when there is one, else a code
// guessed from the status. `retry_after` is the Retry-After header ("" when absent).
error error_from_http(int status, std::string_view body, std::string_view retry_after);

// The error of a WebSocket `error` frame.
error error_from_frame(const json::object& frame);

}  // namespace parley::detail
