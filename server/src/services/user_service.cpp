#include "services/user_service.hpp"

#include "common/crypto.hpp"
#include "services/limits.hpp"

namespace parley::services {

namespace {

result<void> check_user_id(const std::string& user_id) {
  if (!limits::valid_user_id(user_id))
    return fail(errc::invalid_request,
                "user_id must be 1 to 128 bytes of letters, digits and . _ @ : + -", "user_id");
  return {};
}

result<void> check_push(const std::string& type, const std::string& token, bool token_required) {
  if (!limits::valid_push_type(type))
    return fail(errc::invalid_request, "type must be apns_voip, apns or fcm", "type");
  if ((token_required && token.empty()) || token.size() > limits::push_token_bytes)
    return fail(errc::invalid_request, "token must be 1 to 4096 bytes", "token");
  return {};
}
}  // namespace

result<void> user_service::check_profile(const std::optional<std::string>& nickname,
                                         const std::optional<std::string>& profile_url,
                                         const std::optional<store::string_map>& metadata) {
  if (nickname && nickname->size() > limits::nickname_bytes)
    return fail(errc::invalid_request, "nickname must be at most 128 bytes", "nickname");
  if (profile_url && profile_url->size() > limits::profile_url_bytes)
    return fail(errc::invalid_request, "profile_url must be at most 2048 bytes", "profile_url");
  if (metadata) {
    if (metadata->size() > limits::map_pairs)
      return fail(errc::invalid_request, "metadata holds at most 16 pairs", "metadata");
    for (const auto& [k, v] : *metadata)
      if (k.empty() || k.size() > limits::map_string_bytes || v.size() > limits::map_string_bytes)
        return fail(errc::invalid_request,
                    "metadata keys are 1 to 128 bytes and values at most 128 bytes", "metadata");
  }
  return {};
}

result<created_user> user_service::create(const std::string& app_id, const new_user& u,
                                          millis now) {
  created_user out;
  auto& user = out.user;
  user.app_id = app_id;
  user.user_id = u.user_id;
  user.nickname = u.nickname.value_or("");
  user.profile_url = u.profile_url.value_or("");
  user.metadata = u.metadata.value_or(store::string_map{});
  user.created_at = now;
  if (auto r = check_user_id(user.user_id); !r) return r.error();
  if (auto r = check_profile(user.nickname, user.profile_url, user.metadata); !r) return r.error();
  if (u.issue_access_token) {
    out.access_token = crypto::new_secret();
    user.access_token_hash = crypto::sha256_hex(*out.access_token);
  }
  if (auto r = store_.create_user(user); !r) return r.error();
  return out;
}

result<std::string> user_service::demo_access_token(const std::string& app_id,
                                                    const std::string& user_id, millis now) {
  auto created =
      create(app_id, {.user_id = user_id, .nickname = user_id, .issue_access_token = true}, now);
  if (created) return std::move(*created->access_token);
  if (created.error().code != errc::user_exists) return created.error();
  return issue_access_token(app_id, user_id);
}

result<store::user_record> user_service::get(const std::string& app_id,
                                             const std::string& user_id) {
  if (!limits::valid_user_id(user_id)) return fail(errc::not_found, "user_not_found");
  return store_.find_user(app_id, user_id);
}

result<user_page> user_service::list(const std::string& app_id, int limit,
                                     const std::string& cursor) {
  if (auto r = check_page_limit(limit); !r) return r.error();
  std::string after;
  if (!cursor.empty()) {
    auto key = decode_cursor(cursor);
    if (!key) return key.error();
    if (!limits::valid_user_id(*key)) return bad_cursor();
    after = std::move(*key);
  }
  auto rows = store_.list_users(app_id, after, limit + 1);
  if (!rows) return rows.error();
  user_page page;
  page.users = std::move(*rows);
  page.next = trim_page(page.users, limit, [](const auto& u) { return u.user_id; });
  return page;
}

result<store::user_record> user_service::update(const std::string& app_id,
                                                const std::string& user_id,
                                                const store::user_patch& patch) {
  if (!limits::valid_user_id(user_id)) return fail(errc::not_found, "user_not_found");
  if (auto r = check_profile(patch.nickname, patch.profile_url, patch.metadata); !r)
    return r.error();
  return store_.update_user(app_id, user_id, patch);
}

void user_service::remove(const std::string& app_id, const std::string& user_id, millis now,
                          std::function<void(result<void>)> done) {
  if (!limits::valid_user_id(user_id)) return done(fail(errc::not_found, "user_not_found"));
  std::vector<store::outbox_entry> outbox;
  if (composer_) {
    auto app = store_.find_app(app_id);
    if (!app) return done(app.error());
    outbox = composer_->user_deleted(*app, user_id, now);
  }
  if (auto r = store_.delete_user(app_id, user_id, outbox); !r) return done(r.error());
  hub_.close_user(app_id, user_id, close_code::user_deleted, "user deleted");
  // The calls its connections carried end now, not after a reconnect grace: the peer hears
  // connection_lost.
  calls_.user_removed(app_id, user_id, now, [done = std::move(done)](int) { done({}); });
}

result<std::string> user_service::issue_access_token(const std::string& app_id,
                                                     const std::string& user_id) {
  if (!limits::valid_user_id(user_id)) return fail(errc::not_found, "user_not_found");
  auto token = crypto::new_secret();
  if (auto r = store_.set_access_token(app_id, user_id, crypto::sha256_hex(token)); !r)
    return r.error();
  hub_.close_user_sessions(app_id, user_id, store::session_source::access_token,
                           close_code::session_invalid, "access token rotated");
  return token;
}

result<void> user_service::revoke_access_token(const std::string& app_id,
                                               const std::string& user_id) {
  if (!limits::valid_user_id(user_id)) return fail(errc::not_found, "user_not_found");
  if (auto r = store_.set_access_token(app_id, user_id, std::nullopt); !r) return r.error();
  hub_.close_user_sessions(app_id, user_id, store::session_source::access_token,
                           close_code::session_invalid, "access token revoked");
  return {};
}

result<issued_session_token> user_service::issue_session_token(const std::string& app_id,
                                                               const std::string& user_id,
                                                               std::optional<millis> expires_at,
                                                               millis now) {
  if (!limits::valid_user_id(user_id)) return fail(errc::not_found, "user_not_found");
  millis at = expires_at.value_or(now + 7 * day_ms);
  if (at <= now || at > now + 365 * day_ms)
    return fail(errc::invalid_request,
                "expires_at must be in the future and at most 365 days ahead", "expires_at");
  if (auto u = store_.find_user(app_id, user_id); !u) return u.error();
  issued_session_token out{crypto::new_secret(), at};
  if (auto r = store_.add_session_token(app_id, user_id, crypto::sha256_hex(out.token), at); !r)
    return r.error();
  return out;
}

result<void> user_service::revoke_session_tokens(const std::string& app_id,
                                                 const std::string& user_id) {
  if (!limits::valid_user_id(user_id)) return fail(errc::not_found, "user_not_found");
  if (auto u = store_.find_user(app_id, user_id); !u) return u.error();
  if (auto r = store_.revoke_session_tokens(app_id, user_id); !r) return r.error();
  hub_.close_user_sessions(app_id, user_id, store::session_source::session_token,
                           close_code::session_invalid, "session tokens revoked");
  return {};
}

result<std::vector<store::push_token_record>> user_service::push_tokens(
    const std::string& app_id, const std::string& user_id) {
  if (!limits::valid_user_id(user_id)) return fail(errc::not_found, "user_not_found");
  if (auto u = store_.find_user(app_id, user_id); !u) return u.error();
  return store_.list_push_tokens(app_id, user_id);
}

result<void> user_service::register_push_token(const std::string& app_id,
                                               const std::string& user_id, const std::string& type,
                                               const std::string& token, millis now) {
  if (auto r = check_push(type, token, true); !r) return r.error();
  return store_.put_push_token(app_id, user_id, {type, token, now});
}

result<void> user_service::delete_push_tokens(const std::string& app_id, const std::string& user_id,
                                              const std::string& type, const std::string& token) {
  if (!limits::valid_user_id(user_id)) return fail(errc::not_found, "user_not_found");
  if (auto r = check_push(type, token, false); !r) return r.error();
  if (auto u = store_.find_user(app_id, user_id); !u) return u.error();
  return store_.delete_push_tokens(app_id, user_id, type, token);
}

}  // namespace parley::services
