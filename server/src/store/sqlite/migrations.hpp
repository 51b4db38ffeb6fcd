#pragma once
// Schema versions of the SQLite store. Entry i brings the schema from version i to i + 1.
// Append only: a released migration is never edited.

#include <sqlite3.h>

#include <span>
#include <string_view>

namespace parley::store {

std::span<const std::string_view> sqlite_migrations();

// Brings the database of `db` to the newest version, each migration in its own transaction.
// Throws std::runtime_error when one fails or the database is newer than this parleyd knows.
void apply_migrations(sqlite3* db);

}  // namespace parley::store
