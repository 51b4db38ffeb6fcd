#pragma once
// The embedded store: one SQLite database file in WAL mode. Migrations in migrations.cpp are
// applied in order at open, tracked by PRAGMA user_version.

#include "store/store.hpp"

#include <memory>
#include <string>

namespace parley::store {

// Opens (creating if needed) the database at `path` and migrates it. Throws std::runtime_error
// when the file cannot be opened or migrated: this happens at start-up only.
std::unique_ptr<store> open_sqlite_store(const std::string& path);

}  // namespace parley::store
