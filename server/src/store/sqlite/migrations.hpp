#pragma once
// Schema versions of the SQLite store. Entry i brings the schema from version i to i + 1.
// Append only: a released migration is never edited.

#include <span>
#include <string_view>

namespace parley::store {

std::span<const std::string_view> sqlite_migrations();

}  // namespace parley::store
