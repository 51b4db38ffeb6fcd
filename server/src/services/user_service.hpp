#pragma once
// The Platform API's work on users: profiles, access tokens, session tokens and push tokens,
// with the live effects of revocation and deletion (connections closed, calls ended) done here,
// so every caller gets them. Input is already decoded and shape-checked by the API layer;
// bounds and ids are checked here.

#include "common/errors.hpp"
#include "services/call_service.hpp"
#include "services/connection_hub.hpp"
#include "services/outbox.hpp"
#include "services/pagination.hpp"
#include "store/store.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace parley::services {

struct user_page {
  std::vector<store::user_record> users;
  std::optional<std::string> next;  // opaque cursor
};

// A user to create, as the Platform API gives it.
struct new_user {
  std::string user_id;
  std::optional<std::string> nickname;
  std::optional<std::string> profile_url;
  std::optional<store::string_map> metadata;
  bool issue_access_token = false;
};

struct created_user {
  store::user_record user;                  // as stored
  std::optional<std::string> access_token;  // shown once; set when asked for
};

struct issued_session_token {
  std::string token;
  millis expires_at = 0;
};

class user_service {
 public:
  // `calls` ends a deleted user's calls; `composer` null: nothing goes to the outbox.
  user_service(store::store& st, connection_hub& hub, call_service& calls,
               outbox_composer* composer = nullptr)
      : store_(st), hub_(hub), calls_(calls), composer_(composer) {}

  // Creates the user at `now`; with `issue_access_token` also returns its first access token.
  // invalid_request (user_id, profile fields), user_exists.
  result<created_user> create(const std::string& app_id, const new_user& user, millis now);
  // The demo's sign-in (serve --demo): creates the user (its nickname its id) with an access
  // token, or gives an existing one a new access token (its access-token sessions end, 4001).
  result<std::string> demo_access_token(const std::string& app_id, const std::string& user_id,
                                        millis now);
  result<store::user_record> get(const std::string& app_id, const std::string& user_id);
  // Users in id order. invalid_request for a limit outside 1..100 (field "limit") or a cursor
  // this list did not issue (field "next").
  result<user_page> list(const std::string& app_id, int limit, const std::string& cursor);
  result<store::user_record> update(const std::string& app_id, const std::string& user_id,
                                    const store::user_patch& patch);
  // Deletes the user: its connections close with 4003, then its ongoing calls end (the peer
  // hears connection_lost). Call logs stay. `done` runs once those ends are committed, on a
  // thread of the store's (at once, on this thread, when no call was open or it failed).
  void remove(const std::string& app_id, const std::string& user_id, millis now,
              std::function<void(result<void>)> done);

  // New access token; the previous one and its sessions end (4001).
  result<std::string> issue_access_token(const std::string& app_id, const std::string& user_id);
  result<void> revoke_access_token(const std::string& app_id, const std::string& user_id);
  // expires_at: default now + 7 days; must be in (now, now + 365 days].
  result<issued_session_token> issue_session_token(const std::string& app_id,
                                                   const std::string& user_id,
                                                   std::optional<millis> expires_at, millis now);
  result<void> revoke_session_tokens(const std::string& app_id, const std::string& user_id);

  result<std::vector<store::push_token_record>> push_tokens(const std::string& app_id,
                                                            const std::string& user_id);
  result<void> register_push_token(const std::string& app_id, const std::string& user_id,
                                   const std::string& type, const std::string& token, millis now);
  // token empty: every token of the type.
  result<void> delete_push_tokens(const std::string& app_id, const std::string& user_id,
                                  const std::string& type, const std::string& token);

  // A user's id and profile fields, checked against limits.hpp.
  static result<void> check_profile(const std::optional<std::string>& nickname,
                                    const std::optional<std::string>& profile_url,
                                    const std::optional<store::string_map>& metadata);

 private:
  store::store& store_;
  connection_hub& hub_;
  call_service& calls_;
  outbox_composer* composer_;
};

}  // namespace parley::services
