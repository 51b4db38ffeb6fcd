// The SQLite store: opening and closing, transactions, the group-commit batch and meta. The
// queries of each aggregate are in apps_users.cpp, sessions.cpp, calls.cpp and outbox.cpp.

#include "store/sqlite/sqlite_store.hpp"

#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

#include <stdexcept>

namespace parley::store::sqlite {

sqlite_store::sqlite_store(const std::string& path, sqlite_options options)
    : path_(path), options_(options), readers_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open SQLite database " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  // WAL lets readers run beside the writer; NORMAL sync is durable across process crashes (the
  // WAL is fsynced at checkpoints), which is what a kill -9 needs. When the WAL is copied into
  // the database file: store/sqlite/wal_checkpointer. Reads go through a memory map.
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA mmap_size=268435456");
  exec("PRAGMA cache_size=-32768");
  exec("PRAGMA temp_store=MEMORY");
  exec("PRAGMA foreign_keys=ON");
  apply_migrations(db_);
  // After the migrations: the checkpointer's own connection learns that the database is in WAL
  // mode when it first reads it, and a new database is in WAL mode only once its first
  // transaction (a migration) is written. Opened on an empty file, that connection took the
  // database for a rollback-journal one and its background passes did nothing.
  checkpointer_ = std::make_unique<wal_checkpointer>(db_, path, options_);
  statements_.prepare_all(db_);
  {
    auto s = st(sql::next_session_id);
    if (s.step() != SQLITE_ROW) throw std::runtime_error("SQLite: cannot read the sessions' ids");
    next_session_id_ = s.int64(0);
  }
  load_live_sessions();
  load_ringing_calls();
  writer_ = std::make_unique<group_commit>(
      [this](std::vector<group_commit::job>& batch, std::vector<result<void>>& outcomes) {
        run_batch(batch, outcomes);
      },
      max_batch,
      [this] {
        std::lock_guard lock(mutex_);
        checkpointer_->run_deferred();
      });
}

sqlite_store::~sqlite_store() {
  writer_.reset();  // commits what is queued
  checkpointer_.reset();
  readers_.close();
  statements_.finalize();
  sqlite3_close(db_);
}

void sqlite_store::exec(const char* text) {
  char* err = nullptr;
  if (sqlite3_exec(db_, text, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(std::string("SQLite: ") + text + ": " + msg);
  }
}

sqlite_store::transaction::transaction(sqlite_store& st) : st_(st) {
  st_.exec("BEGIN IMMEDIATE");
}

sqlite_store::transaction::~transaction() {
  if (!done_) sqlite3_exec(st_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

result<void> sqlite_store::transaction::commit() {
  done_ = true;
  if (sqlite3_exec(st_.db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    int rc = sqlite3_errcode(st_.db_);
    sqlite3_exec(st_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return db_failure(rc);
  }
  return {};
}

reader_pool::reader* sqlite_store::lookup_connection(std::unique_lock<std::mutex>& lock) {
  if (lock.try_lock()) return nullptr;
  if (auto r = readers_.local()) return r;
  lock.lock();
  return nullptr;
}

void sqlite_store::run_batch(std::vector<group_commit::job>& batch,
                             std::vector<result<void>>& outcomes) {
  std::lock_guard lock(mutex_);
  // The checkpoint a commit of this batch asks for waits until the batch's answers went out.
  checkpointer_->set_deferring(true);
  batch_ringing_.clear();
  struct batch_end {
    wal_checkpointer& cp;
    ~batch_end() { cp.set_deferring(false); }
  } end{*checkpointer_};
  auto fail_all = [&](int rc) {
    auto f = db_failure(rc);
    outcomes.assign(batch.size(), f);
    // The sessions counted and ended by this batch were not: count again from the table.
    live_sessions_.stale = true;
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

result<void> sqlite_store::set_meta(const std::string& key, std::int64_t value) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::set_meta);
  s.bind(1, key).bind(2, value);
  return done(s.step());
}

result<std::optional<std::int64_t>> sqlite_store::get_meta(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::get_meta);
  s.bind(1, key);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<std::int64_t>(s.int64(0));
  if (rc == SQLITE_DONE) return std::optional<std::int64_t>{};
  return db_failure(rc);
}

}  // namespace parley::store::sqlite

namespace parley::store {

std::unique_ptr<store> open_sqlite_store(const std::string& path, sqlite_options options) {
  // SQLite keeps memory statistics by default, under one process-wide mutex taken by every
  // allocation of every connection: the I/O threads' lookups and the writer's commits queued on
  // it (a third of the I/O thread's sleeps in an authentication run). Nothing here reads those
  // statistics. This must precede SQLite's initialisation; it fails harmlessly after.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  return std::make_unique<sqlite::sqlite_store>(path, options);
}

}  // namespace parley::store
