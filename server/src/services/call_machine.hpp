#pragma once
// The direct-call state machine (protocol.md, "Direct calls"), pure: (call, event, now) →
// (next call, effects). No I/O and no clock: the call service loads the call, applies an event
// here, stores the result with a compare-and-set on the version, and only then delivers the
// effects. The same code serves one node and many.

#include "common/enum_names.hpp"
#include "common/errors.hpp"
#include "store/call_record.hpp"

#include <string>
#include <variant>
#include <vector>

namespace parley::services::calls {

using store::call_record;
using store::call_state;
using store::end_result;

// Events. `connection_id` is the connection the request came on.
struct accept_event {
  std::string user_id;
  std::string connection_id;
  std::string device_id;
};
struct decline_event {
  std::string user_id;
};
struct end_event {
  std::string user_id;
};
struct media_connected_event {
  std::string connection_id;
};
// A deadline may have passed (ringing, connection or reconnect grace).
struct timer_event {};
// A bound connection dropped.
struct connection_lost_event {
  std::string connection_id;
};
// A new connection of the same user and device came back within the grace.
struct rebind_event {
  std::string user_id;
  std::string device_id;
  std::string connection_id;
};
// The user is gone (deleted): the call ends for the peer with connection_lost.
struct party_removed_event {
  std::string user_id;
};
// The server restarted and cannot carry the call.
struct restart_event {};

using event =
    std::variant<accept_event, decline_event, end_event, media_connected_event, timer_event,
                 connection_lost_event, rebind_event, party_removed_event, restart_event>;

// Who hears of a change.
enum class audience : std::uint8_t {
  caller_bound,   // the caller's bound connection
  callee_bound,   // the callee's bound connection
  callee_all,     // every connection of the callee
  callee_others,  // every connection of the callee except `except_connection`
  both_all,       // every connection of both users
};

// What they hear. The API layer sends each as the wire event of the same name: the state
// changes with the call object, the reconnect notices with its id.
enum class effect_type : std::uint8_t {
  ringing,
  accepted,
  connected,
  ended,
  peer_reconnecting,
  peer_reconnected,
};
BOOST_DESCRIBE_ENUM(effect_type, ringing, accepted, connected, ended, peer_reconnecting,
                    peer_reconnected)

struct effect {
  audience to;
  effect_type type;
  // Set for the copy the callee's other devices get: ended with other_device_accepted.
  bool other_device_copy = false;
  std::string except_connection;
};

struct outcome {
  call_record next;
  std::vector<effect> effects;
  bool changed = true;  // false: nothing to store (e.g. a timer that is not due yet)
};

// Creates a ringing call. The caller's dialing connection is bound.
call_record dial(std::string call_id, std::string app_id, std::string caller_id,
                 std::string callee_id, bool is_video, store::string_map custom_items,
                 store::call_binding caller, millis ringing_timeout_ms,
                 millis connection_timeout_ms, millis grace_ms, millis now);
std::vector<effect> dial_effects();

// forbidden (not a party / not the bound connection), invalid_call_state (wrong state).
result<outcome> apply(const call_record& call, const event& ev, millis now);

// For signal and media_state: the bound connection on the other side of `connection_id`.
// forbidden unless `connection_id` is bound; invalid_call_state unless accepted or connected.
result<std::string> relay_target(const call_record& call, const std::string& connection_id);

// The earliest moment a timer can change the call, from its state and lost bindings.
std::optional<millis> next_deadline(const call_record& call);

}  // namespace parley::services::calls
