// Apps, users, their access and session tokens, and push tokens.

#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"
#include "store/stored_json.hpp"

#include <array>

namespace parley::store::sqlite {

// ---- apps ----

result<void> sqlite_store::create_app(const app_record& a) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::insert_app);
  s.bind(1, a.app_id).bind(2, a.name).bind(3, a.api_token_hash).bind(4, a.signing_secret);
  s.bind(5, a.created_at).bind(6, encode_settings(a.settings));
  return done(s.step());
}

result<std::vector<app_record>> sqlite_store::list_apps() {
  std::lock_guard lock(mutex_);
  auto s = st(sql::list_apps);
  std::vector<app_record> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_app(s));
  if (rc != SQLITE_DONE) return db_failure(rc);
  return out;
}

result<app_record> sqlite_store::find_app(const std::string& app_id) {
  std::unique_lock lock(mutex_, std::defer_lock);
  auto r = lookup_connection(lock);
  auto s = st(r, sql::find_app);
  s.bind(1, app_id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_app(s);
  if (rc == SQLITE_DONE) return fail(errc::not_found, "app_not_found");
  return db_failure(rc);
}

result<store::app_and_user> sqlite_store::find_app_and_user(const std::string& app_id,
                                                            const std::string& user_id) {
  std::unique_lock lock(mutex_, std::defer_lock);
  auto r = lookup_connection(lock);
  app_and_user out;
  std::int64_t version = 0;
  {
    auto s = st(r, sql::find_user_with_apps_version);
    s.bind(1, app_id).bind(2, user_id);
    if (int rc = s.step(); rc != SQLITE_ROW) return db_failure(rc);
    if (s.opt_text(1)) out.user = read_user(s);
    version = s.int64(7);
  }
  if (auto cached = apps_cache_.find(app_id, version)) {
    out.app = std::move(*cached);
    return out;
  }
  // Not cached, or changed since: read it with the version it goes with.
  auto s = st(r, sql::find_app_with_version);
  s.bind(1, app_id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return fail(errc::not_found, "app_not_found");
  if (rc != SQLITE_ROW) return db_failure(rc);
  out.app = read_app(s);
  apps_cache_.put(out.app, s.int64(6));
  return out;
}

result<void> sqlite_store::set_app_token_hash(const std::string& app_id, const std::string& hash) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::set_app_token_hash);
  s.bind(1, hash).bind(2, app_id);
  return changed_one(db_, s.step(), "app_not_found");
}

result<void> sqlite_store::delete_app(const std::string& app_id) {
  std::lock_guard lock(mutex_);
  transaction tx(*this);
  // The app's sessions end with its users (find_session joins them); prune_sessions reclaims
  // their rows.
  if (auto r = next_epoch_locked(); !r) return r.error();
  for (auto id :
       {sql::delete_app_session_tokens, sql::delete_app_push_tokens, sql::delete_app_users}) {
    auto s = st(id);
    s.bind(1, app_id);
    if (int rc = s.step(); rc != SQLITE_DONE) return db_failure(rc);
  }
  auto s = st(sql::delete_app);
  s.bind(1, app_id);
  if (auto r = changed_one(db_, s.step(), "app_not_found"); !r) return r.error();
  if (auto r = tx.commit(); !r) return r.error();
  live_sessions_.erase_app(app_id);
  return {};
}

result<void> sqlite_store::set_settings(const std::string& app_id, const app_settings& settings) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::set_app_settings);
  s.bind(1, encode_settings(settings)).bind(2, app_id);
  return changed_one(db_, s.step(), "app_not_found");
}

// ---- users ----

result<void> sqlite_store::create_user(const user_record& u) {
  std::lock_guard lock(mutex_);
  // A new user's sessions hold the counter's current epoch; every epoch its id had before (a
  // deleted user of the same id) is older, as deleting moves the counter on.
  auto s = st(sql::insert_user);
  s.bind(1, u.app_id).bind(2, u.user_id).bind(3, u.nickname).bind(4, u.profile_url);
  s.bind(5, encode_map(u.metadata)).bind(6, u.created_at).bind(7, u.access_token_hash);
  int rc = s.step();
  if (rc == SQLITE_CONSTRAINT) return fail(errc::user_exists, "a user with this user_id exists");
  return done(rc);
}

result<user_record> sqlite_store::find_user(const std::string& app_id, const std::string& user_id) {
  std::unique_lock lock(mutex_, std::defer_lock);
  auto r = lookup_connection(lock);
  return find_user_in(r, app_id, user_id);
}

result<user_record> sqlite_store::find_user_in(reader_pool::reader* r, const std::string& app_id,
                                               const std::string& user_id) {
  auto s = st(r, sql::find_user);
  s.bind(1, app_id).bind(2, user_id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_user(s);
  if (rc == SQLITE_DONE) return fail(errc::not_found, "user_not_found");
  return db_failure(rc);
}

result<std::vector<user_record>> sqlite_store::list_users(const std::string& app_id,
                                                          const std::string& after, int limit) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::list_users);
  s.bind(1, app_id).bind(2, after).bind(3, static_cast<std::int64_t>(limit));
  std::vector<user_record> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_user(s));
  if (rc != SQLITE_DONE) return db_failure(rc);
  return out;
}

result<user_record> sqlite_store::update_user(const std::string& app_id, const std::string& user_id,
                                              const user_patch& p) {
  std::lock_guard lock(mutex_);
  auto found = find_user_in(nullptr, app_id, user_id);
  if (!found) return found.error();
  auto u = *found;
  if (p.nickname) u.nickname = *p.nickname;
  if (p.profile_url) u.profile_url = *p.profile_url;
  if (p.metadata) u.metadata = *p.metadata;
  auto s = st(sql::update_user);
  s.bind(1, u.nickname).bind(2, u.profile_url).bind(3, encode_map(u.metadata));
  s.bind(4, app_id).bind(5, user_id);
  if (auto r = changed_one(db_, s.step(), "user_not_found"); !r) return r.error();
  return u;
}

result<void> sqlite_store::delete_user(const std::string& app_id, const std::string& user_id,
                                       std::span<const outbox_entry> outbox) {
  std::lock_guard lock(mutex_);
  transaction tx(*this);
  // The user's sessions end with its row (find_session joins it); prune_sessions reclaims theirs.
  // The counter moves on so that a user made again with this id starts past them.
  if (auto r = next_epoch_locked(); !r) return r.error();
  for (auto id : {sql::delete_user_session_tokens, sql::delete_user_push_tokens}) {
    auto s = st(id);
    s.bind(1, app_id).bind(2, user_id);
    if (int rc = s.step(); rc != SQLITE_DONE) return db_failure(rc);
  }
  auto s = st(sql::delete_user);
  s.bind(1, app_id).bind(2, user_id);
  if (auto r = changed_one(db_, s.step(), "user_not_found"); !r) return r.error();
  if (auto r = insert_outbox(outbox); !r) return r.error();
  if (auto r = tx.commit(); !r) return r;
  live_sessions_.erase_user(app_id, user_id);
  return {};
}

// ---- access and session tokens ----

result<void> sqlite_store::set_access_token(const std::string& app_id, const std::string& user_id,
                                            const std::optional<std::string>& hash) {
  std::lock_guard lock(mutex_);
  transaction tx(*this);
  auto s = st(sql::set_access_token);
  s.bind(1, hash).bind(2, app_id).bind(3, user_id);
  if (auto r = changed_one(db_, s.step(), "user_not_found"); !r) return r.error();
  if (auto r = end_sessions(app_id, user_id, session_source::access_token); !r) return r;
  return tx.commit();
}

result<void> sqlite_store::add_session_token(const std::string& app_id, const std::string& user_id,
                                             const std::string& hash, millis expires_at) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::insert_session_token);
  s.bind(1, hash).bind(2, app_id).bind(3, user_id).bind(4, expires_at);
  int rc = s.step();
  if (rc == SQLITE_CONSTRAINT) return fail(errc::not_found, "user_not_found");
  return done(rc);
}

result<session_token_record> sqlite_store::find_session_token(const std::string& app_id,
                                                              const std::string& hash) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::find_session_token);
  s.bind(1, hash).bind(2, app_id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return session_token_record{s.text(0), s.text(1), s.int64(2)};
  if (rc == SQLITE_DONE) return fail(errc::not_found, "session_token_not_found");
  return db_failure(rc);
}

result<void> sqlite_store::revoke_session_tokens(const std::string& app_id,
                                                 const std::string& user_id) {
  std::lock_guard lock(mutex_);
  transaction tx(*this);
  auto s = st(sql::delete_session_tokens);
  s.bind(1, app_id).bind(2, user_id);
  if (int rc = s.step(); rc != SQLITE_DONE) return db_failure(rc);
  if (auto r = end_sessions(app_id, user_id, session_source::session_token); !r) return r;
  return tx.commit();
}

result<std::int64_t> sqlite_store::next_epoch_locked() {
  auto s = st(sql::next_epoch);
  if (int rc = s.step(); rc != SQLITE_ROW)
    return db_failure(rc == SQLITE_DONE ? SQLITE_CORRUPT : rc);
  auto epoch = s.int64(0);
  if (int rc = s.step(); rc != SQLITE_DONE) return db_failure(rc);
  return epoch;
}

result<void> sqlite_store::end_sessions(const std::string& app_id, const std::string& user_id,
                                        session_source source) {
  auto epoch = next_epoch_locked();
  if (!epoch) return epoch.error();
  static constexpr std::array<sql, 3> set_epoch{sql::set_access_epoch, sql::set_token_epoch,
                                                sql::set_jwt_epoch};
  auto s = st(set_epoch.at(static_cast<std::size_t>(source)));
  s.bind(1, *epoch).bind(2, app_id).bind(3, user_id);
  auto out = done(s.step());
  // Ended now, or (if the transaction fails) still live but recounted at the next reload.
  live_sessions_.forget(app_id, user_id, [&](const auto& l) { return l.source == source; });
  live_sessions_.stale = live_sessions_.stale || !out;
  return out;
}

// ---- push tokens ----

result<void> sqlite_store::put_push_token(const std::string& app_id, const std::string& user_id,
                                          const push_token_record& t) {
  std::lock_guard lock(mutex_);
  // One device, one owner: a token registered by a new user moves to that user.
  auto s = st(sql::put_push_token);
  s.bind(1, app_id).bind(2, t.type).bind(3, t.token).bind(4, user_id).bind(5, t.registered_at);
  return done(s.step());
}

result<std::vector<push_token_record>> sqlite_store::list_push_tokens(const std::string& app_id,
                                                                      const std::string& user_id) {
  std::unique_lock lock(mutex_, std::defer_lock);
  auto s = st(lookup_connection(lock), sql::list_push_tokens);
  s.bind(1, app_id).bind(2, user_id);
  std::vector<push_token_record> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.text(0), s.text(1), s.int64(2)});
  if (rc != SQLITE_DONE) return db_failure(rc);
  return out;
}

result<void> sqlite_store::delete_push_tokens(const std::string& app_id, const std::string& user_id,
                                              const std::string& type, const std::string& token) {
  std::lock_guard lock(mutex_);
  if (token.empty()) {
    auto s = st(sql::delete_push_tokens_of_type);
    s.bind(1, app_id).bind(2, user_id).bind(3, type);
    return done(s.step());
  }
  auto s = st(sql::delete_push_token);
  s.bind(1, app_id).bind(2, user_id).bind(3, type).bind(4, token);
  return done(s.step());  // deleting a token that is not there is not an error
}

}  // namespace parley::store::sqlite
