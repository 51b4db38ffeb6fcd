#include "services/ice.hpp"

#include "common/crypto.hpp"

namespace parley::services {

std::vector<ice_server> ice_servers_for(const ice_config& cfg, const std::string& user_id,
                                        millis now) {
  std::vector<ice_server> out;
  if (!cfg.stun_urls.empty()) out.push_back({cfg.stun_urls, std::nullopt, std::nullopt});
  if (!cfg.turn_urls.empty() && !cfg.turn_secret.empty()) {
    auto expiry = now / 1000 + cfg.turn_ttl_s;
    auto username = std::to_string(expiry) + ":" + user_id;
    auto credential = crypto::base64(crypto::hmac_sha1(cfg.turn_secret, username));
    out.push_back({cfg.turn_urls, username, credential});
  }
  return out;
}

}  // namespace parley::services
