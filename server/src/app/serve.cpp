#include "app/serve.hpp"

#include "app/data_files.hpp"

#include "api/call_delivery.hpp"
#include "api/context.hpp"
#include "api/outbox_events.hpp"
#include "api/router.hpp"
#include "common/log.hpp"
#include "services/app_service.hpp"
#include "services/auth_service.hpp"
#include "services/call_service.hpp"
#include "services/connection_hub.hpp"
#include "services/outbox_worker.hpp"
#include "services/user_service.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "transport/server.hpp"

#include <csignal>
#include <cstdio>

namespace parley::app {

int serve(const serve_config& cfg) {
  store::sqlite_options store_options;
  store_options.max_sessions_per_user = cfg.max_sessions_per_user;
  auto st = open_private_store(cfg.data_dir, cfg.store_url, store_options);

  metrics stats;
  services::connection_hub hub;
  // A session ended because its user authenticated past the limit closes like a revoked one.
  st->on_sessions_ended([&hub](const std::vector<std::string>& key_hashes) {
    hub.close_sessions(key_hashes, services::close_code::session_invalid, "session limit");
  });
  api::outbox_events outbox(cfg.webhook_give_up_s * 1000);
  api::call_delivery delivery(hub);
  services::call_service calls(*st, delivery, &outbox);
  // --allow-private-outbound: the URLs an app may save, as those the worker may reach.
  services::app_service apps(*st, &hub, {.allow_private = cfg.outbox.allow_private_outbound},
                             &calls);
  // Calls a previous process left unfinished cannot be carried: their connections are gone.
  // They end before the first connection is taken.
  calls.recover(now_ms());
  st->wait_for_batched_writes();
  // Deleting a user ends its calls: the user service holds the call service.
  services::user_service users(*st, hub, calls, &outbox);
  services::auth_service auth(*st, hub, cfg.ice, cfg.auth, stats);
  auth.prune_sessions(now_ms());
  // Webhooks and pushes, including what a previous process left undelivered.
  outbound::http_client outbound_http(services::outbound_options(cfg.outbox));
  services::outbox_worker deliveries(*st, outbox, stats, cfg.outbox, outbound_http);
  deliveries.start();

  api::api_config api_cfg;
  api_cfg.admin_token = cfg.admin_token;
  api_cfg.heartbeat_s = cfg.transport.heartbeat_s;
  api_cfg.ws_msg_rate = cfg.ws_msg_rate;
  api_cfg.demo = cfg.demo;
  api_cfg.webhook_give_up_ms = cfg.webhook_give_up_s * 1000;
  api::context ctx{apps, users, auth, calls, hub, stats, api_cfg};
  api::http_api http(ctx);

  // A peer that vanishes mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  auto server = transport::create_server(cfg.transport, ctx, http);
  auto scheme = server->tls() ? "https" : "http";
  log::info("listening", {{"host", cfg.transport.host},
                          {"port", server->port()},
                          {"tls", server->tls()},
                          {"demo", cfg.demo}});
  std::printf("parleyd listening on %s://%s:%u\n", scheme, cfg.transport.host.c_str(),
              static_cast<unsigned>(server->port()));
  std::fflush(stdout);
  server->run();
  // Sessions a drain did not end close as the server goes, and their calls' changes (reconnect
  // grace) are submitted to the store then: the server goes first, so that the wait below covers
  // them. Call changes still in the store's queue answer through the services: let them finish
  // before the services go.
  server.reset();
  st->wait_for_batched_writes();
  st->on_sessions_ended({});  // the hub goes before the store
  // Deliveries in flight get a moment; the rest stays in the outbox for the next start.
  deliveries.stop();
  log::info("stopped");
  return 0;
}

}  // namespace parley::app
