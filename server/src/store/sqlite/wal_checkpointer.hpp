#pragma once
// When the write-ahead log is copied into the database file. Checkpoints are the only fsyncs in
// WAL mode with synchronous=NORMAL. A background thread copies committed pages into the database
// file on its own connection, off the writer's mutex, so that the checkpoint after a commit finds
// little left to copy. That one must stay: only a checkpoint run by the writer right after its
// commit lets the WAL restart from its start under a steady stream of writes (a passive one from
// elsewhere always trails the writer, and the WAL would grow without end).
//
// So, after every commit on the writer's connection (in place of SQLite's auto-checkpoint):
// - the background pass is woken every `backfill_pages` of growth;
// - once the WAL holds `checkpoint_pages` and a background pass has left a short tail (at most
//   `tail_pages`), the writer checkpoints, a stall of about a millisecond instead of copying the
//   whole WAL; at twice `checkpoint_pages` it checkpoints whatever the tail.
// While a group-commit batch is written (deferring), that checkpoint waits for run_deferred, after
// the batch's answers went out, so that its stall delays only later writes.

#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace parley::store::sqlite {

class wal_checkpointer {
 public:
  // Hooks the commits of `db` (the writer's connection) and starts the background pass on a
  // connection of its own to `path` (none if that cannot be opened: the writer's checkpoints
  // still run).
  wal_checkpointer(sqlite3* db, const std::string& path, const sqlite_options& options);
  // Unhooks the commits and stops the background pass (after a last one): destroy it only when
  // nothing else uses `db`.
  ~wal_checkpointer();
  wal_checkpointer(const wal_checkpointer&) = delete;
  wal_checkpointer& operator=(const wal_checkpointer&) = delete;

  // Called under the writer's mutex, like everything below that touches the writer's connection.
  void set_deferring(bool deferring) { deferring_ = deferring; }
  // The checkpoint a commit asked for while deferring, if any.
  void run_deferred();

 private:
  static int on_commit(void* self, sqlite3* db, const char* name, int pages);
  void checkpoint_tail(sqlite3* db, const char* name, bool must);
  void request_backfill(int pages);
  void run_background(sqlite3* cp);

  sqlite3* db_;
  int checkpoint_pages_;
  int backfill_pages_;
  int tail_pages_;
  // Under the writer's mutex.
  int next_backfill_at_;
  bool deferring_ = false;
  std::optional<bool> deferred_;  // the checkpoint asked for while deferring (true: must run)
  // The background pass.
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable pass_done_;
  bool stopping_ = false;            // guarded by mutex_
  bool backfill_requested_ = false;  // guarded by mutex_
  bool pass_running_ = false;        // guarded by mutex_
  // What the last background pass saw: the WAL's size and how much of it is in the database file
  // (frames of the WAL as it was then).
  std::atomic<int> bg_log_{0};
  std::atomic<int> bg_backfilled_{0};
};

}  // namespace parley::store::sqlite
