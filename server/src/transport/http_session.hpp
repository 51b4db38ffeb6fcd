#pragma once
// One HTTP/1.1 connection: reads requests with a body limit and deadlines, answers them through
// the API, keeps the connection alive, and hands an upgrade on /v1/ws to the WebSocket session.

#include "api/router.hpp"
#include "transport/drain.hpp"
#include "transport/server.hpp"

namespace parley::transport {

template <class Stream>
void start_http_session(Stream stream, std::string remote_address, api::context& ctx,
                        api::http_api& http, const transport_config& cfg, drain_registry& registry);

}  // namespace parley::transport
