#pragma once
// The SQLite store's class. Its member functions are defined by concern:
//   sqlite_store.cpp   open and close, transactions, the group-commit batch, meta
//   apps_users.cpp     apps, users, access and session tokens, push tokens
//   sessions.cpp       sessions (and the per-user count of live ones)
//   calls.cpp          calls (and the open-call cache, the ringing count)
//   outbox.cpp         the outbox
// Private to store/sqlite: the rest of the server knows only store/store.hpp, and app/ only
// open_sqlite_store.

#include "store/ringing_registry.hpp"
#include "store/sqlite/group_commit.hpp"
#include "store/sqlite/reader_pool.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/statements.hpp"
#include "store/sqlite/store_caches.hpp"
#include "store/sqlite/wal_checkpointer.hpp"
#include "store/store.hpp"

#include <sqlite3.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace parley::store::sqlite {

class sqlite_store final : public store {
 public:
  sqlite_store(const std::string& path, sqlite_options options);
  ~sqlite_store() override;

  // apps
  result<void> create_app(const app_record& a) override;
  result<std::vector<app_record>> list_apps() override;
  result<app_record> find_app(const std::string& app_id) override;
  result<app_and_user> find_app_and_user(const std::string& app_id,
                                         const std::string& user_id) override;
  result<void> set_app_token_hash(const std::string& app_id, const std::string& hash) override;
  result<void> delete_app(const std::string& app_id) override;
  result<void> set_settings(const std::string& app_id, const app_settings& st) override;

  // users and their tokens
  result<void> create_user(const user_record& u) override;
  result<user_record> find_user(const std::string& app_id, const std::string& user_id) override;
  result<std::vector<user_record>> list_users(const std::string& app_id, const std::string& after,
                                              int limit) override;
  result<user_record> update_user(const std::string& app_id, const std::string& user_id,
                                  const user_patch& p) override;
  result<void> delete_user(const std::string& app_id, const std::string& user_id,
                           std::span<const outbox_entry> outbox) override;
  result<void> set_access_token(const std::string& app_id, const std::string& user_id,
                                const std::optional<std::string>& hash) override;
  result<void> add_session_token(const std::string& app_id, const std::string& user_id,
                                 const std::string& hash, millis expires_at) override;
  result<session_token_record> find_session_token(const std::string& app_id,
                                                  const std::string& hash) override;
  result<void> revoke_session_tokens(const std::string& app_id,
                                     const std::string& user_id) override;

  // sessions
  std::int64_t new_session_id() override { return next_session_id_.fetch_add(1); }
  result<void> create_session(const session_record& r) override;
  void create_session_batched(const session_record& r, std::optional<std::string> token_hash,
                              std::function<void(result<void>)> done) override;
  void on_sessions_ended(sessions_ended_fn fn) override { sessions_ended_ = std::move(fn); }
  result<session_record> find_session(std::int64_t id, const std::string& key_hash,
                                      user_record* user) override;
  result<void> delete_session(const session_record& r) override;
  result<void> update_session(const session_record& r, session_source source,
                              std::optional<millis> expires_at) override;
  result<int> prune_sessions(millis expired_by) override;

  // push tokens
  result<void> put_push_token(const std::string& app_id, const std::string& user_id,
                              const push_token_record& t) override;
  result<std::vector<push_token_record>> list_push_tokens(const std::string& app_id,
                                                          const std::string& user_id) override;
  result<void> delete_push_tokens(const std::string& app_id, const std::string& user_id,
                                  const std::string& type, const std::string& token) override;

  // meta
  result<void> set_meta(const std::string& key, std::int64_t value) override;
  result<std::optional<std::int64_t>> get_meta(const std::string& key) override;

  // calls
  void create_call_batched(const call_record& c, std::vector<outbox_entry> outbox,
                           std::function<void(result<void>)> done, ringing_limits limits) override;
  result<call_record> find_call(const std::string& app_id, const std::string& call_id) override;
  void update_call_batched(const call_record& c, std::vector<outbox_entry> outbox,
                           std::function<void(result<bool>)> done) override;
  void wait_for_batched_writes() override { writer_->wait_idle(); }
  result<std::vector<call_record>> ongoing_calls(const std::string& app_id,
                                                 const std::string& user_id) override;
  result<std::vector<call_record>> calls_on_connection(const std::string& connection_id) override;
  result<std::vector<call_record>> due_calls(millis now, int limit) override;
  result<std::vector<call_record>> unfinished_calls() override;
  result<std::vector<call_record>> list_calls(
      const std::string& app_id, const std::string& user_id,
      const std::optional<std::pair<millis, std::string>>& before, int limit) override;
  result<std::vector<call_record>> calls_created_between(const std::string& app_id, millis from,
                                                         millis to) override;

  // outbox
  result<std::vector<outbox_entry>> claim_due_outbox(millis now, millis lease_until,
                                                     int limit) override;
  result<void> release_outbox_leases() override;
  result<void> complete_delivery(const delivery_result& r) override;
  result<outbox_entry> find_outbox(const std::string& app_id, const std::string& event_id) override;
  result<std::vector<outbox_entry>> list_outbox(const std::string& app_id, outbox_kind kind,
                                                std::optional<delivery_state> state,
                                                std::int64_t after_seq, int limit) override;
  result<outbox_entry> retry_outbox(const std::string& app_id, const std::string& event_id,
                                    millis now, millis give_up_at) override;
  result<outbox_stats> outbox_pending_stats(outbox_kind kind) override;
  result<int> prune_outbox(millis delivered_before, millis failed_before) override;
  result<void> make_outbox_due(const std::string& app_id, outbox_kind kind, millis now) override;

 private:
  // ---- sqlite_store.cpp ----

  // Rolls back unless committed. Nested use is not needed: each store call is one unit.
  class transaction {
   public:
    explicit transaction(sqlite_store& st);
    ~transaction();
    result<void> commit();

   private:
    sqlite_store& st_;
    bool done_ = false;
  };

  void exec(const char* text);
  // A statement on the writer's connection (the caller holds mutex_).
  statement st(sql id) const { return statements_.get(id); }
  // On the reader `r`, or on the writer's connection when `r` is null.
  statement st(reader_pool::reader* r, sql id) const {
    return r ? r->statements.get(id) : statements_.get(id);
  }
  // The connection for a hot lookup: the writer's when mutex_ is free (its page cache is warm, it
  // made the last writes: a reader's cache is dropped after every commit by another connection,
  // which cost calls ~8% more CPU when every lookup went to the readers), else this thread's
  // reader, so the lookup does not wait for a commit or checkpoint in progress. Returns nullptr
  // with `lock` held for the writer's connection.
  reader_pool::reader* lookup_connection(std::unique_lock<std::mutex>& lock);
  // One transaction for a batch of the group commit; each write's outcome is its own unless the
  // transaction as a whole fails, which fails them all.
  void run_batch(std::vector<group_commit::job>& batch, std::vector<result<void>>& outcomes);
  // Runs `write` (several statements) as one unit inside a batch: a failure undoes its own
  // statements only. Alone (a batch of one), the savepoint is the transaction.
  template <class Write>
  result<void> in_savepoint(Write&& write) {
    if (int rc = sqlite3_exec(db_, "SAVEPOINT job", nullptr, nullptr, nullptr); rc != SQLITE_OK)
      return db_failure(rc);
    auto r = write();
    if (!r) sqlite3_exec(db_, "ROLLBACK TO job", nullptr, nullptr, nullptr);
    if (int rc = sqlite3_exec(db_, "RELEASE job", nullptr, nullptr, nullptr); rc != SQLITE_OK) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return db_failure(rc);
    }
    return r;
  }

  // ---- apps_users.cpp ----

  result<user_record> find_user_in(reader_pool::reader* r, const std::string& app_id,
                                   const std::string& user_id);
  // Moves the session epoch counter on; the caller is inside a transaction.
  result<std::int64_t> next_epoch_locked();
  // Ends every session of the user from `source` by giving the user a new epoch for it; the
  // caller is inside a transaction.
  result<void> end_sessions(const std::string& app_id, const std::string& user_id,
                            session_source source);

  // ---- sessions.cpp ----

  result<void> insert_session_locked(const session_record& r, std::vector<std::string>& ended);
  result<void> insert_session_row(const session_record& r);
  // Every live session, oldest first per user: one pass over the table (at open, and after a
  // batch failed, when what was counted may not be what is stored).
  void load_live_sessions();

  // ---- calls.cpp ----

  result<void> insert_call_locked(const call_record& c, std::span<const outbox_entry> outbox,
                                  ringing_limits limits = {});
  result<bool> update_call_locked(const call_record& c, std::span<const outbox_entry> outbox);
  // A write of `c` committed (under mutex_): a call no longer ringing leaves the count.
  void call_committed(const call_record& c);
  result<std::vector<call_record>> read_calls(statement& s);
  void load_ringing_calls();

  // ---- outbox.cpp ----

  result<void> insert_outbox(std::span<const outbox_entry> entries);

  // ---- state ----

  std::string path_;
  sqlite_options options_;
  // Owned. The writer's connection, used under mutex_ (SQLite serialises writers anyway), with
  // every statement prepared at open.
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  statement_set statements_;
  reader_pool readers_;
  std::unique_ptr<wal_checkpointer> checkpointer_;
  // The group commit of new sessions and of the WebSocket's call changes; its thread uses db_
  // under mutex_.
  static constexpr std::size_t max_batch = 256;
  std::unique_ptr<group_commit> writer_;

  app_cache apps_cache_;
  // The calls ringing now (loaded at open, then kept with every write; under mutex_), and the
  // ones the running batch added.
  ringing_registry ringing_;
  std::vector<std::string> batch_ringing_;
  live_session_counts live_sessions_;  // under mutex_
  sessions_ended_fn sessions_ended_;
  // Session ids: the next one to hand out, and where prune_sessions' next slice starts.
  std::atomic<std::int64_t> next_session_id_{1};
  std::int64_t prune_cursor_ = 0;  // under mutex_
};

}  // namespace parley::store::sqlite
