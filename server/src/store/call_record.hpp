#pragma once
// A direct call as stored: the protocol's call object, plus which connections carry it, the
// timeouts it was dialed with, its next deadline and its version for compare-and-set.

#include "common/clock.hpp"
#include "store/records.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace parley::store {

enum class call_state : std::uint8_t { ringing, accepted, connected, ended };

enum class end_result : std::uint8_t {
  none,
  completed,
  canceled,
  declined,
  no_answer,
  other_device_accepted,  // only on the other devices' copy, never stored
  timed_out,
  connection_lost,
  unknown,
};

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

std::string_view state_name(call_state s) noexcept;
std::string_view result_name(end_result r) noexcept;

}  // namespace parley::store
