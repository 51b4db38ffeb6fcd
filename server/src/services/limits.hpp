#pragma once
// The protocol's limits (protocol.md, "Conventions") and the validation of ids. One place, so
// the HTTP routes, the WebSocket dispatch and the tests agree.

#include "common/errors.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace parley::limits {

inline constexpr std::size_t http_body_bytes = 64 * 1024;
inline constexpr std::size_t ws_message_bytes = 64 * 1024;
inline constexpr int json_depth = 32;
inline constexpr std::size_t map_pairs = 16;  // custom_items, metadata
inline constexpr std::size_t map_string_bytes = 128;
inline constexpr std::size_t user_id_bytes = 128;
// The most bytes of a `user_id` read from a request that creates a user or authenticates one:
// longer is refused as the request is decoded ("at most 4096 bytes"); shorter reaches the
// service's check (valid_user_id), whose answer states the rule.
inline constexpr std::size_t user_id_field_bytes = 4096;
inline constexpr std::size_t nickname_bytes = 128;
inline constexpr std::size_t profile_url_bytes = 2048;
inline constexpr std::size_t device_id_bytes = 64;
inline constexpr std::size_t req_id_bytes = 64;
inline constexpr std::size_t push_token_bytes = 4096;
inline constexpr std::size_t app_name_bytes = 128;
inline constexpr std::size_t token_bytes = 4096;  // any credential presented to us

// 1–128 bytes of [A-Za-z0-9._@:+-].
bool valid_user_id(std::string_view id) noexcept;
// apns_voip, apns or fcm.
bool valid_push_type(std::string_view type) noexcept;
// A device id given by a client (authentication, WebSocket hello): absent, or 1 to
// device_id_bytes bytes (the longer ones are refused as the request is decoded). The failure
// names the rule.
result<void> check_device_id(const std::optional<std::string>& device_id);

}  // namespace parley::limits
