#include "store/sqlite/wal_checkpointer.hpp"

#include <chrono>

namespace parley::store::sqlite {

wal_checkpointer::wal_checkpointer(sqlite3* db, const std::string& path,
                                   const sqlite_options& options)
    : db_(db),
      checkpoint_pages_(options.checkpoint_pages),
      backfill_pages_(options.backfill_pages),
      tail_pages_(options.tail_pages),
      next_backfill_at_(options.backfill_pages) {
  sqlite3_wal_hook(db_, &wal_checkpointer::on_commit, this);
  sqlite3* cp = nullptr;
  if (sqlite3_open_v2(path.c_str(), &cp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(cp);
    return;
  }
  sqlite3_busy_timeout(cp, 100);
  // A connection learns that the database is in WAL mode when it first reads it; until then
  // sqlite3_wal_checkpoint_v2 on it does nothing (returns -1 frames).
  sqlite3_exec(cp, "PRAGMA journal_mode", nullptr, nullptr, nullptr);
  thread_ = std::thread([this, cp] { run_background(cp); });
}

wal_checkpointer::~wal_checkpointer() {
  sqlite3_wal_hook(db_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  pass_done_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int wal_checkpointer::on_commit(void* self, sqlite3* db, const char* name, int pages) {
  auto& cp = *static_cast<wal_checkpointer*>(self);
  if (pages >= cp.checkpoint_pages_) {
    int log = cp.bg_log_.load(std::memory_order_relaxed);
    int backfilled = log <= pages ? cp.bg_backfilled_.load(std::memory_order_relaxed) : 0;
    if (pages - backfilled <= cp.tail_pages_ || pages >= 2 * cp.checkpoint_pages_) {
      bool must = pages >= 2 * cp.checkpoint_pages_;
      if (cp.deferring_)
        cp.deferred_ = cp.deferred_.value_or(false) || must;
      else
        cp.checkpoint_tail(db, name, must);
      return SQLITE_OK;
    }
  }
  cp.request_backfill(pages);
  return SQLITE_OK;
}

void wal_checkpointer::run_deferred() {
  if (!deferred_) return;
  bool must = *deferred_;
  deferred_.reset();
  checkpoint_tail(db_, "main", must);
}

// It cannot run while a background pass runs (SQLITE_BUSY at once: SQLite never waits for the
// checkpoint lock); then it is retried at the next commit, unless the WAL is already at twice its
// threshold: then this waits for our pass to end and tries once more. Busy for another reason
// (another process checkpointing): the next commit tries again; this never spins.
void wal_checkpointer::checkpoint_tail(sqlite3* db, const char* name, bool must) {
  int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc != SQLITE_BUSY || !must) return;
  {
    std::unique_lock lock(mutex_);
    if (!pass_running_) return;
    pass_done_.wait_for(lock, std::chrono::seconds(1), [&] { return !pass_running_ || stopping_; });
    if (stopping_) return;
  }
  sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
}

// Wakes the background pass each time the WAL grew by backfill_pages, and, once the WAL is due for
// a restart, whenever no pass is running: the tail it leaves is for the writer to copy, and a pass
// running then would make that checkpoint busy.
void wal_checkpointer::request_backfill(int pages) {
  if (pages < next_backfill_at_ && pages < checkpoint_pages_) {
    if (pages < backfill_pages_) next_backfill_at_ = backfill_pages_;  // restarted
    return;
  }
  next_backfill_at_ = pages + backfill_pages_;
  {
    std::lock_guard lock(mutex_);
    if (backfill_requested_ || (pages >= checkpoint_pages_ && pass_running_)) return;
    backfill_requested_ = true;
  }
  wake_.notify_one();
}

// Copies committed WAL pages into the database file (PASSIVE: never waits for readers or the
// writer) once a second and whenever request_backfill asks.
void wal_checkpointer::run_background(sqlite3* cp) {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || backfill_requested_; });
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
}

}  // namespace parley::store::sqlite
