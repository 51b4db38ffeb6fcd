#pragma once
// Direct calls: applies events to stored calls through the pure call machine, with a
// compare-and-set on the call's version so racing requests (two devices accepting) resolve to
// exactly one winner, and hands the effects to a notifier only after the change is committed.

#include "common/errors.hpp"
#include "services/call_machine.hpp"
#include "services/outbox.hpp"
#include "services/pagination.hpp"
#include "store/store.hpp"

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

class call_service {
 public:
  // `composer` null: nothing goes to the outbox (tests of the call flow alone).
  call_service(store::store& st, call_notifier& notifier, outbox_composer* composer = nullptr)
      : store_(st), notifier_(notifier), composer_(composer) {}

  // The answer to a request: the call as committed, or why not.
  using call_callback = std::function<void(result<store::call_record>)>;

  // The WebSocket's requests: the change is written with group commit (store::*_batched) and
  // `done` runs once, after the commit and after the effects went out, usually on a thread of
  // the store's (at once, on this thread, when the request fails before any write). It must
  // not block. A connection must wait for one answer before its next request, so that its
  // requests apply in order.
  void dial(const caller_context& from, const dial_request& req, millis now, call_callback done);
  void accept(const caller_context& from, const std::string& call_id, millis now,
              call_callback done);
  void decline(const caller_context& from, const std::string& call_id, millis now,
               call_callback done);
  void end(const caller_context& from, const std::string& call_id, millis now, call_callback done);
  void media_connected(const caller_context& from, const std::string& call_id, millis now,
                       call_callback done);

  // The same, written at once on this thread, answered on return.
  // dial_myself, callee_not_found, invalid_request (custom_items); rate_limited when the caller
  // already has the app's max_ringing_per_caller calls ringing, invalid_call_state when the
  // callee has max_ringing_per_callee.
  result<store::call_record> dial(const caller_context& from, const dial_request& req, millis now);
  result<store::call_record> accept(const caller_context& from, const std::string& call_id,
                                    millis now);
  result<store::call_record> decline(const caller_context& from, const std::string& call_id,
                                     millis now);
  result<store::call_record> end(const caller_context& from, const std::string& call_id,
                                 millis now);
  result<store::call_record> media_connected(const caller_context& from, const std::string& call_id,
                                             millis now);
  // For signal and media_state: the call and the connection to relay to.
  result<std::pair<store::call_record, std::string>> relay(const caller_context& from,
                                                           const std::string& call_id);

  // A connection closed: the calls it carried start their reconnect grace.
  void connection_closed(const std::string& connection_id, millis now);
  // A connection said hello: calls lost by this user and device rebind to it. Returns the
  // user's ongoing calls for the welcome.
  result<std::vector<store::call_record>> connection_opened(const caller_context& who, millis now);
  // The user was deleted: its calls end.
  void user_removed(const std::string& app_id, const std::string& user_id, millis now);
  // Fires due timers. Returns how many calls changed.
  int fire_timers(millis now);
  // At start-up: calls left unfinished by a previous process end with `unknown`, at the last
  // moment that process was known alive (see record_alive), so downtime is never billed.
  int recover(millis now);
  // Records that this process is alive at `now` (called every second by the server's tick).
  void record_alive(millis now);

  result<store::call_record> find(const std::string& app_id, const std::string& call_id);
  // Newest first. user_id empty: all calls of the app. invalid_request for a limit outside
  // 1..100 (field "limit"), an invalid user_id, or a cursor this list did not issue ("next").
  result<call_page> list(const std::string& app_id, const std::string& user_id, int limit,
                         const std::string& cursor);
  // from/to: YYYY-MM-DD, inclusive, at most 366 days.
  result<std::vector<usage_day>> usage(const std::string& app_id, const std::string& from,
                                       const std::string& to);

 private:
  // How a change is written: at once on the calling thread, or with group commit.
  enum class write_mode { now, batched };

  void dial(const caller_context& from, const dial_request& req, millis now, write_mode mode,
            call_callback done);
  // Load, apply, compare-and-set; retried when another writer won. Effects are delivered
  // after the commit, then `done` runs.
  void transition(const std::string& app_id, const std::string& call_id, calls::event ev,
                  millis now, write_mode mode, call_callback done);
  void transition(store::call_record current, calls::event ev, millis now, write_mode mode,
                  int attempt, call_callback done);
  // Written at once; the answer on return.
  result<store::call_record> transition(const std::string& app_id, const std::string& call_id,
                                        const calls::event& ev, millis now);
  result<store::call_record> transition(store::call_record current, const calls::event& ev,
                                        millis now);

  // The outbox entries of a transition (none when nothing is to be told outside).
  result<std::vector<store::outbox_entry>> outbox_for(const store::call_record& before,
                                                      const store::call_record& after, millis now);

  store::store& store_;
  call_notifier& notifier_;
  outbox_composer* composer_;
};

// Billable minutes of a call: ceil((ended_at - connected_at) / 60000) when it connected.
std::int64_t billable_minutes(const store::call_record& c);

}  // namespace parley::services
