#pragma once
// Everything `parleyd serve` can be told, with the protocol's defaults.

#include "services/auth_service.hpp"
#include "services/ice.hpp"
#include "services/outbox_worker.hpp"
#include "transport/server.hpp"

#include <string>

namespace parley::app {

struct serve_config {
  std::string data_dir = "./var";
  std::string store_url;  // overrides data_dir when set
  std::string listen = "127.0.0.1:8080";
  std::string admin_token;
  bool demo = false;
  int ws_msg_rate = 50;
  std::int64_t clock_offset_ms = 0;
  transport::transport_config transport;
  services::ice_config ice;
  services::auth_limits auth;
  services::outbox_worker_config outbox;
  std::int64_t webhook_give_up_s = 86'400;
  int max_sessions_per_user = 100;  // a new session past it ends the user's oldest
};

// "sqlite:///abs/path", "sqlite://rel/path" or empty (→ DATA_DIR/parley.db). Returns the SQLite
// file path; throws std::runtime_error for a URL scheme this build cannot open.
std::string sqlite_path_for(const std::string& data_dir, const std::string& store_url);

}  // namespace parley::app
