#pragma once
// A direct call as stored: the protocol's call object, plus which connections carry it, the
// timeouts it was dialed with, its next deadline and its version for compare-and-set.

#include "common/clock.hpp"
#include "common/enum_names.hpp"
#include "store/records.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace parley::store {

// Both enums are stored as their integer values: never renumber an enumerator.
enum class call_state : std::uint8_t { ringing = 0, accepted = 1, connected = 2, ended = 3 };
BOOST_DESCRIBE_ENUM(call_state, ringing, accepted, connected, ended)

// How an ended call ended. (5 was other_device_accepted, which only the other devices' copy of
// an accepted call says; that is the wire's business, see api/json_codec.)
enum class end_result : std::uint8_t {
  none = 0,
  completed = 1,
  canceled = 2,
  declined = 3,
  no_answer = 4,
  timed_out = 6,
  connection_lost = 7,
  unknown = 8,
};

// The protocol's end_result names; none (not ended) has the empty name.
constexpr std::array<std::pair<end_result, std::string_view>, 8> enum_names(end_result) {
  return {{{end_result::none, ""},
           {end_result::completed, "completed"},
           {end_result::canceled, "canceled"},
           {end_result::declined, "declined"},
           {end_result::no_answer, "no_answer"},
           {end_result::timed_out, "timed_out"},
           {end_result::connection_lost, "connection_lost"},
           {end_result::unknown, "unknown"}}};
}

// One side's bound connection. Empty connection_id: not bound (the callee before accepting).
struct call_binding {
  std::string connection_id;
  std::string device_id;
  std::optional<millis> lost_at;  // set while the connection is gone and the grace runs
};

struct call_record {
  std::string call_id;
  std::string app_id;
  std::string caller_id;
  std::string callee_id;
  bool is_video = false;
  call_state state = call_state::ringing;
  millis created_at = 0;
  std::optional<millis> accepted_at;
  std::optional<millis> connected_at;
  std::optional<millis> ended_at;
  end_result result = end_result::none;
  std::optional<std::string> ended_by;
  string_map custom_items;

  call_binding caller;
  call_binding callee;
  // Timeouts from the app settings at dial time.
  millis ringing_timeout_ms = 60'000;
  millis connection_timeout_ms = 60'000;
  millis grace_ms = 30'000;
  // The next moment a timer may change the call; null when ended.
  std::optional<millis> deadline;
  std::int64_t version = 0;
};

}  // namespace parley::store
