#pragma once
// The server in one process for the fuzz targets that need services: real services on a
// temporary SQLite store (as tests/unit builds them), one app with two users, alice and bob,
// each with a live session, and a web root and SDK directory with a marker file placed outside
// both. Built once per fuzzer process.

#include "api/call_delivery.hpp"
#include "api/context.hpp"
#include "api/router.hpp"
#include "services/app_service.hpp"
#include "services/auth_service.hpp"
#include "services/call_service.hpp"
#include "services/connection_hub.hpp"
#include "services/user_service.hpp"
#include "store/store.hpp"
#include "transport/server.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace parley::fuzz {

class world {
 public:
  // Everything lives under a fresh directory named after `name` in $TMPDIR (or /tmp), removed
  // at exit.
  explicit world(std::string_view name);
  ~world();
  world(const world&) = delete;
  world& operator=(const world&) = delete;

  // Replaces the placeholders a seed may hold with this world's values, so that checked-in
  // seeds reach authenticated code: $APP_ID, $API_TOKEN, $SIGNING_SECRET, $ALICE_KEY,
  // $BOB_KEY, $ALICE_TOKEN (alice's access token).
  std::string expand(std::string_view input) const;

  // Puts back what an input may have taken away (the fuzzer may delete alice or end her
  // session through the API): alice and bob exist with a live session each.
  void repair();

  // Ends every call still open (as a restart does), so that calls from one input do not
  // pile up in the next ones' `ongoing_calls`.
  void end_calls();

  // Waits until the store has written (and answered) every batched change.
  void settle() { store_->wait_for_batched_writes(); }

  std::filesystem::path dir;
  std::filesystem::path web_root;
  std::filesystem::path sdk_dir;
  // A file outside both roots: its content must never appear in a response.
  std::filesystem::path marker;
  static constexpr std::string_view marker_text = "PARLEY-FUZZ-MARKER-OUTSIDE-ROOT";

 private:
  std::unique_ptr<store::store> store_;

 public:
  metrics stats;
  services::connection_hub hub;
  std::unique_ptr<services::app_service> apps;
  std::unique_ptr<services::user_service> users;
  std::unique_ptr<services::auth_service> auth;
  std::unique_ptr<api::call_delivery> delivery;
  std::unique_ptr<services::call_service> calls;
  std::unique_ptr<api::context> ctx;
  std::unique_ptr<api::http_api> http;
  transport::transport_config transport;

  services::new_app app;
  std::string alice_token;
  std::string alice_key;
  std::string bob_key;
};

}  // namespace parley::fuzz
