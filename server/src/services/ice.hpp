#pragma once
// ICE servers handed to a device at authentication: the configured STUN URLs, and TURN URLs with
// time-limited credentials in coturn's use-auth-secret scheme
// (username "<expiry unix s>:<user_id>", credential base64(HMAC-SHA1(secret, username))).

#include "common/clock.hpp"

#include <optional>
#include <string>
#include <vector>

namespace parley::services {

struct ice_config {
  std::vector<std::string> stun_urls;
  std::vector<std::string> turn_urls;
  std::string turn_secret;
  int turn_ttl_s = 86400;
};

struct ice_server {
  std::vector<std::string> urls;
  std::optional<std::string> username;
  std::optional<std::string> credential;
};

std::vector<ice_server> ice_servers_for(const ice_config& cfg, const std::string& user_id,
                                        millis now);

}  // namespace parley::services
