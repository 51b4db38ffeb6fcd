#pragma once
// Direct calls: applies events to stored calls through the pure call machine, with a
// compare-and-set on the call's version so racing requests (two devices accepting) resolve to
// exactly one winner, and hands the effects to a notifier only after the change is committed.

#include "common/errors.hpp"
#include "services/call_machine.hpp"
#include "services/open_calls.hpp"
#include "services/outbox.hpp"
#include "services/pagination.hpp"
#include "store/store.hpp"

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace parley::services {

// Delivers a committed change to the connections the effect names. Implemented by the API
// layer, which owns the wire format.
class call_notifier {
 public:
  virtual ~call_notifier() = default;
  virtual void deliver(const store::call_record& call, const calls::effect& e) = 0;
};

// The connection a request came on.
struct caller_context {
  std::string app_id;
  std::string user_id;
  std::string connection_id;
  std::string device_id;
};

struct dial_request {
  std::string callee_id;
  bool is_video = false;
  store::string_map custom_items;
};

struct call_page {
  std::vector<store::call_record> calls;
  std::optional<std::string> next;
};

struct usage_day {
  std::string date;  // YYYY-MM-DD (UTC)
  int calls = 0;
  int connected_calls = 0;
  std::int64_t billable_minutes = 0;
};

struct usage_report {
  std::vector<usage_day> days;
  std::int64_t total_billable_minutes = 0;
};

class call_service {
 public:
  // `composer` null: nothing goes to the outbox (tests of the call flow alone).
  call_service(store::store& st, call_notifier& notifier, outbox_composer* composer = nullptr)
      : store_(st), notifier_(notifier), composer_(composer) {}

  // The answer to a request: the call as committed, or why not.
  using call_callback = std::function<void(result<store::call_record>)>;
  using calls_callback = std::function<void(result<std::vector<store::call_record>>)>;
  // How many calls a pass changed.
  using count_callback = std::function<void(int)>;

  // Every change is written with group commit (store::*_batched), never on the calling thread:
  // the callbacks run once, after the commit and after the effects went out, usually on a thread
  // of the store's (at once, on this thread, when nothing is to be written). They must not block.
  // A connection must wait for one answer before its next request, so that its requests apply in
  // order.

  // dial_myself, callee_not_found, invalid_request (custom_items); rate_limited when the caller
  // already has the app's max_ringing_per_caller calls ringing, invalid_call_state when the
  // callee has max_ringing_per_callee.
  void dial(const caller_context& from, const dial_request& req, millis now, call_callback done);
  void accept(const caller_context& from, const std::string& call_id, millis now,
              call_callback done);
  void decline(const caller_context& from, const std::string& call_id, millis now,
               call_callback done);
  void end(const caller_context& from, const std::string& call_id, millis now, call_callback done);
  void media_connected(const caller_context& from, const std::string& call_id, millis now,
                       call_callback done);
  // For signal and media_state: the call and the connection to relay to. Reads no database for
  // a call open in this process.
  result<std::pair<store::call_record, std::string>> relay(const caller_context& from,
                                                           const std::string& call_id);

  // A connection closed: the calls it carried start their reconnect grace.
  void connection_closed(const std::string& connection_id, millis now,
                         count_callback done = nullptr);
  // A connection said hello: calls lost by this user and device rebind to it. Answers the
  // user's ongoing calls for the welcome, oldest first.
  void connection_opened(const caller_context& who, millis now, calls_callback done);
  // The user was deleted: its calls end.
  void user_removed(const std::string& app_id, const std::string& user_id, millis now,
                    count_callback done = nullptr);
  // The app was deleted (its rows are gone): forgets its open calls.
  void app_removed(const std::string& app_id);
  // Fires due timers. A pass starts only once the previous one has finished (so that a slow
  // commit does not make the next tick fire the same timers again); `done` gets how many calls
  // changed, 0 when the pass did not start.
  void fire_timers(millis now, count_callback done = nullptr);
  // At start-up: calls left unfinished by a previous process end with `unknown`, at the last
  // moment that process was known alive (see record_alive), so downtime is never billed.
  void recover(millis now, count_callback done = nullptr);
  // Records that this process is alive at `now` (called every second by the server's tick).
  void record_alive(millis now);

  result<store::call_record> find(const std::string& app_id, const std::string& call_id);
  // Newest first. user_id empty: all calls of the app. invalid_request for a limit outside
  // 1..100 (field "limit"), an invalid user_id, or a cursor this list did not issue ("next").
  result<call_page> list(const std::string& app_id, const std::string& user_id, int limit,
                         const std::string& cursor);
  // from/to: YYYY-MM-DD, inclusive, at most 366 days; the days in order and their total.
  result<usage_report> usage(const std::string& app_id, const std::string& from,
                             const std::string& to);

 private:
  using answers_callback = std::function<void(std::vector<result<store::call_record>>)>;

  // The call as last committed: from open_ here, else read from the store.
  result<store::call_record> load(const std::string& app_id, const std::string& call_id);
  // Load, apply, compare-and-set; retried when another writer won. Effects are delivered
  // after the commit, then `done` runs.
  void transition(const std::string& app_id, const std::string& call_id, calls::event ev,
                  millis now, call_callback done);
  void transition(store::call_record current, calls::event ev, millis now, int attempt,
                  call_callback done);
  // One transition per call, submitted together; `done` gets every answer, in the calls' order,
  // once the last one is in.
  void transition_each(std::vector<store::call_record> calls,
                       const std::function<calls::event(const store::call_record&)>& event_of,
                       millis now, answers_callback done);

  // The outbox entries of a transition (none when nothing is to be told outside).
  result<std::vector<store::outbox_entry>> outbox_for(const store::call_record& before,
                                                      const store::call_record& after, millis now);

  store::store& store_;
  call_notifier& notifier_;
  outbox_composer* composer_;
  open_calls open_;
  std::atomic<bool> timers_running_{false};
};

// Billable minutes of a call: ceil((ended_at - connected_at) / 60000) when it connected.
std::int64_t billable_minutes(const store::call_record& c);

}  // namespace parley::services
