#pragma once
// Client authentication (protocol.md, "Client API"): a user id with an access token, a session
// token or an app-signed JWT becomes a session key; session keys are checked on every client
// request and WebSocket hello. Failed attempts are rate-limited per user id and per address.

#include "common/errors.hpp"
#include "common/metrics.hpp"
#include "services/connection_hub.hpp"
#include "services/ice.hpp"
#include "services/rate_limiter.hpp"
#include "store/store.hpp"

#include <functional>
#include <optional>
#include <string>

namespace parley::services {

struct credentials {
  std::string user_id;
  std::optional<std::string> access_token;
  std::optional<std::string> session_token;
  std::optional<std::string> jwt;
};

struct auth_limits {
  int failures_per_user = 10;
  int failures_per_address = 50;
  millis window_ms = 60'000;
};

struct authenticated {
  std::string session_key;  // shown once to the device
  store::user_record user;
  std::optional<millis> session_expires_at;
  std::vector<ice_server> ice_servers;
};

// A verified session: who it is, until when.
struct session_view {
  store::session_record session;
  store::user_record user;
};

class auth_service {
 public:
  // `hub`: the live connections a deauthentication closes.
  auth_service(store::store& st, connection_hub& hub, ice_config ice, auth_limits lim, metrics& m);

  // Authenticates a device, the session written by the store's group commit: `done` runs
  // once, on a store thread, after the session row is committed, or at once (on this thread)
  // when the request is refused before anything is written. Refusals: invalid_request (a
  // `device_id` given empty, a bad user id, not exactly one credential), rate_limited (with
  // retry_after_s), not_found (no such app), invalid_credentials, token_expired. No device id:
  // its connections replace none and are never replaced.
  void authenticate_async(const std::string& app_id, const credentials& c,
                          const std::optional<std::string>& device_id,
                          const std::string& remote_address, millis now,
                          std::function<void(result<authenticated>)> done);

  // unauthorized for an unknown key, session_expired past its expiry.
  result<session_view> verify(std::string_view session_key, millis now);

  // Ends the session and closes its live connections (4000), as a revocation closes its own.
  result<void> deauthenticate(const store::session_record& s);

  // Moves a session to a fresh session token or JWT of the same user: updates `s` (source and
  // expiry) and returns the new expiry. Limited and counted like an authentication: refused
  // with rate_limited while the user or `remote_address` is over its failure limit; a bad
  // token counts as a failure of both.
  result<millis> refresh(store::session_record& s, const std::optional<std::string>& session_token,
                         const std::optional<std::string>& jwt, const std::string& remote_address,
                         millis now);

  // The admin API's token check, limited per address like authentication: rate_limited (with
  // retry_after_s) while `remote_address` has too many failures, unauthorized when `presented`
  // is not `configured` (which counts as one). `configured` is not empty.
  result<void> admin_attempt(std::string_view presented, std::string_view configured,
                             const std::string& remote_address, millis now);

  std::vector<ice_server> ice_servers(const std::string& user_id, millis now) const {
    return ice_servers_for(ice_, user_id, now);
  }

  void prune(millis now);
  // Reclaims the rows of ended sessions, a slice at a time, and of sessions expired for a day
  // (call every second).
  void prune_sessions(millis now);

 private:
  struct verified_token {
    store::session_source source;
    std::optional<millis> expires_at;
    store::user_record user;
  };
  // Everything before the write: the session row to store and the answer to give once it is.
  struct prepared {
    store::session_record session;
    authenticated answer;
  };
  result<prepared> prepare(const std::string& app_id, const credentials& c,
                           const std::optional<std::string>& device_id,
                           const std::string& remote_address, millis now);
  // `find_user` gives the user named by the credentials, or not_found: looked up already
  // (authentication reads it with the app) or read when asked (refresh).
  using user_finder = std::function<result<store::user_record>()>;
  result<verified_token> check_credentials(const store::app_record& app, const credentials& c,
                                           millis now, const user_finder& find_user);

  store::store& store_;
  connection_hub& hub_;
  ice_config ice_;
  metrics& metrics_;
  // 0 when the user (app_id '\n' user_id) and the address may try; else the seconds to wait.
  int retry_after_s(const std::string& user_key, const std::string& remote_address, millis now);
  // A credential check of authenticate or refresh failed with `f`: a wrong or expired credential
  // counts against both limits, and every outcome is counted in the metrics. Returns `f`.
  failure refused(failure f, const std::string& user_key, const std::string& remote_address,
                  millis now);

  rate_limiter by_user_;
  rate_limiter by_address_;
  rate_limiter admin_by_address_;
};

}  // namespace parley::services
