#include "store/call_record.hpp"

namespace parley::store {

std::string_view state_name(call_state s) noexcept {
  switch (s) {
    case call_state::ringing:
      return "ringing";
    case call_state::accepted:
      return "accepted";
    case call_state::connected:
      return "connected";
    case call_state::ended:
      return "ended";
  }
  return "ended";
}

std::string_view result_name(end_result r) noexcept {
  switch (r) {
    case end_result::none:
      return "";
    case end_result::completed:
      return "completed";
    case end_result::canceled:
      return "canceled";
    case end_result::declined:
      return "declined";
    case end_result::no_answer:
      return "no_answer";
    case end_result::other_device_accepted:
      return "other_device_accepted";
    case end_result::timed_out:
      return "timed_out";
    case end_result::connection_lost:
      return "connection_lost";
    case end_result::unknown:
      return "unknown";
  }
  return "";
}

}  // namespace parley::store
