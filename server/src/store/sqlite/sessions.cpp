// Sessions, and the count of each user's live ones (max_sessions_per_user).

#include "common/crypto.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

#include <algorithm>

namespace parley::store::sqlite {

result<void> sqlite_store::create_session(const session_record& r) {
  std::vector<std::string> ended;
  {
    std::lock_guard lock(mutex_);
    if (auto w = insert_session_locked(r, ended); !w) return w;
  }
  if (!ended.empty() && sessions_ended_) sessions_ended_(ended);
  return {};
}

void sqlite_store::create_session_batched(const session_record& r,
                                          std::optional<std::string> token_hash,
                                          std::function<void(result<void>)> done) {
  // The sessions this one ends (the user's oldest), told once the batch committed.
  auto ended = std::make_shared<std::vector<std::string>>();
  auto tell = [this, ended, done = std::move(done)](result<void> w) {
    if (w && !ended->empty() && sessions_ended_) sessions_ended_(*ended);
    done(std::move(w));
  };
  writer_->submit({[this, r, token_hash = std::move(token_hash), ended]() -> result<void> {
                     if (token_hash) {
                       // Inside the batch's transaction: the check and the insert see the same
                       // snapshot.
                       auto s = st(sql::user_access_token_hash);
                       s.bind(1, r.app_id).bind(2, r.user_id);
                       int rc = s.step();
                       if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_failure(rc);
                       if (rc == SQLITE_DONE || s.opt_text(0) != token_hash)
                         return fail(errc::invalid_credentials,
                                     "the user id and token do not match");
                     }
                     return insert_session_locked(r, *ended);
                   },
                   std::move(tell)});
}

// The row takes the user's epoch for its source from the users row, in the same statement: no
// row is written for a user that no longer exists. Past max_sessions_per_user, the user's oldest
// sessions are deleted with it, as one unit, and their key hashes added to `ended`. The count
// comes from live_sessions_, so authentication reads nothing more and writes one small delete
// only when a user is at the limit.
result<void> sqlite_store::insert_session_locked(const session_record& r,
                                                 std::vector<std::string>& ended) {
  if (live_sessions_.stale) load_live_sessions();
  auto& mine = live_sessions_.of(r.app_id, r.user_id);
  // Sessions already expired no longer count (their rows go with prune_sessions).
  std::erase_if(mine, [&](const auto& l) { return l.expires_at && *l.expires_at <= r.created_at; });
  auto max = static_cast<std::size_t>(std::max(0, options_.max_sessions_per_user));
  std::size_t excess = max > 0 && mine.size() >= max ? mine.size() - max + 1 : 0;
  auto written = excess == 0 ? insert_session_row(r) : in_savepoint([&]() -> result<void> {
    if (auto w = insert_session_row(r); !w) return w;
    auto del = st(sql::delete_session_by_id);
    for (std::size_t i = 0; i < excess; ++i) {
      del.bind(1, mine[i].id);
      if (int rc = del.step(); rc != SQLITE_DONE) return db_failure(rc);
      del.reset();
    }
    return {};
  });
  if (!written) {
    live_sessions_.drop_if_empty(r.app_id, r.user_id);
    return written;
  }
  for (std::size_t i = 0; i < excess; ++i) ended.push_back(std::move(mine[i].key_hash));
  mine.erase(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(excess));
  mine.push_back({r.id, r.key_hash, r.source, r.expires_at});
  return {};
}

result<void> sqlite_store::insert_session_row(const session_record& r) {
  auto s = st(sql::insert_session);
  s.bind(1, r.id).bind(2, r.key_hash).bind(3, static_cast<std::int64_t>(r.source));
  s.bind(4, r.expires_at).bind(5, r.device_id).bind(6, r.created_at);
  s.bind(7, r.app_id).bind(8, r.user_id);
  int rc = s.step();
  if (rc != SQLITE_DONE) return db_failure(rc);
  if (sqlite3_changes(db_) == 0) return fail(errc::invalid_credentials, "user no longer exists");
  return {};
}

// A session whose user is gone or whose epoch is not its user's (revoked) is not found.
result<session_record> sqlite_store::find_session(std::int64_t id, const std::string& key_hash,
                                                  user_record* user) {
  std::unique_lock lock(mutex_, std::defer_lock);
  auto rd = lookup_connection(lock);
  auto s = st(rd, id != 0 ? sql::find_session_by_id : sql::find_session_by_legacy_hash);
  if (id != 0)
    s.bind(1, id);
  else
    s.bind(2, key_hash);
  int rc = s.step();
  if (rc == SQLITE_ROW) {
    session_record r;
    r.id = s.int64(7);
    r.key_hash = s.text(8);
    // By id, the row is found before the secret is checked: compare the hashes in constant time.
    if (!crypto::constant_time_equal(r.key_hash, key_hash))
      return fail(errc::not_found, "session_not_found");
    auto u = read_user(s);
    r.app_id = u.app_id;
    r.user_id = u.user_id;
    r.source = static_cast<session_source>(s.int64(9));
    r.expires_at = s.opt_int64(10);
    r.device_id = s.text(11);
    r.created_at = s.int64(12);
    if (user) *user = std::move(u);
    return r;
  }
  if (rc == SQLITE_DONE) return fail(errc::not_found, "session_not_found");
  return db_failure(rc);
}

result<void> sqlite_store::delete_session(const session_record& r) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::delete_session);
  s.bind(1, r.id).bind(2, r.key_hash);
  auto out = changed_one(db_, s.step(), "session_not_found");
  if (out) live_sessions_.forget(r.app_id, r.user_id, [&](const auto& l) { return l.id == r.id; });
  return out;
}

result<void> sqlite_store::update_session(const session_record& r, session_source source,
                                          std::optional<millis> expires_at) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::update_session);
  s.bind(1, static_cast<std::int64_t>(source)).bind(2, expires_at).bind(3, r.id);
  s.bind(4, r.key_hash);
  auto out = changed_one(db_, s.step(), "session_not_found");
  if (out)
    live_sessions_.for_each_of(r.app_id, r.user_id, [&](auto& l) {
      if (l.id != r.id) return;
      l.source = source;
      l.expires_at = expires_at;
    });
  return out;
}

result<int> sqlite_store::prune_sessions(millis expired_by) {
  std::lock_guard lock(mutex_);
  auto expired = st(sql::prune_expired_sessions);
  expired.bind(1, expired_by);
  if (int rc = expired.step(); rc != SQLITE_DONE) return db_failure(rc);
  int removed = sqlite3_changes(db_);
  // Ended sessions (revoked, or of a deleted user or app): one slice of ids per call, going round
  // the table.
  auto ended = st(sql::prune_ended_sessions);
  ended.bind(1, prune_cursor_).bind(2, prune_cursor_ + options_.prune_slice);
  if (int rc = ended.step(); rc != SQLITE_DONE) return db_failure(rc);
  removed += sqlite3_changes(db_);
  prune_cursor_ += options_.prune_slice;
  if (prune_cursor_ >= next_session_id_.load()) prune_cursor_ = 0;
  return removed;
}

void sqlite_store::load_live_sessions() {
  live_sessions_.clear();
  auto s = st(sql::live_sessions);
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    live_sessions_.of(s.text(2), s.text(3))
        .push_back(
            {s.int64(0), s.text(1), static_cast<session_source>(s.int64(4)), s.opt_int64(5)});
  live_sessions_.stale = rc != SQLITE_DONE;
}

}  // namespace parley::store::sqlite
