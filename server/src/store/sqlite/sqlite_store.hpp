#pragma once
// The embedded store: one SQLite database file in WAL mode. Migrations in migrations.cpp are
// applied in order at open, tracked by PRAGMA user_version.

#include "store/store.hpp"

#include <memory>
#include <string>

namespace parley::store {

// When the write-ahead log is copied into the database file (sizes in 4 KiB pages). A background
// thread copies it every `backfill_pages`; the WAL restarts from its start once it holds
// `checkpoint_pages` and the background has left at most `tail_pages` to copy (or at twice
// `checkpoint_pages`, whatever the tail). The defaults suit production; tests make them small.
struct sqlite_options {
  int checkpoint_pages = 16000;
  int backfill_pages = 1000;
  int tail_pages = 256;
  // Session ids prune_sessions looks at per call for rows of ended sessions.
  std::int64_t prune_slice = 1000;
  // Live sessions a user may hold; a new one past it ends the oldest (0: no limit).
  int max_sessions_per_user = 100;
};

// Opens (creating if needed) the database at `path` and migrates it. Throws std::runtime_error
// when the file cannot be opened or migrated: this happens at start-up only.
std::unique_ptr<store> open_sqlite_store(const std::string& path, sqlite_options options = {});

}  // namespace parley::store
