#include "store/sqlite/statement.hpp"

#include "common/log.hpp"

namespace parley::store::sqlite {

failure db_failure(int rc) {
  auto msg = std::string("database error: ") + sqlite3_errstr(rc);
  log::error("store_error", {{"message", msg}});
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_IOERR || rc == SQLITE_FULL)
    return fail(errc::unavailable, "the store is unavailable");
  return fail(errc::internal, msg);
}

result<void> done(int rc) {
  if (rc == SQLITE_DONE) return {};
  return db_failure(rc);
}

result<void> changed_one(sqlite3* db, int rc, const char* missing) {
  if (rc != SQLITE_DONE) return db_failure(rc);
  if (sqlite3_changes(db) == 0) return fail(errc::not_found, missing);
  return {};
}

}  // namespace parley::store::sqlite
