#include "services/limits.hpp"

#include "services/push/push_types.hpp"

namespace parley::limits {

bool valid_user_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > user_id_bytes) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == ':' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool valid_push_type(std::string_view type) noexcept {
  return from_string<services::push::token_type>(type).has_value();
}

result<void> check_device_id(const std::optional<std::string>& device_id) {
  if (device_id && device_id->empty())
    return fail(errc::invalid_request, "device_id must be 1 to 64 bytes", "device_id");
  return {};
}

}  // namespace parley::limits
