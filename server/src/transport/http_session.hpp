#pragma once
// One HTTP/1.1 connection: reads requests with a body limit and deadlines, answers them through
// the API, keeps the connection alive, and hands an upgrade on /v1/ws to the WebSocket session.

#include "transport/connection_limiter.hpp"
#include "transport/session_env.hpp"

#include <string>

namespace parley::transport {

// `slot` is the connection's place under the caps; the session (and the WebSocket session it
// may become) holds it until the connection ends.
template <class Stream>
void start_http_session(Stream stream, std::string remote_address, session_env& env,
                        std::shared_ptr<connection_slot> slot);

}  // namespace parley::transport
