#pragma once

// parley::client: one end user's connection to a parleyd server.
//
// Threading: every method may be called from any thread. The client owns one io thread; all
// network work, and every callback and listener call, runs there. Do not block on a future of this
// client inside one of its callbacks or listeners (its answer needs the io thread): use the
// callback forms there. Destroying the client closes its connections, fails what is still pending
// with `network_error`, and joins the io thread; no callback runs after the destructor returns.

#include <parley/call.hpp>
#include <parley/error.hpp>
#include <parley/listeners.hpp>
#include <parley/media.hpp>
#include <parley/result.hpp>
#include <parley/types.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

namespace detail {
class client_impl;
}

// When the WebSocket drops for a network reason, the SDK waits
// min(max_delay, initial_delay * 2^(attempt-1)), less a random part of up to `jitter` of it, then
// connects again.
struct reconnect_policy {
  bool enabled = true;
  std::chrono::milliseconds initial_delay{500};
  std::chrono::milliseconds max_delay{30'000};
  double jitter = 0.5;   // 0 (none) .. 1 (anywhere between 0 and the full delay)
  int max_attempts = 0;  // 0: keep trying until connected or told to stop
};

enum class log_level { debug, info, warning, error };

struct client_options {
  // Base URL of the server's HTTP API: "http://host:port" or "https://host[:port][/prefix]".
  // The WebSocket URL is derived from it (ws:// or wss://, path /v1/ws under the prefix).
  std::string api_url;
  // Directory where the SDK keeps its state file (app id, device id, current user, session,
  // cached calls). Created if missing. The file holds the session key: keep it private.
  std::filesystem::path data_dir;

  // TLS (https:// only). Certificates are checked against the system trust store, plus `ca_file`
  // when set; the host name must match. Turning verification off is for tests.
  bool tls_verify_peer = true;
  std::string tls_ca_file;

  // Deadline of each HTTP request and of each WebSocket request (ack or error).
  std::chrono::milliseconds request_timeout{15'000};
  // Deadline to open the WebSocket and receive welcome.
  std::chrono::milliseconds connect_timeout{15'000};
  reconnect_policy reconnect;

  // Where the SDK's diagnostics go; nothing is logged when empty. Called on the io thread.
  // Secrets (tokens, session keys) are never logged.
  std::function<void(log_level, std::string_view)> logger;
};

struct deauth_options {
  // Before the session ends, remove from the server every push token this client registered in
  // it (register_push_token; the list is kept in the state file), so the device stops receiving
  // pushes for this user.
  bool unregister_push_tokens = false;
};

class client {
 public:
  client();
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Binds the client to an app and a server, and loads the state kept in options.data_dir.
  // When the stored state belongs to another app id, every stored item of that app (current user,
  // session, device id, cached calls) is cleared first. The device id is made once per data
  // directory and app, and kept. May be called again: an open WebSocket is closed
  // (closed_by_client) and the new options take effect. Throws parley::error
  // (invalid_request) for an empty app id, a bad URL or a data directory that cannot be used.
  void init(std::string app_id, client_options options);

  // Authenticates the user and keeps the session (key, expiry, ICE servers) in memory and in the
  // data directory. Errors: not_initialized, invalid_request (not exactly one credential),
  // invalid_credentials, token_expired, rate_limited, network_error, invalid_response. A new
  // authentication replaces the previous session locally (an open WebSocket is closed first).
  void authenticate(auth_params params, std::function<void(result<user>)> done);
  std::future<user> authenticate(auth_params params);

  // Opens the WebSocket and says hello with the session key and device id; ready when the server
  // welcomed it (state `connected`). Already connected: ready at once. While it stays up, the SDK
  // reconnects by itself after a network drop (see reconnect_policy). Errors: not_initialized,
  // not_authenticated, network_error, and the server's hello refusal (unauthorized,
  // session_expired).
  void connect_websocket(std::function<void(result<void>)> done);
  std::future<void> connect_websocket();

  // Closes the WebSocket (normal closure) and stops reconnecting; the session is kept.
  void disconnect_websocket();

  // Ends the session on the server (DELETE /v1/session), then clears the current user, the
  // session and the cached calls locally, even when the server could not be reached; an open
  // WebSocket ends with disconnected(deauthenticated). Errors: not_initialized, not_authenticated;
  // a failed server call is reported too, after the local state was cleared.
  void deauthenticate(std::function<void(result<void>)> done);
  std::future<void> deauthenticate();
  // The same, with options. unregister_push_tokens: first DELETE each push token this client
  // registered in the session (one already gone counts as removed); the session is ended and
  // cleared whatever those answers were, and the first failure (of a token, else of the session)
  // is reported.
  void deauthenticate(deauth_options options, std::function<void(result<void>)> done);
  std::future<void> deauthenticate(deauth_options options);

  // Push tokens of this user's device. A token held by another user of the app moves to this one.
  void register_push_token(std::string token, push_token_type type,
                           std::function<void(result<void>)> done);
  std::future<void> register_push_token(std::string token, push_token_type type);
  void unregister_push_token(std::string token, push_token_type type,
                             std::function<void(result<void>)> done);
  std::future<void> unregister_push_token(std::string token, push_token_type type);
  // Removes every token of `type` of this user.
  void unregister_all_push_tokens(push_token_type type, std::function<void(result<void>)> done);
  std::future<void> unregister_all_push_tokens(push_token_type type);

  // A push as the app received it (docs/sdk-cpp.md, "Calls from a push"): the JSON text of the
  // provider's payload ({"parley": {...}} from APNs, {"parley": "<JSON text>"} from FCM data) or
  // of the `parley` object itself. Needs init() only: no session, no connection.
  // - incoming_call: the ringing call, made at once; incoming-call listeners hear on_ringing
  //   before this returns. The same call id again (by push, welcome or `ringing`) is the same
  //   call object and no second on_ringing. Its accept/decline/end wait for the WebSocket's
  //   welcome when called before it.
  // - call_cancel: the call, now ended with the push's `reason` (on_ended fired), or still going
  //   when this device accepted it; nullptr when this client has no such call.
  // Errors: not_initialized; invalid_request for a payload that is not one of these (field():
  // what is wrong), for another app or another signed-in user, and for an incoming call whose
  // ringing_deadline has passed (field() "ringing_deadline"); invalid_call_state for an incoming
  // call that already ended on this client.
  // The first form runs on the io thread and waits for it (inline when called there); the second
  // answers on the io thread.
  result<std::shared_ptr<call>> handle_push_payload(std::string_view payload);
  void handle_push_payload(std::string_view payload,
                           std::function<void(result<std::shared_ptr<call>>)> done);

  // Listeners are kept (shared ownership) until removed. The id is for remove_connection_listener.
  std::uint64_t add_connection_listener(std::shared_ptr<connection_listener> listener);
  void remove_connection_listener(std::uint64_t id);
  // Replaces the session handler (nullptr: none; expiring sessions then simply expire).
  void set_session_handler(std::shared_ptr<session_handler> handler);

  // Direct calls (docs/sdk-cpp.md, "Direct calls"). The WebSocket must be connected.
  // Dials `params.callee_id`; the call is ringing when this completes. Errors: not_initialized,
  // not_authenticated, network_error (no connection), invalid_request, dial_myself,
  // callee_not_found.
  void dial(dial_params params, std::function<void(result<std::shared_ptr<call>>)> done);
  std::future<std::shared_ptr<call>> dial(dial_params params);
  // Hears calls that ring on this device (kept, shared ownership, until removed).
  std::uint64_t add_incoming_call_listener(std::shared_ptr<incoming_call_listener> listener);
  void remove_incoming_call_listener(std::uint64_t id);
  // Makes the media engine of each call established from now on (nullptr: none; the app then
  // does its own signalling with call::send_signal and report_media_connected).
  void set_media_engine_factory(media_engine_factory factory);
  // The calls this client knows that have not ended (ringing ones included).
  std::vector<std::shared_ptr<call>> ongoing_calls() const;
  // One page of this user's call log, newest first (GET /v1/me/direct_calls). Needs a session,
  // not a connection. Errors: not_initialized, not_authenticated, invalid_request (limit outside
  // 1..100, bad cursor), unauthorized, network_error, invalid_response.
  void call_log(call_log_query query, std::function<void(result<call_log_page>)> done);
  std::future<call_log_page> call_log(call_log_query query = {});

  // Snapshots of the client's state; safe from any thread.
  bool initialized() const;
  std::string app_id() const;
  std::string device_id() const;
  std::optional<user> current_user() const;
  // The session key is a bearer credential for the client API: never log or share it.
  std::optional<std::string> session_key() const;
  // null for sessions that do not expire (made from an access token), and when there is none.
  std::optional<std::int64_t> session_expires_at() const;
  std::vector<ice_server> ice_servers() const;
  std::vector<call_info> cached_calls() const;
  connection_state state() const;

 private:
  std::shared_ptr<detail::client_impl> impl_;
};

}  // namespace parley
