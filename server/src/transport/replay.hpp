#pragma once
// Replays raw bytes through the real HTTP session over an in-memory stream, for the fuzzers
// (fuzz/) and tests: the request path from the wire (Beast's parser, limits, upgrade, static
// files, the router) without a socket. Free of Asio/Beast types.

#include "api/context.hpp"
#include "api/router.hpp"
#include "transport/server.hpp"

#include <string>
#include <string_view>

namespace parley::transport {

// Runs one HTTP session on a private io_context, on this thread, as if a client had sent
// `bytes` on a fresh connection and then closed its sending side; returns every byte the
// server wrote back. The static roots, limits and timeouts come from `cfg`. Returns once the
// session (and a WebSocket it upgraded to) has ended, including answers the store gives later.
std::string replay_http(std::string_view bytes, api::context& ctx, api::http_api& http,
                        const transport_config& cfg);

}  // namespace parley::transport
