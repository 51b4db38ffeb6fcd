#include <parley/listeners.hpp>
#include <parley/types.hpp>

namespace parley {

std::string_view to_string(push_token_type type) noexcept {
  switch (type) {
    case push_token_type::apns_voip:
      return "apns_voip";
    case push_token_type::apns:
      return "apns";
    case push_token_type::fcm:
      return "fcm";
  }
  return "unknown";
}

std::string_view to_string(connection_state state) noexcept {
  switch (state) {
    case connection_state::disconnected:
      return "disconnected";
    case connection_state::connecting:
      return "connecting";
    case connection_state::connected:
      return "connected";
    case connection_state::reconnecting:
      return "reconnecting";
  }
  return "unknown";
}

std::string_view to_string(disconnect_reason reason) noexcept {
  switch (reason) {
    case disconnect_reason::deauthenticated:
      return "deauthenticated";
    case disconnect_reason::session_invalid:
      return "session_invalid";
    case disconnect_reason::user_deleted:
      return "user_deleted";
    case disconnect_reason::replaced:
      return "replaced";
    case disconnect_reason::network:
      return "network";
    case disconnect_reason::closed_by_client:
      return "closed_by_client";
  }
  return "unknown";
}

}  // namespace parley
