#include "store/sqlite/statements.hpp"

#include <stdexcept>
#include <string_view>

namespace parley::store::sqlite {

namespace {

// The user's epoch for a session of source `src` (0 access token, 1 session token, 2 JWT), from
// the users columns prefixed `u`.
std::string session_epoch_of(std::string_view src, std::string_view u) {
  std::string out = "CASE ";
  out.append(src).append(" WHEN 0 THEN ").append(u).append("access_epoch WHEN 1 THEN ");
  out.append(u).append("token_epoch ELSE ").append(u).append("jwt_epoch END");
  return out;
}

// The columns store/sqlite/rows reads, in its order.
constexpr std::string_view app_columns =
    "app_id,name,api_token_hash,signing_secret,created_at,settings";
constexpr std::string_view user_columns =
    "app_id,user_id,nickname,profile_url,metadata,created_at,access_token_hash";
constexpr std::string_view call_columns =
    "call_id,app_id,caller_id,callee_id,is_video,state,created_at,accepted_at,connected_at,"
    "ended_at,result,ended_by,custom_items,caller_conn,caller_device,caller_lost_at,"
    "callee_conn,callee_device,callee_lost_at,ringing_ms,connection_ms,grace_ms,deadline,version";
constexpr std::string_view outbox_columns =
    "seq,event_id,app_id,kind,order_key,event,payload,state,attempts,created_at,"
    "next_attempt_at,give_up_at,last_status,last_error";

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out.append(p);
  return out;
}

// A live session: the user columns first (as rows' read_user), then the session's; the join
// checks the epoch.
std::string session_select() {
  return cat(
      {"SELECT u.app_id,u.user_id,u.nickname,u.profile_url,u.metadata,u.created_at,"
       "u.access_token_hash,s.id,s.key_hash,s.source,s.expires_at,s.device_id,s.created_at "
       "FROM sessions s JOIN users u ON u.app_id=s.app_id AND u.user_id=s.user_id WHERE "
       "s.epoch=",
       session_epoch_of("s.source", "u.")});
}

std::string text_of(sql id) {
  switch (id) {
    case sql::insert_app:
      return cat({"INSERT INTO apps(", app_columns, ") VALUES(?,?,?,?,?,?)"});
    case sql::list_apps:
      return cat({"SELECT ", app_columns, " FROM apps ORDER BY created_at, app_id"});
    case sql::find_app:
      return cat({"SELECT ", app_columns, " FROM apps WHERE app_id=?"});
    case sql::find_app_with_version:
      return cat({"SELECT ", app_columns,
                  ",(SELECT value FROM meta WHERE key='apps_version') FROM apps WHERE app_id=?"});
    case sql::find_user_with_apps_version:
      // Always one row: the user's columns (NULL when there is none), and the apps version.
      return "SELECT u.app_id,u.user_id,u.nickname,u.profile_url,u.metadata,u.created_at,"
             "u.access_token_hash,(SELECT value FROM meta WHERE key='apps_version') "
             "FROM (SELECT 1) LEFT JOIN users u ON u.app_id=? AND u.user_id=?";
    case sql::set_app_token_hash:
      return "UPDATE apps SET api_token_hash=? WHERE app_id=?";
    case sql::set_app_settings:
      return "UPDATE apps SET settings=? WHERE app_id=?";
    case sql::delete_app_session_tokens:
      return "DELETE FROM session_tokens WHERE app_id=?";
    case sql::delete_app_push_tokens:
      return "DELETE FROM push_tokens WHERE app_id=?";
    case sql::delete_app_users:
      return "DELETE FROM users WHERE app_id=?";
    case sql::delete_app:
      return "DELETE FROM apps WHERE app_id=?";

    case sql::insert_user:
      // A new user's sessions hold the counter's current epoch.
      return "INSERT INTO users(app_id,user_id,nickname,profile_url,metadata,created_at,"
             "access_token_hash,access_epoch,token_epoch,jwt_epoch) "
             "SELECT ?1,?2,?3,?4,?5,?6,?7,value,value,value FROM meta WHERE key='session_epoch'";
    case sql::find_user:
      return cat({"SELECT ", user_columns, " FROM users WHERE app_id=? AND user_id=?"});
    case sql::list_users:
      return cat({"SELECT ", user_columns,
                  " FROM users WHERE app_id=? AND user_id>? ORDER BY user_id LIMIT ?"});
    case sql::update_user:
      return "UPDATE users SET nickname=?,profile_url=?,metadata=? WHERE app_id=? AND user_id=?";
    case sql::delete_user_session_tokens:
      return "DELETE FROM session_tokens WHERE app_id=? AND user_id=?";
    case sql::delete_user_push_tokens:
      return "DELETE FROM push_tokens WHERE app_id=? AND user_id=?";
    case sql::delete_user:
      return "DELETE FROM users WHERE app_id=? AND user_id=?";
    case sql::set_access_token:
      return "UPDATE users SET access_token_hash=? WHERE app_id=? AND user_id=?";
    case sql::user_access_token_hash:
      return "SELECT access_token_hash FROM users WHERE app_id=? AND user_id=?";
    case sql::insert_session_token:
      return "INSERT INTO session_tokens(token_hash,app_id,user_id,expires_at) VALUES(?,?,?,?)";
    case sql::find_session_token:
      return "SELECT app_id,user_id,expires_at FROM session_tokens WHERE token_hash=? AND "
             "app_id=?";
    case sql::delete_session_tokens:
      return "DELETE FROM session_tokens WHERE app_id=? AND user_id=?";
    case sql::next_epoch:
      return "UPDATE meta SET value=value+1 WHERE key='session_epoch' RETURNING value";
    case sql::set_access_epoch:
      return "UPDATE users SET access_epoch=? WHERE app_id=? AND user_id=?";
    case sql::set_token_epoch:
      return "UPDATE users SET token_epoch=? WHERE app_id=? AND user_id=?";
    case sql::set_jwt_epoch:
      return "UPDATE users SET jwt_epoch=? WHERE app_id=? AND user_id=?";

    case sql::next_session_id:
      return "SELECT coalesce(max(id),0)+1 FROM sessions";
    case sql::insert_session:
      // The row takes the user's epoch for its source from the users row, in the same statement.
      return cat(
          {"INSERT INTO sessions(id,key_hash,app_id,user_id,source,epoch,expires_at,"
           "device_id,created_at) SELECT ?1,?2,app_id,user_id,?3,",
           session_epoch_of("?3", ""), ",?4,?5,?6 FROM users WHERE app_id=?7 AND user_id=?8"});
    case sql::delete_session_by_id:
      return "DELETE FROM sessions WHERE id=?";
    case sql::find_session_by_id:
      return cat({session_select(), " AND s.id=?1"});
    case sql::find_session_by_legacy_hash:
      return cat({session_select(), " AND s.key_hash=?2 AND s.legacy=1"});
    case sql::delete_session:
      return "DELETE FROM sessions WHERE id=? AND key_hash=?";
    case sql::update_session:
      // The new source's epoch, so that the session now ends with that source's revocation.
      return cat({"UPDATE sessions SET source=?1, expires_at=?2, epoch=coalesce((SELECT ",
                  session_epoch_of("?1", ""),
                  " FROM users u WHERE u.app_id=sessions.app_id AND "
                  "u.user_id=sessions.user_id), -1) WHERE id=?3 AND key_hash=?4"});
    case sql::prune_expired_sessions:
      return "DELETE FROM sessions WHERE expires_at IS NOT NULL AND expires_at<=?";
    case sql::prune_ended_sessions:
      // Revoked, or of a deleted user or app: one slice of ids (?1, ?2] per call.
      return cat(
          {"DELETE FROM sessions WHERE id IN (SELECT s.id FROM sessions s LEFT JOIN users "
           "u ON u.app_id=s.app_id AND u.user_id=s.user_id WHERE s.id>?1 AND s.id<=?2 AND "
           "(u.user_id IS NULL OR s.epoch<>",
           session_epoch_of("s.source", "u."), "))"});
    case sql::live_sessions:
      return cat(
          {"SELECT s.id,s.key_hash,s.app_id,s.user_id,s.source,s.expires_at "
           "FROM sessions s JOIN users u ON u.app_id=s.app_id AND u.user_id=s.user_id "
           "WHERE s.epoch=",
           session_epoch_of("s.source", "u."), " ORDER BY s.id"});

    case sql::put_push_token:
      // One device, one owner: a token registered by a new user moves to that user.
      return "INSERT INTO push_tokens(app_id,type,token,user_id,registered_at) VALUES(?,?,?,?,?) "
             "ON CONFLICT(app_id,type,token) DO UPDATE SET user_id=excluded.user_id, "
             "registered_at=excluded.registered_at";
    case sql::list_push_tokens:
      return "SELECT type,token,registered_at FROM push_tokens WHERE app_id=? AND user_id=? "
             "ORDER BY registered_at, type, token";
    case sql::delete_push_tokens_of_type:
      return "DELETE FROM push_tokens WHERE app_id=? AND user_id=? AND type=?";
    case sql::delete_push_token:
      return "DELETE FROM push_tokens WHERE app_id=? AND user_id=? AND type=? AND token=?";

    case sql::set_meta:
      return "INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET "
             "value=excluded.value";
    case sql::get_meta:
      return "SELECT value FROM meta WHERE key=?";

    case sql::ringing_calls:
      return "SELECT call_id,app_id,caller_id,callee_id FROM calls WHERE state<3 AND state=0";
    case sql::insert_call:
      return cat({"INSERT INTO calls(", call_columns,
                  ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"});
    case sql::find_call:
      return cat({"SELECT ", call_columns, " FROM calls WHERE call_id=? AND app_id=?"});
    case sql::update_call:
      // Only the columns a transition can change: SQLite rewrites the entry of every index on a
      // column named in SET, even with an unchanged value.
      return "UPDATE calls SET state=?2,accepted_at=?3,connected_at=?4,ended_at=?5,result=?6,"
             "ended_by=?7,caller_conn=?8,caller_device=?9,caller_lost_at=?10,callee_conn=?11,"
             "callee_device=?12,callee_lost_at=?13,deadline=?14,version=?15"
             " WHERE call_id=?1 AND version=?16";
    case sql::ongoing_calls:
      return cat({"SELECT ", call_columns,
                  " FROM calls WHERE state<3 AND app_id=? AND (caller_id=?2 OR callee_id=?2)"
                  " ORDER BY created_at, rowid"});
    case sql::calls_on_connection:
      return cat({"SELECT ", call_columns,
                  " FROM calls WHERE state<3 AND (caller_conn=?1 OR callee_conn=?1)"});
    case sql::due_calls:
      return cat({"SELECT ", call_columns,
                  " FROM calls WHERE deadline IS NOT NULL AND deadline<=? ORDER BY deadline"
                  " LIMIT ?"});
    case sql::unfinished_calls:
      return cat({"SELECT ", call_columns, " FROM calls WHERE state<3"});
    case sql::list_calls:
      // (created_at, call_id) descending is a total order, so pages neither skip nor repeat.
      return cat({"SELECT ", call_columns,
                  " FROM calls WHERE app_id=?1 AND (?2='' OR caller_id=?2 OR callee_id=?2)"
                  " AND (?3 IS NULL OR created_at<?3 OR (created_at=?3 AND call_id<?4))"
                  " ORDER BY created_at DESC, call_id DESC LIMIT ?5"});
    case sql::calls_created_between:
      return cat({"SELECT ", call_columns,
                  " FROM calls WHERE app_id=? AND created_at>=? AND created_at<?"
                  " ORDER BY created_at"});

    case sql::insert_outbox:
      return "INSERT INTO outbox(event_id,app_id,kind,order_key,event,payload,state,attempts,"
             "created_at,next_attempt_at,give_up_at) VALUES(?,?,?,?,?,?,0,0,?,?,?)";
    case sql::claim_due_outbox:
      // The order index makes "no earlier pending entry with my key" one probe per row.
      return cat({"SELECT ", outbox_columns,
                  " FROM outbox o WHERE state=0 AND next_attempt_at<=?1"
                  " AND (leased_until IS NULL OR leased_until<=?1)"
                  " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.state=0"
                  " AND p.app_id=o.app_id AND p.order_key=o.order_key AND p.seq<o.seq)"
                  " ORDER BY next_attempt_at, seq LIMIT ?2"});
    case sql::lease_outbox:
      return "UPDATE outbox SET leased_until=? WHERE seq=?";
    case sql::release_outbox_leases:
      return "UPDATE outbox SET leased_until=NULL WHERE leased_until IS NOT NULL";
    case sql::complete_delivery:
      return "UPDATE outbox SET state=?,attempts=?,next_attempt_at=?,last_status=?,last_error=?,"
             "leased_until=NULL,finished_at=? WHERE seq=?";
    case sql::find_outbox:
      return cat({"SELECT ", outbox_columns, " FROM outbox WHERE event_id=? AND app_id=?"});
    case sql::find_outbox_by_event:
      return cat({"SELECT ", outbox_columns, " FROM outbox WHERE event_id=?"});
    case sql::list_outbox:
      return cat({"SELECT ", outbox_columns,
                  " FROM outbox WHERE app_id=? AND kind=? AND seq>? AND (?4 IS NULL OR state=?4)"
                  " ORDER BY seq LIMIT ?5"});
    case sql::retry_outbox:
      return "UPDATE outbox SET state=0,next_attempt_at=?,give_up_at=?,finished_at=NULL"
             " WHERE event_id=? AND app_id=?";
    case sql::outbox_pending_stats:
      return "SELECT count(*), min(created_at) FROM outbox WHERE state=0 AND kind=?";
    case sql::prune_outbox:
      return "DELETE FROM outbox WHERE (state=1 AND finished_at<?) OR (state=2 AND "
             "finished_at<?)";
    case sql::make_outbox_due:
      return "UPDATE outbox SET next_attempt_at=? WHERE app_id=? AND kind=? AND state=0"
             " AND next_attempt_at>?";

    case sql::count_:
      break;
  }
  throw std::logic_error("no SQL for statement " + std::to_string(static_cast<std::size_t>(id)));
}

}  // namespace

const std::string& sql_text(sql id) {
  static const auto texts = [] {
    std::array<std::string, sql_count> out;
    for (std::size_t i = 0; i < sql_count; ++i) out[i] = text_of(static_cast<sql>(i));
    return out;
  }();
  return texts.at(static_cast<std::size_t>(id));
}

std::span<const sql> reader_statements() {
  static constexpr std::array ids{
      sql::find_app,  sql::find_app_with_version, sql::find_user_with_apps_version,
      sql::find_user, sql::find_session_by_id,    sql::find_session_by_legacy_hash,
      sql::find_call, sql::ongoing_calls,         sql::calls_on_connection,
      sql::due_calls, sql::list_push_tokens};
  return ids;
}

void statement_set::prepare(sqlite3* db, std::span<const sql> ids) {
  for (auto id : ids) {
    auto& slot = prepared_.at(static_cast<std::size_t>(id));
    if (slot) continue;
    const auto& text = sql_text(id);
    if (sqlite3_prepare_v3(db, text.c_str(), static_cast<int>(text.size()) + 1,
                           SQLITE_PREPARE_PERSISTENT, &slot, nullptr) != SQLITE_OK) {
      slot = nullptr;
      throw std::logic_error("bad SQL: " + text + ": " + sqlite3_errmsg(db));
    }
  }
}

void statement_set::prepare_all(sqlite3* db) {
  std::array<sql, sql_count> all{};
  for (std::size_t i = 0; i < sql_count; ++i) all[i] = static_cast<sql>(i);
  prepare(db, all);
}

void statement_set::finalize() {
  for (auto& s : prepared_) {
    sqlite3_finalize(s);
    s = nullptr;
  }
}

statement statement_set::get(sql id) const {
  auto* s = prepared_[static_cast<std::size_t>(id)];
  if (!s) throw std::logic_error("statement not prepared on this connection: " + sql_text(id));
  return statement(s);
}

}  // namespace parley::store::sqlite
