#include "store/sqlite/sqlite_store.hpp"

#include "common/crypto.hpp"
#include "common/log.hpp"
#include "store/sqlite/group_commit.hpp"
#include "store/sqlite/migrations.hpp"

#include <sqlite3.h>
#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace parley::store {

namespace {

// One prepared statement, reset on scope exit so the cache can hand it out again.
class stmt {
 public:
  explicit stmt(sqlite3_stmt* s) : s_(s) {}
  stmt(const stmt&) = delete;
  stmt& operator=(const stmt&) = delete;
  ~stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  stmt& bind(int i, const std::optional<std::string>& v) {
    if (v) return bind(i, *v);
    sqlite3_bind_null(s_, i);
    return *this;
  }
  stmt& bind(int i, const std::optional<millis>& v) {
    if (v) return bind(i, *v);
    sqlite3_bind_null(s_, i);
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  // Ready to step again (with new bindings).
  void reset() { sqlite3_reset(s_); }

  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  std::optional<std::string> opt_text(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return text(col);
  }
  std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
  std::optional<millis> opt_int64(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return int64(col);
  }

 private:
  sqlite3_stmt* s_;
};

std::string encode_map(const string_map& m) {
  boost::json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return boost::json::serialize(o);
}

string_map decode_map(const std::string& text) {
  string_map m;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return m;
  for (const auto& kv : v.as_object())
    if (kv.value().is_string()) m[std::string(kv.key())] = std::string(kv.value().as_string());
  return m;
}

std::string encode_settings(const app_settings& s) {
  boost::json::object o;
  o["ringing_timeout_s"] = s.ringing_timeout_s;
  o["connection_timeout_s"] = s.connection_timeout_s;
  o["reconnect_grace_s"] = s.reconnect_grace_s;
  o["max_ringing_per_caller"] = s.max_ringing_per_caller;
  o["max_ringing_per_callee"] = s.max_ringing_per_callee;
  if (s.webhook_url)
    o["webhook_url"] = *s.webhook_url;
  else
    o["webhook_url"] = nullptr;
  o["webhook_secret"] = s.webhook_secret;
  boost::json::object push;
  if (const auto& a = s.push.apns)
    push["apns"] = {{"key_id", a->key_id},
                    {"team_id", a->team_id},
                    {"bundle_id", a->bundle_id},
                    {"private_key", a->private_key},
                    {"sandbox", a->sandbox}};
  if (const auto& f = s.push.fcm)
    push["fcm"] = {{"project_id", f->project_id},
                   {"client_email", f->client_email},
                   {"private_key_id", f->private_key_id},
                   {"private_key", f->private_key},
                   {"token_uri", f->token_uri}};
  if (s.push.webhook_url) push["webhook_url"] = *s.push.webhook_url;
  o["push"] = std::move(push);
  return boost::json::serialize(o);
}

app_settings decode_settings(const std::string& text) {
  app_settings s;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return s;
  const auto& o = v.as_object();
  auto int_of = [&](const char* k, int& out) {
    if (auto p = o.if_contains(k); p && p->is_int64()) out = static_cast<int>(p->as_int64());
  };
  auto str_of = [](const boost::json::object& from, const char* k) {
    auto p = from.if_contains(k);
    return p && p->is_string() ? std::string(p->as_string()) : std::string();
  };
  int_of("ringing_timeout_s", s.ringing_timeout_s);
  int_of("connection_timeout_s", s.connection_timeout_s);
  int_of("reconnect_grace_s", s.reconnect_grace_s);
  int_of("max_ringing_per_caller", s.max_ringing_per_caller);
  int_of("max_ringing_per_callee", s.max_ringing_per_callee);
  if (auto p = o.if_contains("webhook_url"); p && p->is_string())
    s.webhook_url = std::string(p->as_string());
  s.webhook_secret = str_of(o, "webhook_secret");
  if (auto p = o.if_contains("push"); p && p->is_object()) {
    const auto& push = p->as_object();
    if (auto a = push.if_contains("apns"); a && a->is_object()) {
      const auto& ao = a->as_object();
      auto sandbox = ao.if_contains("sandbox");
      s.push.apns = apns_settings{str_of(ao, "key_id"), str_of(ao, "team_id"),
                                  str_of(ao, "bundle_id"), str_of(ao, "private_key"),
                                  sandbox && sandbox->is_bool() && sandbox->as_bool()};
    }
    if (auto f = push.if_contains("fcm"); f && f->is_object()) {
      const auto& fo = f->as_object();
      s.push.fcm = fcm_settings{str_of(fo, "project_id"), str_of(fo, "client_email"),
                                str_of(fo, "private_key_id"), str_of(fo, "private_key"),
                                str_of(fo, "token_uri")};
    }
    if (auto w = push.if_contains("webhook_url"); w && w->is_string())
      s.push.webhook_url = std::string(w->as_string());
  }
  return s;
}

// The user's epoch for a session of source `src` (0 access token, 1 session token, 2 JWT), from
// the users columns prefixed `u`. A macro so that every statement stays one literal (prepared
// statements are cached by the literal's address).
#define SESSION_EPOCH_OF(src, u)                              \
  "CASE " src " WHEN 0 THEN " u "access_epoch WHEN 1 THEN " u \
  "token_epoch "                                              \
  "ELSE " u "jwt_epoch END"

class sqlite_store final : public store {
 public:
  sqlite_store(const std::string& path, sqlite_options options) : path_(path), options_(options) {
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open SQLite database " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    // WAL lets readers run beside the writer; NORMAL sync is durable across process crashes
    // (the WAL is fsynced at checkpoints), which is what a kill -9 needs.
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    // Checkpoints are the only fsyncs in WAL+NORMAL. A background thread copies committed
    // pages into the database file on its own connection, off our mutex, so the checkpoint
    // after a commit finds little left to copy. That one must stay: only a checkpoint run by
    // the writer right after its commit lets the WAL restart from the start under a steady
    // stream of writes (a passive one from elsewhere always trails the writer, and the WAL
    // would grow without end). See on_wal_commit. Reads go through a memory map.
    sqlite3_wal_hook(db_, &sqlite_store::on_wal_commit, this);
    exec("PRAGMA mmap_size=268435456");
    exec("PRAGMA cache_size=-32768");
    exec("PRAGMA temp_store=MEMORY");
    exec("PRAGMA foreign_keys=ON");
    migrate();
    {
      auto s = prepare("SELECT coalesce(max(id),0)+1 FROM sessions");
      if (s.step() != SQLITE_ROW) throw std::runtime_error("SQLite: cannot read the sessions' ids");
      next_session_id_ = s.int64(0);
    }
    load_live_sessions();
    {
      // Calls left ringing (by a previous process, until recovery ends them) count too.
      auto s =
          prepare("SELECT call_id,app_id,caller_id,callee_id FROM calls WHERE state<3 AND state=0");
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        call_record c;
        c.call_id = s.text(0);
        c.app_id = s.text(1);
        c.caller_id = s.text(2);
        c.callee_id = s.text(3);
        ringing_.note(c);
      }
      if (rc != SQLITE_DONE) throw std::runtime_error("SQLite: cannot read the ringing calls");
    }
    start_checkpointer(path);
    writer_ = std::make_unique<group_commit>(
        [this](std::vector<group_commit::job>& batch, std::vector<result<void>>& outcomes) {
          run_batch(batch, outcomes);
        },
        max_batch, [this] { run_deferred_checkpoint(); });
  }

  ~sqlite_store() override {
    writer_.reset();  // commits what is queued
    {
      std::lock_guard lock(checkpoint_mutex_);
      stopping_ = true;
    }
    checkpoint_wake_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
    for (auto& [thread, r] : readers_) r->close();
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    sqlite3_close(db_);
  }

  // ---- apps ----

  result<void> create_app(const app_record& a) override {
    std::lock_guard lock(mutex_);
    auto s = prepare(
        "INSERT INTO apps(app_id,name,api_token_hash,signing_secret,created_at,settings) "
        "VALUES(?,?,?,?,?,?)");
    s.bind(1, a.app_id).bind(2, a.name).bind(3, a.api_token_hash).bind(4, a.signing_secret);
    s.bind(5, a.created_at).bind(6, encode_settings(a.settings));
    return done(s.step());
  }

  result<std::vector<app_record>> list_apps() override {
    std::lock_guard lock(mutex_);
    auto s = prepare(
        "SELECT app_id,name,api_token_hash,signing_secret,created_at,settings FROM apps "
        "ORDER BY created_at, app_id");
    std::vector<app_record> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_app(s));
    if (rc != SQLITE_DONE) return db_failure(rc);
    return out;
  }

  result<app_record> find_app(const std::string& app_id) override {
    std::unique_lock lock(mutex_, std::defer_lock);
    auto r = lookup_connection(lock);
    auto s =
        prepare(r,
                "SELECT app_id,name,api_token_hash,signing_secret,created_at,settings FROM apps "
                "WHERE app_id=?");
    s.bind(1, app_id);
    int rc = s.step();
    if (rc == SQLITE_ROW) return read_app(s);
    if (rc == SQLITE_DONE) return fail(errc::not_found, "app_not_found");
    return db_failure(rc);
  }

  result<app_and_user> find_app_and_user(const std::string& app_id,
                                         const std::string& user_id) override {
    std::unique_lock lock(mutex_, std::defer_lock);
    auto r = lookup_connection(lock);
    app_and_user out;
    std::int64_t version = 0;
    {
      // Always one row: the apps version, and the user's columns (NULL when there is none).
      auto s = prepare(r,
                       "SELECT u.app_id,u.user_id,u.nickname,u.profile_url,u.metadata,u.created_at,"
                       "u.access_token_hash,(SELECT value FROM meta WHERE key='apps_version') "
                       "FROM (SELECT 1) LEFT JOIN users u ON u.app_id=? AND u.user_id=?");
      s.bind(1, app_id).bind(2, user_id);
      if (int rc = s.step(); rc != SQLITE_ROW) return db_failure(rc);
      if (s.opt_text(1)) out.user = read_user(s);
      version = s.int64(7);
    }
    {
      std::lock_guard cached(apps_cache_mutex_);
      if (auto it = apps_cache_.find(app_id);
          it != apps_cache_.end() && it->second.version == version) {
        out.app = it->second.app;
        return out;
      }
    }
    // Not cached, or changed since: read it with the version it goes with.
    auto s = prepare(r,
                     "SELECT app_id,name,api_token_hash,signing_secret,created_at,settings,"
                     "(SELECT value FROM meta WHERE key='apps_version') FROM apps WHERE app_id=?");
    s.bind(1, app_id);
    int rc = s.step();
    if (rc == SQLITE_DONE) return fail(errc::not_found, "app_not_found");
    if (rc != SQLITE_ROW) return db_failure(rc);
    out.app = read_app(s);
    std::lock_guard cached(apps_cache_mutex_);
    apps_cache_[app_id] = cached_app{out.app, s.int64(6)};
    return out;
  }

  result<void> set_app_token_hash(const std::string& app_id, const std::string& hash) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("UPDATE apps SET api_token_hash=? WHERE app_id=?");
    s.bind(1, hash).bind(2, app_id);
    return changed_one(s.step(), "app_not_found");
  }

  result<void> delete_app(const std::string& app_id) override {
    std::lock_guard lock(mutex_);
    transaction tx(*this);
    // The app's sessions end with its users (find_session joins them); prune_sessions
    // reclaims their rows.
    if (auto r = next_epoch_locked(); !r) return r.error();
    for (const char* sql :
         {"DELETE FROM session_tokens WHERE app_id=?", "DELETE FROM push_tokens WHERE app_id=?",
          "DELETE FROM users WHERE app_id=?"}) {
      auto s = prepare(sql);
      s.bind(1, app_id);
      if (int rc = s.step(); rc != SQLITE_DONE) return db_failure(rc);
    }
    auto s = prepare("DELETE FROM apps WHERE app_id=?");
    s.bind(1, app_id);
    if (auto r = changed_one(s.step(), "app_not_found"); !r) return r.error();
    if (auto r = tx.commit(); !r) return r.error();
    std::erase_if(open_calls_, [&](const auto& kv) { return kv.second.app_id == app_id; });
    std::erase_if(live_sessions_,
                  [&](const auto& kv) { return kv.first.starts_with(app_id + '\n'); });
    return {};
  }

  result<void> set_settings(const std::string& app_id, const app_settings& st) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("UPDATE apps SET settings=? WHERE app_id=?");
    s.bind(1, encode_settings(st)).bind(2, app_id);
    return changed_one(s.step(), "app_not_found");
  }

  // ---- users ----

  result<void> create_user(const user_record& u) override {
    std::lock_guard lock(mutex_);
    // A new user's sessions hold the counter's current epoch; every epoch its id had before
    // (a deleted user of the same id) is older, as deleting moves the counter on.
    auto s = prepare(
        "INSERT INTO users(app_id,user_id,nickname,profile_url,metadata,created_at,"
        "access_token_hash,access_epoch,token_epoch,jwt_epoch) "
        "SELECT ?1,?2,?3,?4,?5,?6,?7,value,value,value FROM meta WHERE key='session_epoch'");
    s.bind(1, u.app_id).bind(2, u.user_id).bind(3, u.nickname).bind(4, u.profile_url);
    s.bind(5, encode_map(u.metadata)).bind(6, u.created_at).bind(7, u.access_token_hash);
    int rc = s.step();
    if (rc == SQLITE_CONSTRAINT) return fail(errc::user_exists, "a user with this user_id exists");
    return done(rc);
  }

  result<user_record> find_user(const std::string& app_id, const std::string& user_id) override {
    std::unique_lock lock(mutex_, std::defer_lock);
    auto r = lookup_connection(lock);
    return find_user_in(r, app_id, user_id);
  }

  result<std::vector<user_record>> list_users(const std::string& app_id, const std::string& after,
                                              int limit) override {
    std::lock_guard lock(mutex_);
    auto s = prepare(
        "SELECT app_id,user_id,nickname,profile_url,metadata,created_at,access_token_hash "
        "FROM users WHERE app_id=? AND user_id>? ORDER BY user_id LIMIT ?");
    s.bind(1, app_id).bind(2, after).bind(3, static_cast<std::int64_t>(limit));
    std::vector<user_record> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_user(s));
    if (rc != SQLITE_DONE) return db_failure(rc);
    return out;
  }

  result<user_record> update_user(const std::string& app_id, const std::string& user_id,
                                  const user_patch& p) override {
    std::lock_guard lock(mutex_);
    auto found = find_user_locked(app_id, user_id);
    if (!found) return found.error();
    auto u = *found;
    if (p.nickname) u.nickname = *p.nickname;
    if (p.profile_url) u.profile_url = *p.profile_url;
    if (p.metadata) u.metadata = *p.metadata;
    auto s = prepare(
        "UPDATE users SET nickname=?,profile_url=?,metadata=? WHERE app_id=? AND user_id=?");
    s.bind(1, u.nickname).bind(2, u.profile_url).bind(3, encode_map(u.metadata));
    s.bind(4, app_id).bind(5, user_id);
    if (auto r = changed_one(s.step(), "user_not_found"); !r) return r.error();
    return u;
  }

  result<void> delete_user(const std::string& app_id, const std::string& user_id,
                           std::span<const outbox_entry> outbox) override {
    std::lock_guard lock(mutex_);
    transaction tx(*this);
    // The user's sessions end with its row (find_session joins it); prune_sessions reclaims
    // theirs. The counter moves on so that a user made again with this id starts past them.
    if (auto r = next_epoch_locked(); !r) return r.error();
    for (const char* sql : {"DELETE FROM session_tokens WHERE app_id=? AND user_id=?",
                            "DELETE FROM push_tokens WHERE app_id=? AND user_id=?"}) {
      auto s = prepare(sql);
      s.bind(1, app_id).bind(2, user_id);
      if (int rc = s.step(); rc != SQLITE_DONE) return db_failure(rc);
    }
    auto s = prepare("DELETE FROM users WHERE app_id=? AND user_id=?");
    s.bind(1, app_id).bind(2, user_id);
    if (auto r = changed_one(s.step(), "user_not_found"); !r) return r.error();
    if (auto r = insert_outbox(outbox); !r) return r.error();
    if (auto r = tx.commit(); !r) return r;
    live_sessions_.erase(user_key(app_id, user_id));
    return {};
  }

  // ---- tokens ----

  result<void> set_access_token(const std::string& app_id, const std::string& user_id,
                                const std::optional<std::string>& hash) override {
    std::lock_guard lock(mutex_);
    transaction tx(*this);
    auto s = prepare("UPDATE users SET access_token_hash=? WHERE app_id=? AND user_id=?");
    s.bind(1, hash).bind(2, app_id).bind(3, user_id);
    if (auto r = changed_one(s.step(), "user_not_found"); !r) return r.error();
    if (auto r = end_sessions(app_id, user_id, session_source::access_token); !r) return r;
    return tx.commit();
  }

  result<void> add_session_token(const std::string& app_id, const std::string& user_id,
                                 const std::string& hash, millis expires_at) override {
    std::lock_guard lock(mutex_);
    auto s =
        prepare("INSERT INTO session_tokens(token_hash,app_id,user_id,expires_at) VALUES(?,?,?,?)");
    s.bind(1, hash).bind(2, app_id).bind(3, user_id).bind(4, expires_at);
    int rc = s.step();
    if (rc == SQLITE_CONSTRAINT) return fail(errc::not_found, "user_not_found");
    return done(rc);
  }

  result<session_token_record> find_session_token(const std::string& app_id,
                                                  const std::string& hash) override {
    std::lock_guard lock(mutex_);
    auto s = prepare(
        "SELECT app_id,user_id,expires_at FROM session_tokens WHERE token_hash=? AND app_id=?");
    s.bind(1, hash).bind(2, app_id);
    int rc = s.step();
    if (rc == SQLITE_ROW) return session_token_record{s.text(0), s.text(1), s.int64(2)};
    if (rc == SQLITE_DONE) return fail(errc::not_found, "session_token_not_found");
    return db_failure(rc);
  }

  result<void> revoke_session_tokens(const std::string& app_id,
                                     const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    transaction tx(*this);
    auto s = prepare("DELETE FROM session_tokens WHERE app_id=? AND user_id=?");
    s.bind(1, app_id).bind(2, user_id);
    if (int rc = s.step(); rc != SQLITE_DONE) return db_failure(rc);
    if (auto r = end_sessions(app_id, user_id, session_source::session_token); !r) return r;
    return tx.commit();
  }

  // ---- sessions ----

  void on_sessions_ended(sessions_ended_fn fn) override { sessions_ended_ = std::move(fn); }

  result<void> create_session(const session_record& r) override {
    std::vector<std::string> ended;
    {
      std::lock_guard lock(mutex_);
      if (auto w = insert_session_locked(r, ended); !w) return w;
    }
    if (!ended.empty() && sessions_ended_) sessions_ended_(ended);
    return {};
  }

  void create_session_batched(const session_record& r, std::optional<std::string> token_hash,
                              std::function<void(result<void>)> done) override {
    // The sessions this one ends (the user's oldest), told once the batch committed.
    auto ended = std::make_shared<std::vector<std::string>>();
    auto tell = [this, ended, done = std::move(done)](result<void> w) {
      if (w && !ended->empty() && sessions_ended_) sessions_ended_(*ended);
      done(std::move(w));
    };
    writer_->submit({[this, r, token_hash = std::move(token_hash), ended]() -> result<void> {
                       if (token_hash) {
                         // Inside the batch's transaction: the check and the insert see
                         // the same snapshot.
                         auto s = prepare(
                             "SELECT access_token_hash FROM users "
                             "WHERE app_id=? AND user_id=?");
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

  // The row takes the user's epoch for its source from the users row, in the same statement:
  // no row is written for a user that no longer exists. Past max_sessions_per_user, the user's
  // oldest sessions are deleted with it, as one unit, and their key hashes added to `ended`.
  // The count comes from live_sessions_, so authentication reads nothing more than before and
  // writes one small delete only when a user is at the limit.
  result<void> insert_session_locked(const session_record& r, std::vector<std::string>& ended) {
    if (live_sessions_stale_) load_live_sessions();
    auto& mine = live_sessions_[user_key(r.app_id, r.user_id)];
    // Sessions already expired no longer count (their rows go with prune_sessions).
    std::erase_if(
        mine, [&](const live_session& l) { return l.expires_at && *l.expires_at <= r.created_at; });
    auto max = static_cast<std::size_t>(std::max(0, options_.max_sessions_per_user));
    std::size_t excess = max > 0 && mine.size() >= max ? mine.size() - max + 1 : 0;
    auto written = excess == 0 ? insert_session_row(r) : in_savepoint([&]() -> result<void> {
      if (auto w = insert_session_row(r); !w) return w;
      auto del = prepare("DELETE FROM sessions WHERE id=?");
      for (std::size_t i = 0; i < excess; ++i) {
        del.bind(1, mine[i].id);
        if (int rc = del.step(); rc != SQLITE_DONE) return db_failure(rc);
        del.reset();
      }
      return {};
    });
    if (!written) {
      if (mine.empty()) live_sessions_.erase(user_key(r.app_id, r.user_id));
      return written;
    }
    for (std::size_t i = 0; i < excess; ++i) ended.push_back(std::move(mine[i].key_hash));
    mine.erase(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(excess));
    mine.push_back({r.id, r.key_hash, r.source, r.expires_at});
    return {};
  }

  result<void> insert_session_row(const session_record& r) {
    auto s = prepare(
        "INSERT INTO sessions(id,key_hash,app_id,user_id,source,epoch,expires_at,device_id,"
        "created_at) SELECT ?1,?2,app_id,user_id,?3," SESSION_EPOCH_OF("?3", "") ",?4,?5,?6 "
        "FROM users WHERE app_id=?7 AND user_id=?8");
    s.bind(1, r.id).bind(2, r.key_hash).bind(3, static_cast<std::int64_t>(r.source));
    s.bind(4, r.expires_at).bind(5, r.device_id).bind(6, r.created_at);
    s.bind(7, r.app_id).bind(8, r.user_id);
    int rc = s.step();
    if (rc != SQLITE_DONE) return db_failure(rc);
    if (sqlite3_changes(db_) == 0) return fail(errc::invalid_credentials, "user no longer exists");
    return {};
  }

  std::int64_t new_session_id() override { return next_session_id_.fetch_add(1); }

  // The user columns first (read_user), then the session's; the join also checks the epoch.
#define PARLEY_SESSION_SELECT                                                           \
  "SELECT u.app_id,u.user_id,u.nickname,u.profile_url,u.metadata,u.created_at,"         \
  "u.access_token_hash,s.id,s.key_hash,s.source,s.expires_at,s.device_id,s.created_at " \
  "FROM sessions s JOIN users u ON u.app_id=s.app_id AND u.user_id=s.user_id WHERE "    \
  "s.epoch=" SESSION_EPOCH_OF("s.source", "u.")

  // A session whose user is gone or whose epoch is not its user's (revoked) is not found.
  result<session_record> find_session(std::int64_t id, const std::string& key_hash,
                                      user_record* user) override {
    std::unique_lock lock(mutex_, std::defer_lock);
    auto rd = lookup_connection(lock);
    auto s = id != 0 ? prepare(rd, PARLEY_SESSION_SELECT " AND s.id=?1")
                     : prepare(rd, PARLEY_SESSION_SELECT " AND s.key_hash=?2 AND s.legacy=1");
    if (id != 0)
      s.bind(1, id);
    else
      s.bind(2, key_hash);
    int rc = s.step();
    if (rc == SQLITE_ROW) {
      session_record r;
      r.id = s.int64(7);
      r.key_hash = s.text(8);
      // By id, the row is found before the secret is checked: compare the hashes in constant
      // time.
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

  result<void> delete_session(const session_record& r) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("DELETE FROM sessions WHERE id=? AND key_hash=?");
    s.bind(1, r.id).bind(2, r.key_hash);
    auto out = changed_one(s.step(), "session_not_found");
    if (out)
      forget_live_sessions(r.app_id, r.user_id,
                           [&](const live_session& l) { return l.id == r.id; });
    return out;
  }

  result<void> update_session(const session_record& r, session_source source,
                              std::optional<millis> expires_at) override {
    std::lock_guard lock(mutex_);
    // The new source's epoch, so that the session now ends with that source's revocation.
    auto s = prepare(
        "UPDATE sessions SET source=?1, expires_at=?2, epoch=coalesce((SELECT " SESSION_EPOCH_OF(
            "?1", "") " FROM users u WHERE u.app_id=sessions.app_id AND "
                      "u.user_id=sessions.user_id), -1) WHERE id=?3 AND key_hash=?4");
    s.bind(1, static_cast<std::int64_t>(source)).bind(2, expires_at).bind(3, r.id);
    s.bind(4, r.key_hash);
    auto out = changed_one(s.step(), "session_not_found");
    if (auto it = live_sessions_.find(user_key(r.app_id, r.user_id));
        out && it != live_sessions_.end())
      for (auto& l : it->second)
        if (l.id == r.id) {
          l.source = source;
          l.expires_at = expires_at;
        }
    return out;
  }

  result<int> prune_sessions(millis expired_by) override {
    std::lock_guard lock(mutex_);
    auto expired = prepare("DELETE FROM sessions WHERE expires_at IS NOT NULL AND expires_at<=?");
    expired.bind(1, expired_by);
    if (int rc = expired.step(); rc != SQLITE_DONE) return db_failure(rc);
    int removed = sqlite3_changes(db_);
    // Ended sessions (revoked, or of a deleted user or app): one slice of ids per call, going
    // round the table.
    auto ended = prepare(
        "DELETE FROM sessions WHERE id IN (SELECT s.id FROM sessions s LEFT JOIN users u "
        "ON u.app_id=s.app_id AND u.user_id=s.user_id WHERE s.id>?1 AND s.id<=?2 AND "
        "(u.user_id IS NULL OR s.epoch<>" SESSION_EPOCH_OF("s.source", "u.") "))");
    ended.bind(1, prune_cursor_).bind(2, prune_cursor_ + options_.prune_slice);
    if (int rc = ended.step(); rc != SQLITE_DONE) return db_failure(rc);
    removed += sqlite3_changes(db_);
    prune_cursor_ += options_.prune_slice;
    if (prune_cursor_ >= next_session_id_.load()) prune_cursor_ = 0;
    return removed;
  }

  // ---- push tokens ----

  result<void> put_push_token(const std::string& app_id, const std::string& user_id,
                              const push_token_record& t) override {
    std::lock_guard lock(mutex_);
    // One device, one owner: a token registered by a new user moves to that user.
    auto s = prepare(
        "INSERT INTO push_tokens(app_id,type,token,user_id,registered_at) VALUES(?,?,?,?,?) "
        "ON CONFLICT(app_id,type,token) DO UPDATE SET user_id=excluded.user_id, "
        "registered_at=excluded.registered_at");
    s.bind(1, app_id).bind(2, t.type).bind(3, t.token).bind(4, user_id).bind(5, t.registered_at);
    return done(s.step());
  }

  result<std::vector<push_token_record>> list_push_tokens(const std::string& app_id,
                                                          const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    auto s = prepare(
        "SELECT type,token,registered_at FROM push_tokens WHERE app_id=? AND user_id=? "
        "ORDER BY registered_at, type, token");
    s.bind(1, app_id).bind(2, user_id);
    std::vector<push_token_record> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.text(0), s.text(1), s.int64(2)});
    if (rc != SQLITE_DONE) return db_failure(rc);
    return out;
  }

  result<void> delete_push_tokens(const std::string& app_id, const std::string& user_id,
                                  const std::string& type, const std::string& token) override {
    std::lock_guard lock(mutex_);
    if (token.empty()) {
      auto s = prepare("DELETE FROM push_tokens WHERE app_id=? AND user_id=? AND type=?");
      s.bind(1, app_id).bind(2, user_id).bind(3, type);
      return done(s.step());
    }
    auto s = prepare("DELETE FROM push_tokens WHERE app_id=? AND user_id=? AND type=? AND token=?");
    s.bind(1, app_id).bind(2, user_id).bind(3, type).bind(4, token);
    return done(s.step());  // deleting a token that is not there is not an error
  }

  // ---- meta ----

  result<void> set_meta(const std::string& key, std::int64_t value) override {
    std::lock_guard lock(mutex_);
    auto s = prepare(
        "INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET "
        "value=excluded.value");
    s.bind(1, key).bind(2, value);
    return done(s.step());
  }

  result<std::optional<std::int64_t>> get_meta(const std::string& key) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("SELECT value FROM meta WHERE key=?");
    s.bind(1, key);
    int rc = s.step();
    if (rc == SQLITE_ROW) return std::optional<std::int64_t>(s.int64(0));
    if (rc == SQLITE_DONE) return std::optional<std::int64_t>{};
    return db_failure(rc);
  }

  // ---- calls ----

#define PARLEY_CALL_COLUMNS                                                                \
  "call_id,app_id,caller_id,callee_id,is_video,state,created_at,accepted_at,connected_at," \
  "ended_at,result,ended_by,custom_items,caller_conn,caller_device,caller_lost_at,"        \
  "callee_conn,callee_device,callee_lost_at,ringing_ms,connection_ms,grace_ms,deadline,version"

  result<void> create_call(const call_record& c, std::span<const outbox_entry> outbox,
                           ringing_limits limits) override {
    std::lock_guard lock(mutex_);
    std::optional<transaction> tx;
    if (!outbox.empty()) tx.emplace(*this);
    if (auto r = insert_call_locked(c, outbox, limits); !r) return r.error();
    if (tx) {
      if (auto r = tx->commit(); !r) {
        ringing_.forget(c.call_id);
        return r.error();
      }
    }
    remember_call(c);
    return {};
  }

  void wait_for_batched_writes() override {
    writer_->wait_idle();
  }

  void create_call_batched(const call_record& c, std::vector<outbox_entry> outbox,
                           std::function<void(result<void>)> done, ringing_limits limits) override {
    writer_->submit({[this, c, outbox = std::move(outbox), limits]() -> result<void> {
                       bool inserted = false;
                       auto r = in_savepoint([&] {
                         auto w = insert_call_locked(c, outbox, limits);
                         inserted = static_cast<bool>(w);
                         return w;
                       });
                       if (!r && inserted) {
                         ringing_.forget(c.call_id);  // counted, then rolled back
                       } else if (r && c.state == call_state::ringing) {
                         batch_ringing_.push_back(c.call_id);  // uncounted if the batch fails
                       }
                       return r;
                     },
                     std::move(done), [this, c] { remember_call(c); }});
  }

  // The insert, counted among the calls ringing in the same critical section as the check of
  // the limits (the batch's later dials see it before it commits; see run_batch for a batch
  // that fails).
  result<void> insert_call_locked(const call_record& c, std::span<const outbox_entry> outbox,
                                  ringing_limits limits = {}) {
    if (auto refused = ringing_.refuse(c, limits)) return *refused;
    auto s = prepare("INSERT INTO calls(" PARLEY_CALL_COLUMNS
                     ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    bind_call(s, c);
    if (auto r = done(s.step()); !r) return r.error();
    if (auto r = insert_outbox(outbox); !r) return r.error();
    ringing_.note(c);
    return {};
  }

  result<call_record> find_call(const std::string& app_id, const std::string& call_id) override {
    std::lock_guard lock(mutex_);
    if (auto it = open_calls_.find(call_id); it != open_calls_.end()) {
      if (it->second.app_id != app_id) return fail(errc::not_found, "call_not_found");
      return it->second;
    }
    auto s = prepare("SELECT " PARLEY_CALL_COLUMNS " FROM calls WHERE call_id=? AND app_id=?");
    s.bind(1, call_id).bind(2, app_id);
    int rc = s.step();
    if (rc == SQLITE_ROW) {
      auto c = read_call(s);
      remember_call(c);
      return c;
    }
    if (rc == SQLITE_DONE) return fail(errc::not_found, "call_not_found");
    return db_failure(rc);
  }

  result<bool> update_call(const call_record& c, std::span<const outbox_entry> outbox) override {
    std::lock_guard lock(mutex_);
    std::optional<transaction> tx;
    if (!outbox.empty()) tx.emplace(*this);
    auto won = update_call_locked(c, outbox);
    if (!won || !*won) return won;
    if (tx) {
      if (auto r = tx->commit(); !r) return r.error();
    }
    remember_call(c);
    return true;
  }

  void update_call_batched(const call_record& c, std::vector<outbox_entry> outbox,
                           std::function<void(result<bool>)> done) override {
    // The write tells whether it won the compare-and-set; `done` reads it after the commit.
    auto won = std::make_shared<bool>(false);
    writer_->submit({[this, c, outbox = std::move(outbox), won]() -> result<void> {
                       return in_savepoint([&]() -> result<void> {
                         auto r = update_call_locked(c, outbox);
                         if (!r) return r.error();
                         *won = *r;
                         return {};
                       });
                     },
                     [won, done = std::move(done)](result<void> r) {
                       if (!r) return done(r.error());
                       done(*won);
                     },
                     [this, c, won] {
                       if (*won) remember_call(c);
                     }});
  }

  // The compare-and-set and its outbox entries, inside the caller's transaction; false (and
  // nothing written) when the stored version is not c.version - 1.
  result<bool> update_call_locked(const call_record& c, std::span<const outbox_entry> outbox) {
    // Only the columns a transition can change (call_machine never changes the parties, the
    // app, the creation time, the items or the timeouts). SQLite rewrites the entry of every
    // index on a column named in SET, even with an unchanged value: naming them all cost the
    // primary key and the caller, callee and app_created indexes a delete and an insert (and
    // their pages in the WAL) on every transition; now only calls_open and calls_deadline.
    auto s = prepare(
        "UPDATE calls SET state=?2,accepted_at=?3,connected_at=?4,ended_at=?5,result=?6,"
        "ended_by=?7,caller_conn=?8,caller_device=?9,caller_lost_at=?10,callee_conn=?11,"
        "callee_device=?12,callee_lost_at=?13,deadline=?14,version=?15"
        " WHERE call_id=?1 AND version=?16");
    s.bind(1, c.call_id).bind(2, static_cast<std::int64_t>(c.state));
    s.bind(3, c.accepted_at).bind(4, c.connected_at).bind(5, c.ended_at);
    s.bind(6, static_cast<std::int64_t>(c.result)).bind(7, c.ended_by);
    s.bind(8, c.caller.connection_id).bind(9, c.caller.device_id).bind(10, c.caller.lost_at);
    s.bind(11, c.callee.connection_id).bind(12, c.callee.device_id).bind(13, c.callee.lost_at);
    s.bind(14, c.deadline).bind(15, c.version).bind(16, c.version - 1);
    // Whatever happens below, the cached copy may no longer be what is stored.
    open_calls_.erase(c.call_id);
    int rc = s.step();
    if (rc != SQLITE_DONE) return db_failure(rc);
    if (sqlite3_changes(db_) != 1) return false;  // lost the race: the transaction rolls back
    if (auto r = insert_outbox(outbox); !r) return r.error();
    return true;
  }

  // The open-call cache: a copy of every call not ended that this store created, updated or
  // read, as committed. Calls change only through this process (its own CAS writes), so
  // find_call, asked before every transition and every signal, needs no read of the database.
  // Anything uncertain is dropped rather than kept: an update that fails or loses its CAS, and
  // everything at max_open_calls. A call deleted by another process (`parleyd app delete` while
  // the server runs) can stay cached; its next update finds no row, drops it and reads again.
  // Called under mutex_.
  void remember_call(const call_record& c) {
    // Stored as not ringing (an update committed, or read so): no longer counted.
    if (c.state != call_state::ringing) ringing_.forget(c.call_id);
    if (c.state == call_state::ended) {
      open_calls_.erase(c.call_id);
      return;
    }
    if (open_calls_.size() >= max_open_calls) open_calls_.clear();
    open_calls_.insert_or_assign(c.call_id, c);
  }

  result<std::vector<call_record>> ongoing_calls(const std::string& app_id,
                                                 const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("SELECT " PARLEY_CALL_COLUMNS
                     " FROM calls WHERE state<3 AND app_id=? AND (caller_id=?2 OR callee_id=?2)"
                     " ORDER BY created_at, rowid");
    s.bind(1, app_id).bind(2, user_id);
    return read_calls(s);
  }

  result<std::vector<call_record>> calls_on_connection(const std::string& connection_id) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("SELECT " PARLEY_CALL_COLUMNS
                     " FROM calls WHERE state<3 AND (caller_conn=?1 OR callee_conn=?1)");
    s.bind(1, connection_id);
    return read_calls(s);
  }

  result<std::vector<call_record>> due_calls(millis now, int limit) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("SELECT " PARLEY_CALL_COLUMNS
                     " FROM calls WHERE deadline IS NOT NULL AND deadline<=? ORDER BY deadline"
                     " LIMIT ?");
    s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
    return read_calls(s);
  }

  result<std::vector<call_record>> unfinished_calls() override {
    std::lock_guard lock(mutex_);
    auto s = prepare("SELECT " PARLEY_CALL_COLUMNS " FROM calls WHERE state<3");
    return read_calls(s);
  }

  result<std::vector<call_record>> list_calls(
      const std::string& app_id, const std::string& user_id,
      const std::optional<std::pair<millis, std::string>>& before, int limit) override {
    std::lock_guard lock(mutex_);
    // (created_at, call_id) descending is a total order, so pages neither skip nor repeat.
    auto s = prepare("SELECT " PARLEY_CALL_COLUMNS
                     " FROM calls WHERE app_id=?1 AND (?2='' OR caller_id=?2 OR callee_id=?2)"
                     " AND (?3 IS NULL OR created_at<?3 OR (created_at=?3 AND call_id<?4))"
                     " ORDER BY created_at DESC, call_id DESC LIMIT ?5");
    s.bind(1, app_id).bind(2, user_id);
    if (before) {
      s.bind(3, before->first).bind(4, before->second);
    } else {
      s.bind(3, std::optional<millis>{}).bind(4, std::string());
    }
    s.bind(5, static_cast<std::int64_t>(limit));
    return read_calls(s);
  }

  result<std::vector<call_record>> calls_created_between(const std::string& app_id, millis from,
                                                         millis to) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("SELECT " PARLEY_CALL_COLUMNS
                     " FROM calls WHERE app_id=? AND created_at>=? AND created_at<?"
                     " ORDER BY created_at");
    s.bind(1, app_id).bind(2, from).bind(3, to);
    return read_calls(s);
  }

  // ---- outbox ----

#define PARLEY_OUTBOX_COLUMNS                                                   \
  "seq,event_id,app_id,kind,order_key,event,payload,state,attempts,created_at," \
  "next_attempt_at,give_up_at,last_status,last_error"

  result<std::vector<outbox_entry>> claim_due_outbox(millis now, millis lease_until,
                                                     int limit) override {
    std::lock_guard lock(mutex_);
    std::vector<outbox_entry> out;
    {
      // The order index makes "no earlier pending entry with my key" one probe per row.
      auto s = prepare("SELECT " PARLEY_OUTBOX_COLUMNS
                       " FROM outbox o WHERE state=0 AND next_attempt_at<=?1"
                       " AND (leased_until IS NULL OR leased_until<=?1)"
                       " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.state=0"
                       " AND p.app_id=o.app_id AND p.order_key=o.order_key AND p.seq<o.seq)"
                       " ORDER BY next_attempt_at, seq LIMIT ?2");
      s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_outbox(s));
      if (rc != SQLITE_DONE) return db_failure(rc);
    }
    // Polled often: only a claim that takes something writes. The mutex keeps this process's
    // other writers out between the read and the lease.
    if (out.empty()) return out;
    transaction tx(*this);
    for (const auto& e : out) {
      auto s = prepare("UPDATE outbox SET leased_until=? WHERE seq=?");
      s.bind(1, lease_until).bind(2, e.seq);
      if (auto r = done(s.step()); !r) return r.error();
    }
    if (auto r = tx.commit(); !r) return r.error();
    return out;
  }

  result<void> release_outbox_leases() override {
    std::lock_guard lock(mutex_);
    auto s = prepare("UPDATE outbox SET leased_until=NULL WHERE leased_until IS NOT NULL");
    return done(s.step());
  }

  result<void> complete_delivery(const delivery_result& r) override {
    std::lock_guard lock(mutex_);
    transaction tx(*this);
    const auto& e = r.entry;
    {
      auto s = prepare(
          "UPDATE outbox SET state=?,attempts=?,next_attempt_at=?,last_status=?,last_error=?,"
          "leased_until=NULL,finished_at=? WHERE seq=?");
      s.bind(1, static_cast<std::int64_t>(e.state)).bind(2, static_cast<std::int64_t>(e.attempts));
      s.bind(3, e.next_attempt_at);
      if (e.last_status)
        s.bind(4, static_cast<std::int64_t>(*e.last_status));
      else
        s.bind(4, std::optional<millis>{});
      s.bind(5, e.last_error);
      s.bind(6, e.state == delivery_state::pending ? std::optional<millis>{}
                                                   : std::optional<millis>{e.next_attempt_at});
      s.bind(7, e.seq);
      if (auto x = done(s.step()); !x) return x.error();
    }
    if (r.remove_push_token) {
      const auto& [user_id, type, token] = *r.remove_push_token;
      auto s =
          prepare("DELETE FROM push_tokens WHERE app_id=? AND user_id=? AND type=? AND token=?");
      s.bind(1, e.app_id).bind(2, user_id).bind(3, type).bind(4, token);
      if (auto x = done(s.step()); !x) return x.error();
    }
    if (auto x = insert_outbox(r.add); !x) return x.error();
    return tx.commit();
  }

  result<outbox_entry> find_outbox(const std::string& app_id,
                                   const std::string& event_id) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("SELECT " PARLEY_OUTBOX_COLUMNS " FROM outbox WHERE event_id=? AND app_id=?");
    s.bind(1, event_id).bind(2, app_id);
    int rc = s.step();
    if (rc == SQLITE_ROW) return read_outbox(s);
    if (rc == SQLITE_DONE) return fail(errc::not_found, "event_not_found");
    return db_failure(rc);
  }

  result<std::vector<outbox_entry>> list_outbox(const std::string& app_id, outbox_kind kind,
                                                std::optional<delivery_state> state,
                                                std::int64_t after_seq, int limit) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("SELECT " PARLEY_OUTBOX_COLUMNS
                     " FROM outbox WHERE app_id=? AND kind=? AND seq>? AND (?4 IS NULL OR state=?4)"
                     " ORDER BY seq LIMIT ?5");
    s.bind(1, app_id).bind(2, static_cast<std::int64_t>(kind)).bind(3, after_seq);
    s.bind(4, state ? std::optional<millis>{static_cast<std::int64_t>(*state)}
                    : std::optional<millis>{});
    s.bind(5, static_cast<std::int64_t>(limit));
    std::vector<outbox_entry> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_outbox(s));
    if (rc != SQLITE_DONE) return db_failure(rc);
    return out;
  }

  result<outbox_entry> retry_outbox(const std::string& app_id, const std::string& event_id,
                                    millis now, millis give_up_at) override {
    std::lock_guard lock(mutex_);
    {
      auto s = prepare(
          "UPDATE outbox SET state=0,next_attempt_at=?,give_up_at=?,finished_at=NULL"
          " WHERE event_id=? AND app_id=?");
      s.bind(1, now).bind(2, give_up_at).bind(3, event_id).bind(4, app_id);
      if (auto r = changed_one(s.step(), "event_not_found"); !r) return r.error();
    }
    auto s = prepare("SELECT " PARLEY_OUTBOX_COLUMNS " FROM outbox WHERE event_id=?");
    s.bind(1, event_id);
    int rc = s.step();
    if (rc == SQLITE_ROW) return read_outbox(s);
    return db_failure(rc);
  }

  result<outbox_stats> outbox_pending_stats(outbox_kind kind) override {
    std::lock_guard lock(mutex_);
    auto s = prepare("SELECT count(*), min(created_at) FROM outbox WHERE state=0 AND kind=?");
    s.bind(1, static_cast<std::int64_t>(kind));
    int rc = s.step();
    if (rc != SQLITE_ROW) return db_failure(rc);
    return outbox_stats{s.int64(0), s.opt_int64(1)};
  }

  result<int> prune_outbox(millis delivered_before, millis failed_before) override {
    std::lock_guard lock(mutex_);
    auto s = prepare(
        "DELETE FROM outbox WHERE (state=1 AND finished_at<?) OR (state=2 AND finished_at<?)");
    s.bind(1, delivered_before).bind(2, failed_before);
    if (auto r = done(s.step()); !r) return r.error();
    return sqlite3_changes(db_);
  }

  result<void> make_outbox_due(const std::string& app_id, outbox_kind kind, millis now) override {
    std::lock_guard lock(mutex_);
    auto s = prepare(
        "UPDATE outbox SET next_attempt_at=? WHERE app_id=? AND kind=? AND state=0"
        " AND next_attempt_at>?");
    s.bind(1, now).bind(2, app_id).bind(3, static_cast<std::int64_t>(kind)).bind(4, now);
    return done(s.step());
  }

 private:
  result<void> insert_outbox(std::span<const outbox_entry> entries) {
    for (const auto& e : entries) {
      auto s = prepare(
          "INSERT INTO outbox(event_id,app_id,kind,order_key,event,payload,state,attempts,"
          "created_at,next_attempt_at,give_up_at) VALUES(?,?,?,?,?,?,0,0,?,?,?)");
      s.bind(1, e.event_id).bind(2, e.app_id).bind(3, static_cast<std::int64_t>(e.kind));
      s.bind(4, e.order_key).bind(5, e.event).bind(6, e.payload).bind(7, e.created_at);
      s.bind(8, e.next_attempt_at).bind(9, e.give_up_at);
      if (auto r = done(s.step()); !r) return r.error();
    }
    return {};
  }

  static outbox_entry read_outbox(const stmt& s) {
    outbox_entry e;
    e.seq = s.int64(0);
    e.event_id = s.text(1);
    e.app_id = s.text(2);
    e.kind = static_cast<outbox_kind>(s.int64(3));
    e.order_key = s.text(4);
    e.event = s.text(5);
    e.payload = s.text(6);
    e.state = static_cast<delivery_state>(s.int64(7));
    e.attempts = static_cast<int>(s.int64(8));
    e.created_at = s.int64(9);
    e.next_attempt_at = s.int64(10);
    e.give_up_at = s.int64(11);
    if (auto st = s.opt_int64(12)) e.last_status = static_cast<int>(*st);
    e.last_error = s.opt_text(13);
    return e;
  }

  // Rolls back unless committed. Nested use is not needed: each store call is one unit.
  class transaction {
   public:
    explicit transaction(sqlite_store& st) : st_(st) { st_.exec("BEGIN IMMEDIATE"); }
    ~transaction() {
      if (!done_) sqlite3_exec(st_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    result<void> commit() {
      done_ = true;
      if (sqlite3_exec(st_.db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        int rc = sqlite3_errcode(st_.db_);
        sqlite3_exec(st_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return st_.db_failure(rc);
      }
      return {};
    }

   private:
    sqlite_store& st_;
    bool done_ = false;
  };

  // Runs after every commit on db_ (under mutex_; for sessions on the group-commit thread) with
  // the WAL's size in pages, in place of SQLite's auto-checkpoint. The background checkpointer
  // copies committed pages into the database file and syncs it, off every request's path, woken
  // every backfill_pages. Only a checkpoint run here, right after a commit, lets the WAL restart
  // under a steady stream of writes, and it stalls whoever waits for this commit: it syncs the
  // WAL, copies what the background has not copied yet and syncs the database file. So it runs
  // only once the WAL holds checkpoint_pages (64 MiB by default; a restart every few seconds
  // under load) and only right after a background pass has left a short tail (at most tail_pages),
  // which makes it a stall of about a millisecond instead of copying the whole WAL. If the
  // background cannot keep up, the WAL is checkpointed here anyway at twice the size.
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages) {
    auto& st = *static_cast<sqlite_store*>(self);
    const auto& o = st.options_;
    if (pages >= o.checkpoint_pages) {
      int log = st.bg_log_.load(std::memory_order_relaxed);
      int backfilled = log <= pages ? st.bg_backfilled_.load(std::memory_order_relaxed) : 0;
      if (pages - backfilled <= o.tail_pages || pages >= 2 * o.checkpoint_pages) {
        bool must = pages >= 2 * o.checkpoint_pages;
        if (st.in_batch_) {
          // On the group-commit thread: after this batch's answers are out (see
          // run_deferred_checkpoint), so that its stall delays only later writes.
          st.deferred_checkpoint_ = st.deferred_checkpoint_.value_or(false) || must;
        } else {
          st.checkpoint_tail(db, name, must);
        }
        return SQLITE_OK;
      }
    }
    st.request_backfill(pages);
    return SQLITE_OK;
  }

  // The checkpoint after a commit. It cannot run while a background pass runs (SQLITE_BUSY at
  // once: SQLite never waits for the checkpoint lock); then it is retried at the next commit,
  // unless the WAL is already at twice its threshold: then this waits for our pass to end and
  // tries once more. Busy for another reason (another process checkpointing): the next commit
  // tries again; this never spins.
  void checkpoint_tail(sqlite3* db, const char* name, bool must) {
    int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_BUSY || !must) return;
    {
      std::unique_lock lock(checkpoint_mutex_);
      if (!pass_running_) return;
      pass_done_.wait_for(lock, std::chrono::seconds(1),
                          [&] { return !pass_running_ || stopping_; });
      if (stopping_) return;
    }
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }

  // Wakes the background checkpointer each time the WAL grew by backfill_pages, and, once the WAL
  // is due for a restart, whenever no pass is running: the tail it leaves is for this thread to
  // copy, and a pass running then would make that checkpoint busy (called under mutex_).
  void request_backfill(int pages) {
    if (pages < next_backfill_at_ && pages < options_.checkpoint_pages) {
      if (pages < options_.backfill_pages)
        next_backfill_at_ = options_.backfill_pages;  // restarted
      return;
    }
    next_backfill_at_ = pages + options_.backfill_pages;
    {
      std::lock_guard lock(checkpoint_mutex_);
      if (backfill_requested_ || (pages >= options_.checkpoint_pages && pass_running_)) return;
      backfill_requested_ = true;
    }
    checkpoint_wake_.notify_one();
  }

  // One transaction for the batch of the group commit; each write's outcome is its own unless
  // the transaction as a whole fails, which fails them all.
  void run_batch(std::vector<group_commit::job>& batch, std::vector<result<void>>& outcomes) {
    std::lock_guard lock(mutex_);
    in_batch_ = true;
    batch_ringing_.clear();
    struct batch_end {
      bool& flag;
      ~batch_end() { flag = false; }
    } end{in_batch_};
    auto fail_all = [&](int rc) {
      auto f = db_failure(rc);
      outcomes.assign(batch.size(), f);
      // The sessions counted and ended by this batch were not: count again from the table.
      live_sessions_stale_ = true;
      // The dials of this batch were counted as ringing when written; none of them is.
      for (const auto& id : batch_ringing_) ringing_.forget(id);
    };
    auto after_commit = [&] {
      for (std::size_t i = 0; i < batch.size(); ++i)
        if (outcomes[i] && batch[i].committed) batch[i].committed();
    };
    if (batch.size() == 1) {  // nothing to share: the write's own transaction is enough
      outcomes.push_back(batch.front().write());
      return after_commit();
    }
    if (int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr); rc != SQLITE_OK)
      return fail_all(rc);
    for (auto& j : batch) outcomes.push_back(j.write());
    // An I/O error or a full disk inside a statement rolls the whole transaction back.
    if (sqlite3_get_autocommit(db_)) return fail_all(SQLITE_IOERR);
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      int rc = sqlite3_errcode(db_);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return fail_all(rc);
    }
    after_commit();
  }

  // The checkpoint a batch's commit asked for, run by the group-commit thread once the batch's
  // answers went out.
  void run_deferred_checkpoint() {
    std::lock_guard lock(mutex_);
    if (!deferred_checkpoint_) return;
    bool must = *deferred_checkpoint_;
    deferred_checkpoint_.reset();
    checkpoint_tail(db_, "main", must);
  }

  // Runs `write` (several statements) as one unit inside a batch: a failure undoes its own
  // statements only. Alone (a batch of one), the savepoint is the transaction.
  template <class Write>
  result<void> in_savepoint(Write&& write) {
    if (int rc = sqlite3_exec(db_, "SAVEPOINT job", nullptr, nullptr, nullptr); rc != SQLITE_OK)
      return db_failure(rc);
    auto r = write();
    if (!r) sqlite3_exec(db_, "ROLLBACK TO job", nullptr, nullptr, nullptr);
    if (int rc = sqlite3_exec(db_, "RELEASE job", nullptr, nullptr, nullptr); rc != SQLITE_OK) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return db_failure(rc);
    }
    return r;
  }

  // Copies committed WAL pages into the database file (PASSIVE: never waits for readers or the
  // writer) once a second and whenever request_backfill asks, so the checkpoint a commit runs
  // has little left to do.
  void start_checkpointer(const std::string& path) {
    sqlite3* cp = nullptr;
    if (sqlite3_open_v2(path.c_str(), &cp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
      sqlite3_close(cp);
      return;
    }
    sqlite3_busy_timeout(cp, 100);
    // A connection learns that the database is in WAL mode when it first reads it; until then
    // sqlite3_wal_checkpoint_v2 on it does nothing (returns -1 frames). This one never read
    // anything before, so the background checkpoints were all no-ops.
    sqlite3_exec(cp, "PRAGMA journal_mode", nullptr, nullptr, nullptr);
    checkpointer_ = std::thread([this, cp] {
      std::unique_lock lock(checkpoint_mutex_);
      for (;;) {
        checkpoint_wake_.wait_for(lock, std::chrono::seconds(1),
                                  [&] { return stopping_ || backfill_requested_; });
        if (stopping_) break;
        backfill_requested_ = false;
        pass_running_ = true;
        lock.unlock();
        int log = 0;
        int backfilled = 0;
        if (sqlite3_wal_checkpoint_v2(cp, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &backfilled) ==
            SQLITE_OK) {
          bg_backfilled_.store(backfilled, std::memory_order_relaxed);
          bg_log_.store(log, std::memory_order_relaxed);
        }
        lock.lock();
        pass_running_ = false;
        pass_done_.notify_all();
      }
      lock.unlock();
      sqlite3_wal_checkpoint_v2(cp, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      sqlite3_close(cp);
    });
  }

  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw std::runtime_error(std::string("SQLite: ") + sql + ": " + msg);
    }
  }

  void migrate() {
    auto migrations = sqlite_migrations();
    int version = 0;
    {
      auto s = prepare("PRAGMA user_version");
      if (s.step() == SQLITE_ROW) version = static_cast<int>(s.int64(0));
    }
    if (version > static_cast<int>(migrations.size()))
      throw std::runtime_error("database schema version " + std::to_string(version) +
                               " is newer than this parleyd knows");
    for (auto i = static_cast<std::size_t>(version); i < migrations.size(); ++i) {
      exec("BEGIN IMMEDIATE");
      std::string sql(migrations[i]);
      sql += "\nPRAGMA user_version=" + std::to_string(i + 1) + ";";
      char* err = nullptr;
      if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        exec("ROLLBACK");
        throw std::runtime_error("migration " + std::to_string(i + 1) + " failed: " + msg);
      }
      exec("COMMIT");
      log::info("store_migrated", {{"version", static_cast<std::int64_t>(i + 1)}});
    }
  }

  // Prepared statements, keyed by the SQL text's address (every statement is a literal here).
  using stmt_cache = std::unordered_map<const char*, sqlite3_stmt*>;

  static stmt prepare_in(sqlite3* db, stmt_cache& cache, const char* sql) {
    auto it = cache.find(sql);
    if (it == cache.end()) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
        throw std::logic_error(std::string("bad SQL: ") + sql + ": " + sqlite3_errmsg(db));
      it = cache.emplace(sql, s).first;
    }
    return stmt(it->second);
  }

  stmt prepare(const char* sql) {
    return prepare_in(db_, cache_, sql);
  }

  // A connection of one thread for the hot lookups (find_app, find_user, find_session): in WAL
  // mode readers run beside the writer, so these wait neither for mutex_ nor for a commit or
  // checkpoint in progress, and several I/O threads look up at once. Each statement is its own
  // read transaction, so it sees everything committed before it started.
  struct reader {
    sqlite3* db = nullptr;
    stmt_cache cache;
    void close() {
      for (auto& [sql, s] : cache) sqlite3_finalize(s);
      cache.clear();
      sqlite3_close(db);
      db = nullptr;
    }
  };

  // On the reader of this thread, or on the main connection (the caller holds mutex_) when the
  // thread could not get one.
  stmt prepare(reader* r, const char* sql) {
    return r ? prepare_in(r->db, r->cache, sql) : prepare(sql);
  }

  // The connection for a hot lookup: the main one when mutex_ is free (its page cache is warm,
  // it made the last writes: a reader's cache is dropped after every commit by another
  // connection, which cost calls ~8% more CPU when every lookup went to the readers), else this
  // thread's reader, so the lookup does not wait for a commit or checkpoint in progress.
  // Returns nullptr with `lock` held for the main connection.
  reader* lookup_connection(std::unique_lock<std::mutex>& lock) {
    if (lock.try_lock()) return nullptr;
    if (auto r = local_reader()) return r;
    lock.lock();
    return nullptr;
  }

  // This thread's reader, opened on first use; nullptr when it cannot be opened.
  reader* local_reader() {
    thread_local std::uint64_t owner = 0;
    thread_local reader* mine = nullptr;
    if (owner == serial_) return mine;
    std::lock_guard lock(readers_mutex_);
    auto& slot = readers_[std::this_thread::get_id()];
    if (!slot) {
      slot = std::make_unique<reader>();
      if (sqlite3_open_v2(path_.c_str(), &slot->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                          nullptr) != SQLITE_OK) {
        sqlite3_close(slot->db);
        slot.reset();
        return nullptr;  // not remembered: the next call tries again
      }
      sqlite3_busy_timeout(slot->db, 5000);
      // No memory map here: a read transaction that finds the WAL changed since its last one
      // (every time, under a stream of commits) unmaps the whole file and maps it again, a
      // munmap of the whole database with its TLB shootdowns per lookup. pread of the few
      // pages a lookup needs is cheaper.
      for (const char* pragma : {"PRAGMA query_only=1", "PRAGMA mmap_size=0",
                                 "PRAGMA cache_size=-8192", "PRAGMA temp_store=MEMORY"})
        sqlite3_exec(slot->db, pragma, nullptr, nullptr, nullptr);
    }
    owner = serial_;
    mine = slot.get();
    return mine;
  }

  failure db_failure(int rc) const {
    auto msg = std::string("database error: ") + sqlite3_errstr(rc);
    log::error("store_error", {{"message", msg}});
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_IOERR || rc == SQLITE_FULL)
      return fail(errc::unavailable, "the store is unavailable");
    return fail(errc::internal, msg);
  }

  result<void> done(int rc) const {
    if (rc == SQLITE_DONE) return {};
    return db_failure(rc);
  }

  result<void> changed_one(int rc, const char* missing) const {
    if (rc != SQLITE_DONE) return db_failure(rc);
    if (sqlite3_changes(db_) == 0) return fail(errc::not_found, missing);
    return {};
  }

  result<user_record> find_user_locked(const std::string& app_id, const std::string& user_id) {
    return find_user_in(nullptr, app_id, user_id);
  }

  result<user_record> find_user_in(reader* r, const std::string& app_id,
                                   const std::string& user_id) {
    auto s =
        prepare(r,
                "SELECT app_id,user_id,nickname,profile_url,metadata,created_at,access_token_hash "
                "FROM users WHERE app_id=? AND user_id=?");
    s.bind(1, app_id).bind(2, user_id);
    int rc = s.step();
    if (rc == SQLITE_ROW) return read_user(s);
    if (rc == SQLITE_DONE) return fail(errc::not_found, "user_not_found");
    return db_failure(rc);
  }

  // Moves the epoch counter on; the caller is inside a transaction.
  result<std::int64_t> next_epoch_locked() {
    auto s = prepare("UPDATE meta SET value=value+1 WHERE key='session_epoch' RETURNING value");
    if (int rc = s.step(); rc != SQLITE_ROW)
      return db_failure(rc == SQLITE_DONE ? SQLITE_CORRUPT : rc);
    auto epoch = s.int64(0);
    if (int rc = s.step(); rc != SQLITE_DONE) return db_failure(rc);
    return epoch;
  }

  // Ends every session of the user from `source` by giving the user a new epoch for it; the
  // caller is inside a transaction.
  result<void> end_sessions(const std::string& app_id, const std::string& user_id,
                            session_source source) {
    auto epoch = next_epoch_locked();
    if (!epoch) return epoch.error();
    static constexpr std::array<const char*, 3> sql{
        "UPDATE users SET access_epoch=? WHERE app_id=? AND user_id=?",
        "UPDATE users SET token_epoch=? WHERE app_id=? AND user_id=?",
        "UPDATE users SET jwt_epoch=? WHERE app_id=? AND user_id=?"};
    auto s = prepare(sql.at(static_cast<std::size_t>(source)));
    s.bind(1, *epoch).bind(2, app_id).bind(3, user_id);
    auto out = done(s.step());
    // Ended now, or (if the transaction fails) still live but recounted at the next reload.
    forget_live_sessions(app_id, user_id,
                         [&](const live_session& l) { return l.source == source; });
    live_sessions_stale_ = live_sessions_stale_ || !out;
    return out;
  }

  // ---- live sessions per user (max_sessions_per_user); all under mutex_ ----

  static std::string user_key(const std::string& app_id, const std::string& user_id) {
    return app_id + '\n' + user_id;
  }

  template <class Pred>
  void forget_live_sessions(const std::string& app_id, const std::string& user_id, Pred&& pred) {
    auto it = live_sessions_.find(user_key(app_id, user_id));
    if (it == live_sessions_.end()) return;
    std::erase_if(it->second, pred);
    if (it->second.empty()) live_sessions_.erase(it);
  }

  // Every live session, oldest first per user: one pass over the table (at open, and after a
  // batch failed, when what was counted may not be what is stored).
  void load_live_sessions() {
    live_sessions_.clear();
    auto s = prepare(
        "SELECT s.id,s.key_hash,s.app_id,s.user_id,s.source,s.expires_at "
        "FROM sessions s JOIN users u ON u.app_id=s.app_id AND u.user_id=s.user_id "
        "WHERE s.epoch=" SESSION_EPOCH_OF("s.source", "u.") " ORDER BY s.id");
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
      live_sessions_[user_key(s.text(2), s.text(3))].push_back(
          {s.int64(0), s.text(1), static_cast<session_source>(s.int64(4)), s.opt_int64(5)});
    live_sessions_stale_ = rc != SQLITE_DONE;
  }

  static void bind_call(stmt& s, const call_record& c) {
    s.bind(1, c.call_id).bind(2, c.app_id).bind(3, c.caller_id).bind(4, c.callee_id);
    s.bind(5, static_cast<std::int64_t>(c.is_video)).bind(6, static_cast<std::int64_t>(c.state));
    s.bind(7, c.created_at).bind(8, c.accepted_at).bind(9, c.connected_at).bind(10, c.ended_at);
    s.bind(11, static_cast<std::int64_t>(c.result)).bind(12, c.ended_by);
    s.bind(13, encode_map(c.custom_items));
    s.bind(14, c.caller.connection_id).bind(15, c.caller.device_id).bind(16, c.caller.lost_at);
    s.bind(17, c.callee.connection_id).bind(18, c.callee.device_id).bind(19, c.callee.lost_at);
    s.bind(20, c.ringing_timeout_ms).bind(21, c.connection_timeout_ms).bind(22, c.grace_ms);
    s.bind(23, c.deadline).bind(24, c.version);
  }

  static call_record read_call(const stmt& s) {
    call_record c;
    c.call_id = s.text(0);
    c.app_id = s.text(1);
    c.caller_id = s.text(2);
    c.callee_id = s.text(3);
    c.is_video = s.int64(4) != 0;
    c.state = static_cast<call_state>(s.int64(5));
    c.created_at = s.int64(6);
    c.accepted_at = s.opt_int64(7);
    c.connected_at = s.opt_int64(8);
    c.ended_at = s.opt_int64(9);
    c.result = static_cast<end_result>(s.int64(10));
    c.ended_by = s.opt_text(11);
    c.custom_items = decode_map(s.text(12));
    c.caller = {s.text(13), s.text(14), s.opt_int64(15)};
    c.callee = {s.text(16), s.text(17), s.opt_int64(18)};
    c.ringing_timeout_ms = s.int64(19);
    c.connection_timeout_ms = s.int64(20);
    c.grace_ms = s.int64(21);
    c.deadline = s.opt_int64(22);
    c.version = s.int64(23);
    return c;
  }

  result<std::vector<call_record>> read_calls(stmt& s) {
    std::vector<call_record> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_call(s));
    if (rc != SQLITE_DONE) return db_failure(rc);
    return out;
  }

  static app_record read_app(const stmt& s) {
    app_record a;
    a.app_id = s.text(0);
    a.name = s.text(1);
    a.api_token_hash = s.text(2);
    a.signing_secret = s.text(3);
    a.created_at = s.int64(4);
    a.settings = decode_settings(s.text(5));
    return a;
  }

  static user_record read_user(const stmt& s) {
    user_record u;
    u.app_id = s.text(0);
    u.user_id = s.text(1);
    u.nickname = s.text(2);
    u.profile_url = s.text(3);
    u.metadata = decode_map(s.text(4));
    u.created_at = s.int64(5);
    u.access_token_hash = s.opt_text(6);
    return u;
  }

  // App records as read with the apps version of the same statement; an entry is used only
  // while the version read beside the user is still that one (find_app_and_user).
  struct cached_app {
    app_record app;
    std::int64_t version = 0;
  };
  std::mutex apps_cache_mutex_;
  std::unordered_map<std::string, cached_app> apps_cache_;  // guarded by apps_cache_mutex_

  // Calls not ended, by call_id (remember_call); guarded by mutex_.
  static constexpr std::size_t max_open_calls = 100'000;
  std::unordered_map<std::string, call_record> open_calls_;
  // The calls ringing now (loaded at open, then kept with every write; guarded by mutex_), and
  // the ones the running batch added.
  ringing_registry ringing_;
  std::vector<std::string> batch_ringing_;
  // The live sessions of each user (app_id '\n' user_id), oldest first, for
  // max_sessions_per_user: loaded at open, kept with every write of this process. A session
  // ended elsewhere (by another process) may linger here until it is the oldest and goes first:
  // the user may then hold fewer than the limit for a while, never more. Guarded by mutex_.
  struct live_session {
    std::int64_t id = 0;
    std::string key_hash;
    session_source source = session_source::access_token;
    std::optional<millis> expires_at;
  };
  std::unordered_map<std::string, std::vector<live_session>> live_sessions_;
  bool live_sessions_stale_ = false;
  sessions_ended_fn sessions_ended_;
  // Session ids: the next one to hand out, and where prune_sessions' next slice starts.
  std::atomic<std::int64_t> next_session_id_{1};
  std::int64_t prune_cursor_ = 0;  // under mutex_
  // A batch of the group commit is being written (its checkpoint waits for its answers), and
  // the checkpoint it asked for (true: must run); under mutex_.
  bool in_batch_ = false;
  std::optional<bool> deferred_checkpoint_;

  // Owned. One connection, used under mutex_ (SQLite serialises writers anyway).
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  stmt_cache cache_;
  // The readers, one per thread that looked something up; serial_ tells this store's from
  // those of an earlier store at the same address in the thread-local cache.
  std::string path_;
  std::uint64_t serial_ = next_serial();
  std::mutex readers_mutex_;
  std::unordered_map<std::thread::id, std::unique_ptr<reader>> readers_;
  static std::uint64_t next_serial() {
    static std::atomic<std::uint64_t> n{0};
    return ++n;
  }
  // The group commit of new sessions and of the WebSocket's call changes (create_call_batched,
  // update_call_batched); its thread uses db_ under mutex_.
  static constexpr std::size_t max_batch = 256;
  std::unique_ptr<group_commit> writer_;
  // The background checkpointer.
  std::thread checkpointer_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  bool stopping_ = false;
  bool backfill_requested_ = false;  // guarded by checkpoint_mutex_
  bool pass_running_ = false;        // guarded by checkpoint_mutex_
  std::condition_variable pass_done_;
  sqlite_options options_;
  int next_backfill_at_ = options_.backfill_pages;  // guarded by mutex_
  // What the background checkpointer's last pass saw: the WAL's size and how much of it is in
  // the database file (frames of the WAL as it was then; read by on_wal_commit).
  std::atomic<int> bg_log_{0};
  std::atomic<int> bg_backfilled_{0};
};

}  // namespace

std::unique_ptr<store> open_sqlite_store(const std::string& path, sqlite_options options) {
  // SQLite keeps memory statistics by default, under one process-wide mutex taken by every
  // allocation of every connection: the I/O threads' lookups and the writer's commits queued
  // on it (a third of the I/O thread's sleeps in an authentication run). Nothing here reads
  // those statistics. This must precede SQLite's initialisation; it fails harmlessly after.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  return std::make_unique<sqlite_store>(path, options);
}

}  // namespace parley::store
