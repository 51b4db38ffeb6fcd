#pragma once

// Plain data the SDK hands out: users, ICE servers, calls, credentials and push token types.
// Times are milliseconds since the Unix epoch, as on the wire.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

// A user of the app, as the server describes it.
struct user {
  std::string user_id;
  std::string nickname;
  std::string profile_url;
  std::map<std::string, std::string> metadata;
  std::int64_t created_at = 0;
  bool has_access_token = false;

  friend bool operator==(const user&, const user&) = default;
};

// A STUN or TURN server for the media engine. TURN entries carry time-limited credentials.
struct ice_server {
  std::vector<std::string> urls;
  std::optional<std::string> username;
  std::optional<std::string> credential;

  friend bool operator==(const ice_server&, const ice_server&) = default;
};

// A 1:1 call as the server last described it (the `call` object of the protocol). The SDK keeps
// the calls the server reported as ongoing when the WebSocket connected.
struct call_info {
  std::string call_id;
  std::string caller_id;
  std::string callee_id;
  bool is_video = false;
  std::string state;  // ringing, accepted, connected or ended
  std::int64_t created_at = 0;
  std::optional<std::int64_t> accepted_at;
  std::optional<std::int64_t> connected_at;
  std::optional<std::int64_t> ended_at;
  std::optional<std::string> end_result;
  std::optional<std::string> ended_by;
  std::optional<std::int64_t> duration_ms;
  std::map<std::string, std::string> custom_items;
  // Known only from a push (client::handle_push_payload): the caller's nickname and when the call
  // stops ringing. The server's call object carries neither; they are kept when a later view of
  // the call from the server replaces the rest.
  std::optional<std::string> caller_nickname;
  std::optional<std::int64_t> ringing_deadline;

  friend bool operator==(const call_info&, const call_info&) = default;
};

// How a user proves who they are. Set user_id and exactly one of the three credentials:
// - access_token: issued by the app's backend; never expires; the session does not expire either.
// - session_token: issued by the app's backend with an expiry; the session expires with it.
// - jwt: HS256 signed by the app's backend with the app's signing secret (claims sub = user id,
//   iss = app id, exp); the session expires with it. An unknown user is created.
struct auth_params {
  std::string user_id;
  std::optional<std::string> access_token;
  std::optional<std::string> session_token;
  std::optional<std::string> jwt;
};

enum class push_token_type {
  apns_voip,  // Apple VoIP (PushKit) token
  apns,       // Apple remote notification token
  fcm,        // Firebase Cloud Messaging registration token
};

// "apns_voip", "apns" or "fcm".
std::string_view to_string(push_token_type type) noexcept;

}  // namespace parley
