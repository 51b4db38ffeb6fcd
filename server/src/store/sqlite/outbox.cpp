// The outbox: webhook and push deliveries queued with the writes that cause them, claimed by the
// worker under a lease, completed, retried and pruned.

#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace parley::store::sqlite {

result<void> sqlite_store::insert_outbox(std::span<const outbox_entry> entries) {
  for (const auto& e : entries) {
    auto s = st(sql::insert_outbox);
    s.bind(1, e.event_id).bind(2, e.app_id).bind(3, static_cast<std::int64_t>(e.kind));
    s.bind(4, e.order_key).bind(5, e.event).bind(6, e.payload).bind(7, e.created_at);
    s.bind(8, e.next_attempt_at).bind(9, e.give_up_at);
    if (auto r = done(s.step()); !r) return r.error();
  }
  return {};
}

result<std::vector<outbox_entry>> sqlite_store::claim_due_outbox(millis now, millis lease_until,
                                                                 int limit) {
  std::lock_guard lock(mutex_);
  std::vector<outbox_entry> out;
  {
    auto s = st(sql::claim_due_outbox);
    s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_outbox(s));
    if (rc != SQLITE_DONE) return db_failure(rc);
  }
  // Polled often: only a claim that takes something writes. The mutex keeps this process's other
  // writers out between the read and the lease.
  if (out.empty()) return out;
  transaction tx(*this);
  for (const auto& e : out) {
    auto s = st(sql::lease_outbox);
    s.bind(1, lease_until).bind(2, e.seq);
    if (auto r = done(s.step()); !r) return r.error();
  }
  if (auto r = tx.commit(); !r) return r.error();
  return out;
}

result<void> sqlite_store::release_outbox_leases() {
  std::lock_guard lock(mutex_);
  auto s = st(sql::release_outbox_leases);
  return done(s.step());
}

result<void> sqlite_store::complete_delivery(const delivery_result& r) {
  std::lock_guard lock(mutex_);
  transaction tx(*this);
  const auto& e = r.entry;
  {
    auto s = st(sql::complete_delivery);
    s.bind(1, static_cast<std::int64_t>(e.state)).bind(2, static_cast<std::int64_t>(e.attempts));
    s.bind(3, e.next_attempt_at);
    if (e.last_status)
      s.bind(4, static_cast<std::int64_t>(*e.last_status));
    else
      s.bind(4, std::optional<millis>{});
    s.bind(5, e.last_error);
    s.bind(6, e.state == delivery_state::pending ? std::optional<millis>{}
                                                 : std::optional<millis>{e.next_attempt_at});
    s.bind(7, e.seq);
    if (auto x = done(s.step()); !x) return x.error();
  }
  if (r.remove_push_token) {
    const auto& [user_id, type, token] = *r.remove_push_token;
    auto s = st(sql::delete_push_token);
    s.bind(1, e.app_id).bind(2, user_id).bind(3, type).bind(4, token);
    if (auto x = done(s.step()); !x) return x.error();
  }
  if (auto x = insert_outbox(r.add); !x) return x.error();
  return tx.commit();
}

result<outbox_entry> sqlite_store::find_outbox(const std::string& app_id,
                                               const std::string& event_id) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::find_outbox);
  s.bind(1, event_id).bind(2, app_id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_outbox(s);
  if (rc == SQLITE_DONE) return fail(errc::not_found, "event_not_found");
  return db_failure(rc);
}

result<std::vector<outbox_entry>> sqlite_store::list_outbox(const std::string& app_id,
                                                            outbox_kind kind,
                                                            std::optional<delivery_state> state,
                                                            std::int64_t after_seq, int limit) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::list_outbox);
  s.bind(1, app_id).bind(2, static_cast<std::int64_t>(kind)).bind(3, after_seq);
  s.bind(4, state ? std::optional<std::int64_t>{static_cast<std::int64_t>(*state)}
                  : std::optional<std::int64_t>{});
  s.bind(5, static_cast<std::int64_t>(limit));
  std::vector<outbox_entry> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_outbox(s));
  if (rc != SQLITE_DONE) return db_failure(rc);
  return out;
}

result<outbox_entry> sqlite_store::retry_outbox(const std::string& app_id,
                                                const std::string& event_id, millis now,
                                                millis give_up_at) {
  std::lock_guard lock(mutex_);
  {
    auto s = st(sql::retry_outbox);
    s.bind(1, now).bind(2, give_up_at).bind(3, event_id).bind(4, app_id);
    if (auto r = changed_one(db_, s.step(), "event_not_found"); !r) return r.error();
  }
  auto s = st(sql::find_outbox_by_event);
  s.bind(1, event_id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_outbox(s);
  return db_failure(rc);
}

result<outbox_stats> sqlite_store::outbox_pending_stats(outbox_kind kind) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::outbox_pending_stats);
  s.bind(1, static_cast<std::int64_t>(kind));
  int rc = s.step();
  if (rc != SQLITE_ROW) return db_failure(rc);
  return outbox_stats{s.int64(0), s.opt_int64(1)};
}

result<int> sqlite_store::prune_outbox(millis delivered_before, millis failed_before) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::prune_outbox);
  s.bind(1, delivered_before).bind(2, failed_before);
  if (auto r = done(s.step()); !r) return r.error();
  return sqlite3_changes(db_);
}

result<void> sqlite_store::make_outbox_due(const std::string& app_id, outbox_kind kind,
                                           millis now) {
  std::lock_guard lock(mutex_);
  auto s = st(sql::make_outbox_due);
  s.bind(1, now).bind(2, app_id).bind(3, static_cast<std::int64_t>(kind)).bind(4, now);
  return done(s.step());
}

}  // namespace parley::store::sqlite
