#pragma once
// The WebSocket protocol of one connection (protocol.md, "WebSocket /v1/ws"): hello and
// welcome, then requests by `type`, each answered by exactly one ack or error. This is where a
// WebSocket message is parsed and dispatched.

#include "api/context.hpp"
#include "services/client_connection.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace parley::api {

// One per connection. The transport calls it on the connection's strand, one call at a time.
class ws_handler {
 public:
  virtual ~ws_handler() = default;
  // True when the answer comes later (a call change waiting for its commit): the transport
  // reads no further message until the connection's resume_reading(), so that one
  // connection's requests apply in the order sent.
  virtual bool on_text(std::string_view text) = 0;
  virtual void on_binary() = 0;
  // The connection is gone (either side closed it); no more calls follow.
  virtual void on_close() = 0;
};

std::unique_ptr<ws_handler> open_ws_handler(context& ctx,
                                            std::shared_ptr<services::client_connection> conn);

// Session expiry over WebSocket: `session_expiring` 60 s ahead, then `session_expired` and
// close 4001. Called about every 250 ms by the server.
void sweep_sessions(context& ctx, millis now);

}  // namespace parley::api
