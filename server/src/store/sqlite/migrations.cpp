#include "store/sqlite/migrations.hpp"

#include "common/log.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace parley::store {

namespace {
constexpr std::string_view v1 = R"sql(
CREATE TABLE apps (
  app_id          TEXT PRIMARY KEY,
  name            TEXT NOT NULL,
  api_token_hash  TEXT NOT NULL,
  signing_secret  TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  settings        TEXT NOT NULL
);
CREATE TABLE users (
  app_id            TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
  user_id           TEXT NOT NULL,
  nickname          TEXT NOT NULL,
  profile_url       TEXT NOT NULL,
  metadata          TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  access_token_hash TEXT,
  PRIMARY KEY (app_id, user_id)
);
CREATE TABLE session_tokens (
  token_hash  TEXT PRIMARY KEY,
  app_id      TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  FOREIGN KEY (app_id, user_id) REFERENCES users(app_id, user_id) ON DELETE CASCADE
);
CREATE INDEX session_tokens_user ON session_tokens(app_id, user_id);
CREATE TABLE sessions (
  key_hash    TEXT PRIMARY KEY,
  app_id      TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  source      INTEGER NOT NULL,
  expires_at  INTEGER,
  device_id   TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  FOREIGN KEY (app_id, user_id) REFERENCES users(app_id, user_id) ON DELETE CASCADE
);
CREATE INDEX sessions_user ON sessions(app_id, user_id, source);
CREATE INDEX sessions_expiry ON sessions(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE push_tokens (
  app_id        TEXT NOT NULL,
  type          TEXT NOT NULL,
  token         TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, type, token),
  FOREIGN KEY (app_id, user_id) REFERENCES users(app_id, user_id) ON DELETE CASCADE
);
CREATE INDEX push_tokens_user ON push_tokens(app_id, user_id);
)sql";

// Direct calls (issue 3). Bindings and the deadline live in the row, so timers survive restarts.
constexpr std::string_view v2 = R"sql(
CREATE TABLE calls (
  call_id        TEXT PRIMARY KEY,
  app_id         TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
  caller_id      TEXT NOT NULL,
  callee_id      TEXT NOT NULL,
  is_video       INTEGER NOT NULL,
  state          INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  accepted_at    INTEGER,
  connected_at   INTEGER,
  ended_at       INTEGER,
  result         INTEGER NOT NULL,
  ended_by       TEXT,
  custom_items   TEXT NOT NULL,
  caller_conn    TEXT NOT NULL,
  caller_device  TEXT NOT NULL,
  caller_lost_at INTEGER,
  callee_conn    TEXT NOT NULL,
  callee_device  TEXT NOT NULL,
  callee_lost_at INTEGER,
  ringing_ms     INTEGER NOT NULL,
  connection_ms  INTEGER NOT NULL,
  grace_ms       INTEGER NOT NULL,
  deadline       INTEGER,
  version        INTEGER NOT NULL
);
CREATE INDEX calls_caller ON calls(app_id, caller_id, created_at);
CREATE INDEX calls_callee ON calls(app_id, callee_id, created_at);
CREATE INDEX calls_app_created ON calls(app_id, created_at);
CREATE INDEX calls_deadline ON calls(deadline) WHERE deadline IS NOT NULL;
CREATE INDEX calls_open ON calls(state) WHERE state < 3;
)sql";

// Process bookkeeping: when the last process was last known alive (restart recovery).
constexpr std::string_view v3 = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
)sql";

// Webhook and push outbox (issue 5). Apps made before it get a webhook secret here; SQLite's
// randomblob() draws from its CSPRNG seeded by the operating system.
constexpr std::string_view v4 = R"sql(
CREATE TABLE outbox (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id        TEXT NOT NULL UNIQUE,
  app_id          TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
  kind            INTEGER NOT NULL,
  order_key       TEXT NOT NULL,
  event           TEXT NOT NULL,
  payload         TEXT NOT NULL,
  state           INTEGER NOT NULL,
  attempts        INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  give_up_at      INTEGER NOT NULL,
  leased_until    INTEGER,
  last_status     INTEGER,
  last_error      TEXT,
  finished_at     INTEGER
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state=0;
CREATE INDEX outbox_order ON outbox(app_id, order_key, seq) WHERE state=0;
CREATE INDEX outbox_list ON outbox(app_id, kind, seq);
CREATE INDEX outbox_finished ON outbox(state, finished_at) WHERE state>0;
UPDATE apps SET settings=json_set(settings, '$.webhook_secret',
                                  'whsec_' || lower(hex(randomblob(24))))
 WHERE json_extract(settings, '$.webhook_secret') IS NULL;
)sql";

// A counter of changes to apps, bumped by triggers whoever writes (this server, the operator
// CLI in another process, the admin API), so a cached app record can be checked in the same read
// as the user or call it goes with instead of being read again (store::find_app_and_user).
constexpr std::string_view v5 = R"sql(
INSERT INTO meta(key, value) VALUES('apps_version', 0) ON CONFLICT(key) DO NOTHING;
CREATE TRIGGER apps_changed_by_update AFTER UPDATE ON apps BEGIN
  UPDATE meta SET value=value+1 WHERE key='apps_version';
END;
CREATE TRIGGER apps_changed_by_delete AFTER DELETE ON apps BEGIN
  UPDATE meta SET value=value+1 WHERE key='apps_version';
END;
)sql";

// Sessions found by the row id their key carries, and ended by epochs instead of deletes, so an
// authentication writes the table's last page and nothing else (no index on the key hash or the
// user to update per session). users.*_epoch is the epoch a session of that source must hold;
// meta 'session_epoch' is the counter every new epoch comes from (a revocation, a deleted user
// or app moves it on, and a new user starts at its value, so a user made again with the id of
// a deleted one matches none of the old sessions). Sessions from before are kept as legacy
// rows, found by their key hash through a partial index that new sessions never enter.
constexpr std::string_view v6 = R"sql(
ALTER TABLE users ADD COLUMN access_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN token_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN jwt_epoch INTEGER NOT NULL DEFAULT 0;
INSERT INTO meta(key, value) VALUES('session_epoch', 0) ON CONFLICT(key) DO NOTHING;
CREATE TABLE sessions_v6 (
  id          INTEGER PRIMARY KEY,
  key_hash    TEXT NOT NULL,
  app_id      TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  source      INTEGER NOT NULL,
  epoch       INTEGER NOT NULL,
  expires_at  INTEGER,
  device_id   TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  legacy      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sessions_v6(key_hash,app_id,user_id,source,epoch,expires_at,device_id,created_at,legacy)
  SELECT key_hash,app_id,user_id,source,0,expires_at,device_id,created_at,1 FROM sessions
  ORDER BY created_at;
DROP TABLE sessions;
ALTER TABLE sessions_v6 RENAME TO sessions;
CREATE INDEX sessions_expiry ON sessions(expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX sessions_legacy ON sessions(key_hash) WHERE legacy=1;
)sql";

constexpr std::array<std::string_view, 6> all{v1, v2, v3, v4, v5, v6};
}  // namespace

std::span<const std::string_view> sqlite_migrations() {
  return all;
}

namespace {

void exec(sqlite3* db, const std::string& sql, const char* what) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(std::string(what) + ": " + msg);
  }
}

int user_version(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  int version = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW)
    version = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  return version;
}

}  // namespace

void apply_migrations(sqlite3* db) {
  auto migrations = sqlite_migrations();
  int version = user_version(db);
  if (version > static_cast<int>(migrations.size()))
    throw std::runtime_error("database schema version " + std::to_string(version) +
                             " is newer than this parleyd knows");
  for (auto i = static_cast<std::size_t>(version); i < migrations.size(); ++i) {
    exec(db, "BEGIN IMMEDIATE", "SQLite: BEGIN IMMEDIATE");
    std::string sql(migrations[i]);
    sql += "\nPRAGMA user_version=" + std::to_string(i + 1) + ";";
    try {
      exec(db, sql, ("migration " + std::to_string(i + 1) + " failed").c_str());
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    exec(db, "COMMIT", "SQLite: COMMIT");
    log::info("store_migrated", {{"version", static_cast<std::int64_t>(i + 1)}});
  }
}

}  // namespace parley::store
