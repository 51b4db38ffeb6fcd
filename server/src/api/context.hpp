#pragma once
// What the API layer needs from the rest of the server, wired by app/serve.cpp.

#include "common/metrics.hpp"
#include "services/app_service.hpp"
#include "services/auth_service.hpp"
#include "services/call_service.hpp"
#include "services/connection_hub.hpp"
#include "services/user_service.hpp"

#include <atomic>
#include <string>

namespace parley::api {

struct api_config {
  std::string admin_token;  // empty: the admin API answers 404
  int heartbeat_s = 15;
  int ws_msg_rate = 50;  // messages per second per connection, burst twice that
  bool demo = false;
  std::int64_t webhook_give_up_ms = 86'400'000;  // --webhook-give-up-s
};

struct context {
  services::app_service& apps;
  services::user_service& users;
  services::auth_service& auth;
  services::call_service& calls;
  services::connection_hub& hub;
  metrics& stats;
  api_config config;
  std::atomic<bool> draining{false};
};

}  // namespace parley::api
