#pragma once

// Interfaces the app implements to hear about the connection and to supply fresh session tokens.
// Every method is called on the client's io thread: return quickly, and do not block on a future
// of the same client there (its answer needs that very thread).

#include <parley/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

enum class connection_state {
  disconnected,  // no WebSocket and none being made
  connecting,    // connect_websocket() in progress
  connected,     // welcome received: events flow
  reconnecting,  // the connection dropped for a network reason; the SDK is retrying
};

// Why the WebSocket is (or stays) closed.
enum class disconnect_reason {
  deauthenticated,   // the session ended (deauthenticate(), or close 4000)
  session_invalid,   // the session key was revoked or expired, or the hello was refused (4001)
  user_deleted,      // the app deleted the user (4003)
  replaced,          // a newer connection with the same session and device id took over (4004)
  network,           // could not connect, or gave up reconnecting
  closed_by_client,  // disconnect_websocket(), init() for another app, or the client shut down
};

std::string_view to_string(connection_state state) noexcept;
std::string_view to_string(disconnect_reason reason) noexcept;

struct disconnect_info {
  disconnect_reason reason = disconnect_reason::network;
  int close_code = 0;   // the WebSocket close code when the server sent one, else 0
  std::string message;  // for people, e.g. the server's error message or the network error
};

// Hears connection changes. Default implementations do nothing.
class connection_listener {
 public:
  virtual ~connection_listener() = default;

  // A welcome was received, after connect_websocket() or after a reconnection.
  virtual void on_connected() {}
  // The connection dropped for a network reason; attempt `attempt` (1, 2, ...) starts after
  // `delay`.
  virtual void on_reconnecting(int attempt, std::chrono::milliseconds delay) {
    (void)attempt;
    (void)delay;
  }
  // The connection is closed and the SDK will not reconnect by itself.
  virtual void on_disconnected(const disconnect_info& info) { (void)info; }
};

// Supplies a fresh session token (or JWT) when the session is about to expire. Only sessions
// made from a session token or a JWT expire.
class session_handler {
 public:
  using token_callback = std::function<void(std::optional<std::string> token)>;

  virtual ~session_handler() = default;

  // The server warned that the session expires soon. Call `provide` once, from any thread, with a
  // new token of the same kind as the one the session was made from (session token or JWT), or
  // with std::nullopt to let the session expire. The SDK sends it on the open WebSocket; the
  // connection stays up.
  virtual void on_session_token_required(token_callback provide) = 0;

  // The server accepted the new token; `expires_at` is the session's new expiry.
  virtual void on_session_refreshed(std::int64_t expires_at) { (void)expires_at; }

  // The refresh failed (the token was refused, or there was no connection to send it on).
  virtual void on_session_refresh_failed(const error& err) { (void)err; }
};

}  // namespace parley
