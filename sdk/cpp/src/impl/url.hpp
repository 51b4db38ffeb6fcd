#pragma once

// Parsing of the API URL given to client::init, and percent-encoding of path segments.

#include "transport/endpoint.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace parley::detail {

// "http://host[:port][/prefix]" or "https://..."; host may be a name, IPv4 or [IPv6].
// std::nullopt for anything else (other schemes, user info, query, fragment, bad port).
std::optional<transport::endpoint> parse_api_url(std::string_view url);

// Percent-encodes everything but the unreserved characters of RFC 3986.
std::string encode_path_segment(std::string_view segment);

}  // namespace parley::detail
