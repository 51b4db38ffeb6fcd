// Calls: the inserts and compare-and-set updates (in the group commit), the count of calls
// ringing, and the call queries. The reads take the writer's connection only when it is free, a
// reader connection of this thread's otherwise: the call path never waits for a batch to commit.

#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace parley::store::sqlite {

void sqlite_store::create_call_batched(const call_record& c, std::vector<outbox_entry> outbox,
                                       std::function<void(result<void>)> done,
                                       ringing_limits limits) {
  writer_->submit({[this, c, outbox = std::move(outbox), limits]() -> result<void> {
                     bool inserted = false;
                     auto r = in_savepoint([&] {
                       auto w = insert_call_locked(c, outbox, limits);
                       inserted = static_cast<bool>(w);
                       return w;
                     });
                     if (!r && inserted) {
                       ringing_.forget(c.call_id);  // counted, then rolled back
                     } else if (r && c.state == call_state::ringing) {
                       batch_ringing_.push_back(c.call_id);  // uncounted if the batch fails
                     }
                     return r;
                   },
                   std::move(done), [this, c] { call_committed(c); }});
}

// The insert, counted among the calls ringing in the same critical section as the check of the
// limits (the batch's later dials see it before it commits; see run_batch for a batch that
// fails).
result<void> sqlite_store::insert_call_locked(const call_record& c,
                                              std::span<const outbox_entry> outbox,
                                              ringing_limits limits) {
  if (auto refused = ringing_.refuse(c, limits)) return *refused;
  auto s = st(sql::insert_call);
  bind_call(s, c);
  if (auto r = done(s.step()); !r) return r.error();
  if (auto r = insert_outbox(outbox); !r) return r.error();
  ringing_.note(c);
  return {};
}

result<call_record> sqlite_store::find_call(const std::string& app_id, const std::string& call_id) {
  std::unique_lock lock(mutex_, std::defer_lock);
  auto r = lookup_connection(lock);
  auto s = st(r, sql::find_call);
  s.bind(1, call_id).bind(2, app_id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_call(s);
  if (rc == SQLITE_DONE) return fail(errc::not_found, "call_not_found");
  return db_failure(rc);
}

void sqlite_store::update_call_batched(const call_record& c, std::vector<outbox_entry> outbox,
                                       std::function<void(result<bool>)> done) {
  // The write tells whether it won the compare-and-set; `done` reads it after the commit.
  auto won = std::make_shared<bool>(false);
  writer_->submit({[this, c, outbox = std::move(outbox), won]() -> result<void> {
                     return in_savepoint([&]() -> result<void> {
                       auto r = update_call_locked(c, outbox);
                       if (!r) return r.error();
                       *won = *r;
                       return {};
                     });
                   },
                   [won, done = std::move(done)](result<void> r) {
                     if (!r) return done(r.error());
                     done(*won);
                   },
                   [this, c, won] {
                     if (*won) call_committed(c);
                   }});
}

// The compare-and-set and its outbox entries, inside the caller's transaction; false (and nothing
// written) when the stored version is not c.version - 1. Only the columns a transition can change
// are written (call_machine never changes the parties, the app, the creation time, the items or
// the timeouts): naming the others in SET cost their indexes a delete and an insert per
// transition.
result<bool> sqlite_store::update_call_locked(const call_record& c,
                                              std::span<const outbox_entry> outbox) {
  auto s = st(sql::update_call);
  s.bind(1, c.call_id).bind(2, static_cast<std::int64_t>(c.state));
  s.bind(3, c.accepted_at).bind(4, c.connected_at).bind(5, c.ended_at);
  s.bind(6, static_cast<std::int64_t>(c.result)).bind(7, c.ended_by);
  s.bind(8, c.caller.connection_id).bind(9, c.caller.device_id).bind(10, c.caller.lost_at);
  s.bind(11, c.callee.connection_id).bind(12, c.callee.device_id).bind(13, c.callee.lost_at);
  s.bind(14, c.deadline).bind(15, c.version).bind(16, c.version - 1);
  int rc = s.step();
  if (rc != SQLITE_DONE) return db_failure(rc);
  if (sqlite3_changes(db_) != 1) return false;  // lost the race: the transaction rolls back
  if (auto r = insert_outbox(outbox); !r) return r.error();
  return true;
}

void sqlite_store::call_committed(const call_record& c) {
  // Stored as not ringing: no longer counted.
  if (c.state != call_state::ringing) ringing_.forget(c.call_id);
}

// Calls left ringing (by a previous process, until recovery ends them) count too.
void sqlite_store::load_ringing_calls() {
  auto s = st(sql::ringing_calls);
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    call_record c;
    c.call_id = s.text(0);
    c.app_id = s.text(1);
    c.caller_id = s.text(2);
    c.callee_id = s.text(3);
    ringing_.note(c);
  }
  if (rc != SQLITE_DONE) throw std::runtime_error("SQLite: cannot read the ringing calls");
}

result<std::vector<call_record>> sqlite_store::read_calls(statement& s) {
  std::vector<call_record> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_call(s));
  if (rc != SQLITE_DONE) return db_failure(rc);
  return out;
}

result<std::vector<call_record>> sqlite_store::ongoing_calls(const std::string& app_id,
                                                             const std::string& user_id) {
  std::unique_lock lock(mutex_, std::defer_lock);
  auto s = st(lookup_connection(lock), sql::ongoing_calls);
  s.bind(1, app_id).bind(2, user_id);
  return read_calls(s);
}

result<std::vector<call_record>> sqlite_store::calls_on_connection(
    const std::string& connection_id) {
  std::unique_lock lock(mutex_, std::defer_lock);
  auto s = st(lookup_connection(lock), sql::calls_on_connection);
  s.bind(1, connection_id);
  return read_calls(s);
}

result<std::vector<call_record>> sqlite_store::due_calls(millis now, int limit) {
  std::unique_lock lock(mutex_, std::defer_lock);
  auto s = st(lookup_connection(lock), sql::due_calls);
  s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  return read_calls(s);
}

result<std::vector<call_record>> sqlite_store::unfinished_calls() {
  std::lock_guard lock(mutex_);
  auto s = st(sql::unfinished_calls);
  return read_calls(s);
}

result<std::vector<call_record>> sqlite_store::list_calls(
    const std::string& app_id, const std::string& user_id,
    const std::optional<std::pair<millis, std::string>>& before, int limit) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::list_calls);
  s.bind(1, app_id).bind(2, user_id);
  if (before) {
    s.bind(3, before->first).bind(4, before->second);
  } else {
    s.bind(3, std::optional<millis>{}).bind(4, std::string());
  }
  s.bind(5, static_cast<std::int64_t>(limit));
  return read_calls(s);
}

result<std::vector<call_record>> sqlite_store::calls_created_between(const std::string& app_id,
                                                                     millis from, millis to) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::calls_created_between);
  s.bind(1, app_id).bind(2, from).bind(3, to);
  return read_calls(s);
}

}  // namespace parley::store::sqlite
