#include "world.hpp"

#include "common/clock.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <stdexcept>

namespace parley::fuzz {

namespace {
void write_file(const std::filesystem::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

template <class T>
T must(result<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string("fuzz world: ") + what + ": " + r.error().message);
  return std::move(*r);
}
}  // namespace

world::world(std::string_view name) {
  const char* tmp = std::getenv("TMPDIR");
  dir = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") /
        ("parley-fuzz-" + std::string(name) + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  // dir/outside-marker, dir/www/{index.html, app.js, sub/page.html}, dir/sdk/parley.js: the
  // marker is a sibling of both roots, reachable by any escape of one level or an absolute path.
  web_root = dir / "www";
  sdk_dir = dir / "sdk";
  marker = dir / "outside-marker";
  std::filesystem::create_directories(web_root / "sub");
  std::filesystem::create_directories(sdk_dir);
  write_file(marker, marker_text);
  write_file(web_root / "index.html", "<!doctype html><title>parley</title>");
  write_file(web_root / "app.js", "console.log('parley');");
  write_file(web_root / "sub" / "page.html", "<p>sub</p>");
  write_file(sdk_dir / "parley.js", "export const parley = 1;");

  store_ = store::open_sqlite_store((dir / "p.db").string());
  apps = std::make_unique<services::app_service>(*store_, &hub);
  delivery = std::make_unique<api::call_delivery>(hub);
  calls = std::make_unique<services::call_service>(*store_, *delivery);
  users = std::make_unique<services::user_service>(*store_, hub, *calls);
  // Failed authentications are what the fuzzer makes most: a limit this high keeps the
  // limiter from hiding the rest of the path.
  services::auth_limits lim;
  lim.failures_per_user = 1'000'000'000;
  lim.failures_per_address = 1'000'000'000;
  auth = std::make_unique<services::auth_service>(*store_, hub, services::ice_config{}, lim, stats);
  api::api_config cfg;
  cfg.admin_token = "fuzz-admin-token-0123456789abcdef0123456789";
  cfg.ws_msg_rate = 1'000'000;  // the per-connection budget would end a long input early
  ctx.reset(new api::context{*apps, *users, *auth, *calls, hub, stats, cfg});
  http = std::make_unique<api::http_api>(*ctx);
  transport.web_root = web_root.string();
  transport.sdk_dir = sdk_dir.string();
  transport.hello_timeout_ms = 20;
  transport.heartbeat_s = 1;

  app = must(apps->create("fuzz", now_ms()), "create app");
  repair();
}

void world::repair() {
  auto now = now_ms();
  for (std::string* key : {&alice_key, &bob_key}) {
    if (!key->empty() && auth->verify(*key, now)) continue;
    std::string id = key == &alice_key ? "alice" : "bob";
    // A user that still exists (only its session went) gets a fresh access token.
    std::optional<std::string> token;
    if (auto created = users->create(app.app_id, {.user_id = id, .issue_access_token = true}, now))
      token = created->access_token;
    else
      token = must(users->issue_access_token(app.app_id, id), "issue access token");
    services::credentials c;
    c.user_id = id;
    c.access_token = token;
    // As the auth route does: answered once the session is committed.
    std::promise<result<services::authenticated>> answered;
    auto answer = answered.get_future();
    auth->authenticate_async(
        app.app_id, c, "device-1", "127.0.0.1", now,
        [&answered](result<services::authenticated> r) { answered.set_value(std::move(r)); });
    auto a = must(answer.get(), "authenticate");
    *key = a.session_key;
    if (key == &alice_key) alice_token = token.value_or("");
  }
}

void world::end_calls() {
  settle();
  calls->recover(now_ms());
  settle();
}

world::~world() {
  settle();
  http.reset();
  ctx.reset();
  calls.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::string world::expand(std::string_view input) const {
  const std::pair<std::string_view, const std::string*> names[] = {
      {"$APP_ID", &app.app_id},
      {"$API_TOKEN", &app.api_token},
      {"$SIGNING_SECRET", &app.signing_secret},
      {"$ALICE_KEY", &alice_key},
      {"$BOB_KEY", &bob_key},
      {"$ALICE_TOKEN", &alice_token},
  };
  std::string out;
  out.reserve(input.size());
  std::size_t i = 0;
  while (i < input.size()) {
    bool replaced = false;
    if (input[i] == '$')
      for (const auto& [name, value] : names)
        if (input.substr(i).starts_with(name)) {
          out += *value;
          i += name.size();
          replaced = true;
          break;
        }
    if (!replaced) out.push_back(input[i++]);
  }
  return out;
}

}  // namespace parley::fuzz
