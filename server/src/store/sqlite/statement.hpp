#pragma once
// One prepared SQLite statement in use: typed binds and column reads, and reset (with its bindings
// cleared) when it goes out of scope so that its cache can hand it out again. Also the mapping of
// SQLite result codes to the store's errors.

#include "common/errors.hpp"
#include "store/records.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

namespace parley::store::sqlite {

class statement {
 public:
  explicit statement(sqlite3_stmt* s) : s_(s) {}
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  statement& bind(int i, const std::optional<std::string>& v) {
    if (v) return bind(i, *v);
    sqlite3_bind_null(s_, i);
    return *this;
  }
  statement& bind(int i, const std::optional<std::int64_t>& v) {
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
  std::optional<std::int64_t> opt_int64(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return int64(col);
  }

 private:
  sqlite3_stmt* s_;
};

// The store's error for a SQLite result code (logged): unavailable for a busy, locked, failing or
// full database, internal for anything else.
failure db_failure(int rc);
// Success when a statement ran to its end (SQLITE_DONE).
result<void> done(int rc);
// Success when a statement ran to its end and changed a row; not_found(`missing`) when it changed
// none.
result<void> changed_one(sqlite3* db, int rc, const char* missing);

}  // namespace parley::store::sqlite
