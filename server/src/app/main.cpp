// parleyd: the server and its operator commands (protocol.md, "Operator API").
//   parleyd serve --listen HOST:PORT [...]
//   parleyd app create --name NAME [--json] | list [--json] | rotate-token APP_ID [--json]
//              | delete APP_ID

#include "app/config.hpp"
#include "app/data_files.hpp"
#include "app/serve.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "services/app_service.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace {

using namespace parley;
namespace json = boost::json;

struct store_options {
  std::string data_dir = "./var";
  std::string store_url;
  void add_to(CLI::App& cmd) {
    cmd.add_option("--data-dir", data_dir, "Directory of the SQLite store (parley.db)");
    cmd.add_option("--store", store_url, "Store URL: sqlite:///path");
  }
  std::unique_ptr<store::store> open() const {
    return app::open_private_store(data_dir, store_url);
  }
};

void print_line(const json::object& o) {
  std::cout << json::serialize(o) << std::endl;
}

int fail_with(const failure& f) {
  std::cerr << "parleyd: " << code_name(f.code) << ": " << f.message << "\n";
  return f.code == errc::not_found ? 3 : 1;
}

bool split_listen(const std::string& listen, transport::transport_config& t) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  t.host = listen.substr(0, colon);
  if (t.host.size() > 1 && t.host.front() == '[' && t.host.back() == ']')
    t.host = t.host.substr(1, t.host.size() - 2);
  try {
    auto port = std::stoul(listen.substr(colon + 1));
    if (port > 65535) return false;
    t.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    return false;
  }
  return !t.host.empty();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"parleyd: self-hosted voice and video calling server"};
  cli.require_subcommand(1);

  // serve
  app::serve_config cfg;
  store_options serve_store;
  auto* serve = cli.add_subcommand("serve", "Run the server");
  serve_store.add_to(*serve);
  serve->add_option("--listen", cfg.listen, "HOST:PORT to listen on (port 0: any free port)");
  serve->add_option("--tls-cert", cfg.transport.tls_cert_file, "PEM certificate chain");
  serve->add_option("--tls-key", cfg.transport.tls_key_file, "PEM private key");
  serve->add_option("--web-root", cfg.transport.web_root, "Serve static files from here");
  serve->add_option("--sdk-dir", cfg.transport.sdk_dir, "Serve the browser SDK from here at /sdk/");
  serve->add_flag("--demo", cfg.demo, "Serve the demo page and its token endpoint");
  serve->add_option("--admin-token", cfg.admin_token, "Enable /admin/v1 with this token")
      ->envname("PARLEY_ADMIN_TOKEN");
  serve->add_option("--stun-url", cfg.ice.stun_urls, "STUN URL handed to clients (repeatable)");
  serve->add_option("--turn-url", cfg.ice.turn_urls, "TURN URL handed to clients (repeatable)");
  serve->add_option("--turn-secret", cfg.ice.turn_secret, "coturn static-auth-secret")
      ->envname("PARLEY_TURN_SECRET");
  serve->add_option("--turn-ttl-s", cfg.ice.turn_ttl_s, "Lifetime of TURN credentials")
      ->check(CLI::Range(60, 7 * 86400));
  serve->add_option("--heartbeat-s", cfg.transport.heartbeat_s, "WebSocket ping interval")
      ->check(CLI::Range(1, 300));
  serve->add_option("--hello-timeout-ms", cfg.transport.hello_timeout_ms, "Deadline for hello")
      ->check(CLI::Range(100, 60000));
  serve
      ->add_option("--auth-fail-limit-user", cfg.auth.failures_per_user,
                   "Failed authentications per user id per 60 s")
      ->check(CLI::Range(1, 1000000));
  serve
      ->add_option("--auth-fail-limit-addr", cfg.auth.failures_per_address,
                   "Failed authentications per address per 60 s")
      ->check(CLI::Range(1, 1000000));
  serve->add_option("--ws-msg-rate", cfg.ws_msg_rate, "WebSocket messages per second")
      ->check(CLI::Range(1, 100000));
  serve
      ->add_option("--max-sessions-per-user", cfg.max_sessions_per_user,
                   "Live sessions per user; a new one past it ends the oldest")
      ->check(CLI::Range(1, 100000));
  serve->add_option("--clock-offset-ms", cfg.clock_offset_ms,
                    "Shift the server clock (tests only)");
  serve
      ->add_option("--threads", cfg.transport.threads,
                   "I/O threads (default: the cores, at most 4)")
      ->check(CLI::Range(1, 64));
  serve->add_option("--apns-url", cfg.outbox.apns_url, "APNs endpoint (production)");
  serve->add_option("--apns-sandbox-url", cfg.outbox.apns_sandbox_url, "APNs endpoint (sandbox)");
  serve->add_option("--fcm-url", cfg.outbox.fcm_url, "FCM endpoint");
  serve->add_option("--fcm-oauth-url", cfg.outbox.fcm_oauth_url,
                    "OAuth token endpoint for FCM (default: the service account's token_uri)");
  serve
      ->add_option("--outbound-ca-file", cfg.outbox.ca_file,
                   "Extra PEM CA bundle trusted for outbound TLS (push, webhooks)")
      ->check(CLI::ExistingFile);
  serve
      ->add_option("--webhook-give-up-s", cfg.webhook_give_up_s,
                   "How long a webhook is retried before it is kept as failed")
      ->check(CLI::Range(1, 7 * 86'400));
  serve->add_option("--drain-timeout-s", cfg.transport.drain_timeout_s, "Drain deadline")
      ->check(CLI::Range(0, 600));
  serve->add_flag(
      "--allow-private-outbound", cfg.outbox.allow_private_outbound,
      "Let webhooks and push reach loopback and private addresses (tests, development)");
  serve
      ->add_option("--max-connections", cfg.transport.max_connections,
                   "Open connections at most (default: the descriptor limit minus 512)")
      ->check(CLI::Range(1, 10'000'000));
  serve
      ->add_option("--max-connections-per-address", cfg.transport.max_connections_per_address,
                   "Open connections from one client address at most")
      ->check(CLI::Range(1, 10'000'000));

  // app ...
  auto* app_cmd = cli.add_subcommand("app", "Manage apps");
  app_cmd->require_subcommand(1);
  store_options app_store;
  bool as_json = false;
  std::string name, app_id;
  auto* create = app_cmd->add_subcommand("create", "Create an app");
  create->add_option("--name", name, "App name")->required();
  create->add_flag("--json", as_json, "One JSON line");
  app_store.add_to(*create);
  auto* list = app_cmd->add_subcommand("list", "List apps");
  list->add_flag("--json", as_json, "One JSON line");
  app_store.add_to(*list);
  auto* rotate = app_cmd->add_subcommand("rotate-token", "Issue a new api token");
  rotate->add_option("APP_ID", app_id)->required();
  rotate->add_flag("--json", as_json, "One JSON line");
  app_store.add_to(*rotate);
  auto* remove = app_cmd->add_subcommand("delete", "Delete an app and all its data");
  remove->add_option("APP_ID", app_id)->required();
  app_store.add_to(*remove);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  try {
    if (*serve) {
      cfg.data_dir = serve_store.data_dir;
      cfg.store_url = serve_store.store_url;
      if (!split_listen(cfg.listen, cfg.transport)) {
        std::cerr << "parleyd: --listen must be HOST:PORT\n";
        return 2;
      }
      // A short admin token can be guessed; the admin API can create and delete apps.
      if (!cfg.admin_token.empty() && cfg.admin_token.size() < 32) {
        std::cerr << "parleyd: --admin-token (or PARLEY_ADMIN_TOKEN) must be at least 32 bytes\n";
        return 2;
      }
      clock_offset_ms = cfg.clock_offset_ms;
      return app::serve(cfg);
    }

    // Operator commands work on the store directly; no server needs to run.
    log::set_min_level(log::level::warn);
    auto st = app_store.open();
    services::app_service apps(*st, nullptr);
    if (*create) {
      auto a = apps.create(name, now_ms());
      if (!a) return fail_with(a.error());
      if (as_json) {
        print_line({{"app_id", a->app_id},
                    {"api_token", a->api_token},
                    {"signing_secret", a->signing_secret},
                    {"name", a->name}});
      } else {
        std::cout << "app_id:         " << a->app_id << "\n"
                  << "api_token:      " << a->api_token << "\n"
                  << "signing_secret: " << a->signing_secret << "\n"
                  << "(the token and secret are shown only now)\n";
      }
    } else if (*list) {
      auto all = apps.list();
      if (!all) return fail_with(all.error());
      if (as_json) {
        json::array arr;
        for (const auto& a : *all)
          arr.push_back(
              json::object{{"app_id", a.app_id}, {"name", a.name}, {"created_at", a.created_at}});
        print_line({{"apps", std::move(arr)}});
      } else {
        for (const auto& a : *all) std::cout << a.app_id << "  " << a.name << "\n";
      }
    } else if (*rotate) {
      auto token = apps.rotate_token(app_id);
      if (!token) return fail_with(token.error());
      if (as_json)
        print_line({{"app_id", app_id}, {"api_token", *token}});
      else
        std::cout << "api_token: " << *token << "\n";
    } else if (*remove) {
      if (auto r = apps.remove(app_id); !r) return fail_with(r.error());
      std::cout << "deleted " << app_id << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "parleyd: " << e.what() << "\n";
    return 1;
  }
}
