#pragma once
// Every SQL statement of the SQLite store, named. A connection prepares the ones it uses when it
// opens (the writer all of them, a reader the lookups) and hands them out by name: there is no
// SQL text anywhere else, and a statement that does not prepare fails the store's open, not a
// request.

#include "store/sqlite/statement.hpp"

#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <span>
#include <string>

namespace parley::store::sqlite {

enum class sql : std::size_t {
  // apps
  insert_app,
  list_apps,
  find_app,
  find_app_with_version,
  find_user_with_apps_version,
  set_app_token_hash,
  set_app_settings,
  delete_app_session_tokens,
  delete_app_push_tokens,
  delete_app_users,
  delete_app,
  // users and their tokens
  insert_user,
  find_user,
  list_users,
  update_user,
  delete_user_session_tokens,
  delete_user_push_tokens,
  delete_user,
  set_access_token,
  user_access_token_hash,
  insert_session_token,
  find_session_token,
  delete_session_tokens,
  next_epoch,
  set_access_epoch,
  set_token_epoch,
  set_jwt_epoch,
  // sessions
  next_session_id,
  insert_session,
  delete_session_by_id,
  find_session_by_id,
  find_session_by_legacy_hash,
  delete_session,
  update_session,
  prune_expired_sessions,
  prune_ended_sessions,
  live_sessions,
  // push tokens
  put_push_token,
  list_push_tokens,
  delete_push_tokens_of_type,
  delete_push_token,
  // meta
  set_meta,
  get_meta,
  // calls
  ringing_calls,
  insert_call,
  find_call,
  update_call,
  ongoing_calls,
  calls_on_connection,
  due_calls,
  unfinished_calls,
  list_calls,
  calls_created_between,
  // outbox
  insert_outbox,
  claim_due_outbox,
  lease_outbox,
  release_outbox_leases,
  complete_delivery,
  find_outbox,
  find_outbox_by_event,
  list_outbox,
  retry_outbox,
  outbox_pending_stats,
  prune_outbox,
  make_outbox_due,
  count_  // not a statement
};

inline constexpr std::size_t sql_count = static_cast<std::size_t>(sql::count_);

// The statement's text.
const std::string& sql_text(sql id);

// The lookups a per-thread reader runs (store/sqlite/reader_pool).
std::span<const sql> reader_statements();

// The prepared statements of one connection, finalized with it.
class statement_set {
 public:
  statement_set() = default;
  // Prepares `ids` on `db` (persistent: they live as long as the connection). Throws
  // std::logic_error naming the statement when one does not prepare.
  void prepare(sqlite3* db, std::span<const sql> ids);
  // Every statement.
  void prepare_all(sqlite3* db);
  void finalize();
  ~statement_set() { finalize(); }
  statement_set(const statement_set&) = delete;
  statement_set& operator=(const statement_set&) = delete;

  // The statement, ready to bind; reset when the returned object goes out of scope. It must have
  // been prepared on this connection.
  statement get(sql id) const;

 private:
  std::array<sqlite3_stmt*, sql_count> prepared_{};
};

}  // namespace parley::store::sqlite
