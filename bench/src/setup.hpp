#pragma once
// The bench's users, made the way an app's backend makes them: Platform API user creation
// with an access token, then one client authentication each for a session key.

#include "net.hpp"

#include <string>
#include <vector>

namespace parley::bench {

struct bench_user {
  std::string user_id;
  std::string access_token;
  std::string session_key;
};

struct setup_result {
  std::vector<bench_user> users;  // only the ones that got a session key
  double seconds = 0;
  std::size_t failures = 0;
  std::string first_error;  // for the report when failures > 0
};

// Creates `count` users named PREFIX-000000.. with `concurrency` keep-alive connections and
// authenticates each once. Gives up at `limit` after the start.
setup_result prepare_users(worker_pool& pool, const target& t, const std::string& prefix, int count,
                           int concurrency, std::chrono::seconds limit);

// Body of POST /v1/apps/{app_id}/auth for an access token.
std::string auth_body(const bench_user& u);

}  // namespace parley::bench
