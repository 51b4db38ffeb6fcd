#pragma once
// What every HTTP and WebSocket session of a server shares. Owned by the server, which outlives
// its sessions' use of it (a drain waits for them; late answers go through the registry's gate).

#include "api/context.hpp"
#include "api/router.hpp"
#include "transport/drain.hpp"
#include "transport/server.hpp"
#include "transport/static_files.hpp"

namespace parley::transport {

struct session_env {
  api::context& ctx;
  api::http_api& http;
  const transport_config& cfg;
  drain_registry& registry;
  const static_dir& web;  // --web-root, at /
  const static_dir& sdk;  // --sdk-dir, at /sdk/
};

}  // namespace parley::transport
