#pragma once
// The durable store: apps, users, token hashes, sessions and push tokens. Every query below app
// level is scoped by app_id. Implementations are thread-safe; calls are synchronous and short.
//
// Errors: not_found where a row is named and missing, user_exists on a duplicate user,
// unavailable when the database cannot be reached, internal on anything else.

#include "common/errors.hpp"
#include "store/call_record.hpp"
#include "store/records.hpp"
#include "store/ringing_registry.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace parley::store {

class store {
 public:
  virtual ~store() = default;

  // Apps (operator).
  virtual result<void> create_app(const app_record& app) = 0;
  virtual result<std::vector<app_record>> list_apps() = 0;
  virtual result<app_record> find_app(const std::string& app_id) = 0;
  // The app (not_found if none) and the user if it exists, as find_app and find_user would give
  // them, in one read of the database while the app's record is cached and unchanged: the
  // lookups of every authentication and every dial.
  struct app_and_user {
    app_record app;
    std::optional<user_record> user;
  };
  virtual result<app_and_user> find_app_and_user(const std::string& app_id,
                                                 const std::string& user_id) = 0;
  virtual result<void> set_app_token_hash(const std::string& app_id, const std::string& hash) = 0;
  // Deletes the app and everything in it. Its sessions stop working at once (their rows are
  // reclaimed later by prune_sessions).
  virtual result<void> delete_app(const std::string& app_id) = 0;
  virtual result<void> set_settings(const std::string& app_id, const app_settings& s) = 0;

  // Users.
  virtual result<void> create_user(const user_record& user) = 0;
  virtual result<user_record> find_user(const std::string& app_id, const std::string& user_id) = 0;
  // Users with user_id > after, ascending, at most `limit`.
  virtual result<std::vector<user_record>> list_users(const std::string& app_id,
                                                      const std::string& after, int limit) = 0;
  virtual result<user_record> update_user(const std::string& app_id, const std::string& user_id,
                                          const user_patch& patch) = 0;
  // Deletes the user, its tokens and push tokens, and queues `outbox` in the same transaction.
  // Its sessions stop working at once (a user made again with the same id gets none of them).
  virtual result<void> delete_user(const std::string& app_id, const std::string& user_id,
                                   std::span<const outbox_entry> outbox) = 0;

  // Access tokens: set (nullopt revokes). Sessions made from the previous token end.
  virtual result<void> set_access_token(const std::string& app_id, const std::string& user_id,
                                        const std::optional<std::string>& hash) = 0;

  // Session tokens.
  virtual result<void> add_session_token(const std::string& app_id, const std::string& user_id,
                                         const std::string& hash, millis expires_at) = 0;
  virtual result<session_token_record> find_session_token(const std::string& app_id,
                                                          const std::string& hash) = 0;
  // Deletes all session tokens of the user and ends the sessions made from them.
  virtual result<void> revoke_session_tokens(const std::string& app_id,
                                             const std::string& user_id) = 0;

  // Sessions. A session is found by the row id its key carries and the SHA-256 of the key
  // (id 0: a key issued before keys carried their id, found by the hash alone). Ending the
  // sessions of a user (revocation, deletion) does not touch their rows: each session holds
  // the user's epoch for its source at creation, and one whose epoch is no longer the user's
  // is not found. This keeps authentication's insert to the table's last pages: no index on
  // the key or the user is written per session.
  // A new, unused session row id for new_session_key.
  virtual std::int64_t new_session_id() = 0;
  virtual result<void> create_session(const session_record& s) = 0;
  // create_session with group commit: the row is written together with the other sessions
  // submitted meanwhile, in one transaction. `done` runs once, on a thread of the store's, after
  // the row is committed (or with the failure create_session would give); it must not block.
  // `access_token_hash`, when set, is the user's token hash the caller verified: the row is
  // written only if it still is the user's in that transaction, so a rotation or revocation
  // committed between the check and the batch refuses it (invalid_credentials) instead of
  // leaving a session made from a revoked token.
  virtual void create_session_batched(const session_record& s,
                                      std::optional<std::string> access_token_hash,
                                      std::function<void(result<void>)> done) = 0;
  // A user holds at most the store's max_sessions_per_user live sessions: a new one past it
  // ends the user's oldest (its row deleted in the same transaction as the new row), and `fn`
  // is called with the ended sessions' key hashes once that is committed (on the committing
  // thread, before the new session's `done`), so that their connections can be closed. Set it
  // once, before the first session is written.
  using sessions_ended_fn = std::function<void(const std::vector<std::string>& key_hashes)>;
  virtual void on_sessions_ended(sessions_ended_fn fn) { (void)fn; }
  // `user`, when given, receives the session's user as read in the same statement.
  virtual result<session_record> find_session(std::int64_t id, const std::string& key_hash,
                                              user_record* user = nullptr) = 0;
  virtual result<void> delete_session(const session_record& s) = 0;
  // A refresh: the session now lasts by `source` (and ends with that source's revocation).
  virtual result<void> update_session(const session_record& s, session_source source,
                                      std::optional<millis> expires_at) = 0;
  // Deletes the rows of sessions that expired at or before `expired_by` and of ended ones
  // (revoked, user or app deleted), the latter a bounded slice of the table per call so that
  // no call holds the store for long; returns how many rows went.
  virtual result<int> prune_sessions(millis expired_by) = 0;

  // Push tokens. put moves a token held by another user of the app to this user.
  virtual result<void> put_push_token(const std::string& app_id, const std::string& user_id,
                                      const push_token_record& t) = 0;
  virtual result<std::vector<push_token_record>> list_push_tokens(const std::string& app_id,
                                                                  const std::string& user_id) = 0;
  // Deletes one token (token non-empty) or every token of the type. Idempotent.
  virtual result<void> delete_push_tokens(const std::string& app_id, const std::string& user_id,
                                          const std::string& type, const std::string& token) = 0;

  // Small integers the server keeps about itself (e.g. "alive_at").
  virtual result<void> set_meta(const std::string& key, std::int64_t value) = 0;
  virtual result<std::optional<std::int64_t>> get_meta(const std::string& key) = 0;

  // Direct calls. Calls outlive their users: the call log stays after a user is deleted. Calls
  // are written with group commit only: each write goes into one transaction with the other
  // writes submitted meanwhile (sessions and call changes of every connection), and `done` runs
  // once, on a thread of the store's, after that transaction committed (or with the failure). It
  // must not block. The reads below never wait for a batch: they read what is committed.
  //
  // create_call: `outbox` is queued in the same transaction as the call. A ringing call that
  // would pass `limits` (counted over the calls ringing now, in the same critical section as the
  // insert, so concurrent dials cannot all slip under it) is not written: rate_limited when its
  // caller is at its limit, invalid_call_state when its callee is.
  virtual void create_call_batched(const call_record& c, std::vector<outbox_entry> outbox,
                                   std::function<void(result<void>)> done,
                                   ringing_limits limits = {}) = 0;
  virtual result<call_record> find_call(const std::string& app_id, const std::string& call_id) = 0;
  // Compare-and-set: writes `c` only if the stored version is c.version - 1; `done` gets false
  // when another writer changed the call first (the caller reloads and applies its event again).
  // `outbox` is queued only when the write happens, in the same transaction. Writes only what a
  // transition can change (state, times, result, bindings, deadline, version); the parties, app,
  // creation time, custom items and timeouts stay as created.
  virtual void update_call_batched(const call_record& c, std::vector<outbox_entry> outbox,
                                   std::function<void(result<bool>)> done) = 0;
  // Returns once every batched write submitted before the call has committed and its `done`
  // has run (at start-up after recovery, and at shutdown before the objects those callbacks
  // use go away).
  virtual void wait_for_batched_writes() = 0;
  // Calls of the user that have not ended, oldest first.
  virtual result<std::vector<call_record>> ongoing_calls(const std::string& app_id,
                                                         const std::string& user_id) = 0;
  // Calls not ended with a side bound to this connection.
  virtual result<std::vector<call_record>> calls_on_connection(
      const std::string& connection_id) = 0;
  // Calls whose deadline is at or before `now`, at most `limit`.
  virtual result<std::vector<call_record>> due_calls(millis now, int limit) = 0;
  // Every call not ended, in every app (start-up recovery).
  virtual result<std::vector<call_record>> unfinished_calls() = 0;
  // Newest first. `user_id` empty: every call of the app. `before`: the (created_at, call_id)
  // of the last call of the previous page.
  virtual result<std::vector<call_record>> list_calls(
      const std::string& app_id, const std::string& user_id,
      const std::optional<std::pair<millis, std::string>>& before, int limit) = 0;
  // Calls created in [from, to), for usage.
  virtual result<std::vector<call_record>> calls_created_between(const std::string& app_id,
                                                                 millis from, millis to) = 0;

  // Outbox. Due entries: pending, next_attempt_at <= now, not leased, and no earlier pending
  // entry with the same (app_id, order_key). They are leased until `lease_until` (a crash
  // leaves them to the next process: release_leases at start).
  virtual result<std::vector<outbox_entry>> claim_due_outbox(millis now, millis lease_until,
                                                             int limit) = 0;
  virtual result<void> release_outbox_leases() = 0;
  // Writes the attempt's outcome, queues r.add and deletes r.remove_push_token, atomically;
  // releases the lease.
  virtual result<void> complete_delivery(const delivery_result& r) = 0;
  virtual result<outbox_entry> find_outbox(const std::string& app_id,
                                           const std::string& event_id) = 0;
  // Entries of one kind with seq > after_seq, ascending; `state` nullopt: all.
  virtual result<std::vector<outbox_entry>> list_outbox(const std::string& app_id, outbox_kind kind,
                                                        std::optional<delivery_state> state,
                                                        std::int64_t after_seq, int limit) = 0;
  // Back to pending, due at `now`, with a new give-up time.
  virtual result<outbox_entry> retry_outbox(const std::string& app_id, const std::string& event_id,
                                            millis now, millis give_up_at) = 0;
  virtual result<outbox_stats> outbox_pending_stats(outbox_kind kind) = 0;
  // Removes delivered entries finished before `delivered_before` and failed ones before
  // `failed_before`; returns how many.
  virtual result<int> prune_outbox(millis delivered_before, millis failed_before) = 0;
  // Pending entries of one kind of the app that are due after `now` become due at `now` (their
  // receiver was removed: the worker settles them at once instead of at their next retry).
  virtual result<void> make_outbox_due(const std::string& app_id, outbox_kind kind, millis now) = 0;
};

}  // namespace parley::store
