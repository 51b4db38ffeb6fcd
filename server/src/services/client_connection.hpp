#pragma once
// A live WebSocket of one device, as the services see it. The transport implements it; every
// method is thread-safe and returns at once (the work is posted to the connection's strand).

#include <string>

namespace parley::services {

class client_connection {
 public:
  virtual ~client_connection() = default;
  // Queues one text message. A connection whose queue is over its bound is closed, not grown.
  // False when the message was dropped: the connection is closing or closed, or its queue is
  // full (then it closes with 1008). True is "queued", not "read by the peer".
  virtual bool send(std::string text) = 0;
  // Sends what is queued, then closes with `code`; later sends are dropped.
  virtual void close(int code, std::string reason) = 0;
  // The answer to the message that held reading (api::ws_handler::on_text returned true) went
  // out: read the next one.
  virtual void resume_reading() {}
  // The peer's address (for the failed-authentication limits of refresh).
  virtual std::string remote_address() const { return {}; }
};

// Close codes of protocol.md, "WebSocket".
namespace close_code {
inline constexpr int deauthenticated = 4000;
inline constexpr int session_invalid = 4001;
inline constexpr int no_hello = 4002;
inline constexpr int user_deleted = 4003;
inline constexpr int replaced = 4004;
inline constexpr int rate_limited = 4008;
inline constexpr int going_away = 1001;
inline constexpr int slow_consumer = 1008;
inline constexpr int too_big = 1009;
}  // namespace close_code

}  // namespace parley::services
