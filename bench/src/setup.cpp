#include "setup.hpp"

#include "http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <cstdio>
#include <future>

namespace parley::bench {

namespace http = beast::http;
namespace json = boost::json;

namespace {

struct worker_result {
  std::size_t failures = 0;
  std::string first_error;
};

// The string field `key` of a JSON object text, or empty.
std::string string_field(const std::string& text, std::string_view key) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  const auto* f = v.as_object().if_contains(key);
  return f && f->is_string() ? std::string(f->get_string()) : std::string{};
}

// Built outside the coroutine: g++ 12 rejects braced lists of string literals in coroutine
// bodies ("array used as initializer").
std::string create_user_body(const bench_user& u) {
  return json::serialize(json::object{{"user_id", u.user_id}, {"issue_access_token", true}});
}

asio::awaitable<worker_result> setup_worker(const target& t, std::size_t worker,
                                            std::atomic<int>& next, int count,
                                            std::vector<bench_user>& users,
                                            steady::time_point deadline) {
  worker_result out;
  http_connection conn(co_await asio::this_coro::executor, t, worker);
  auto note = [&](const std::string& what) {
    if (out.failures++ == 0) out.first_error = what;
  };
  const auto users_path = "/v1/apps/" + t.app_id + "/users";
  const auto auth_path = "/v1/apps/" + t.app_id + "/auth";
  for (int i; (i = next++) < count && steady::now() < deadline;) {
    auto& u = users[static_cast<std::size_t>(i)];
    auto created =
        co_await conn.request(http::verb::post, users_path, create_user_body(u), t.api_token);
    if (!created || created->status != 201) {
      note(created ? "create user: HTTP " + std::to_string(created->status) + " " + created->body
                   : "create user: " + created.error().message());
      continue;
    }
    u.access_token = string_field(created->body, "access_token");
    auto authed = co_await conn.request(http::verb::post, auth_path, auth_body(u));
    if (!authed || authed->status != 200) {
      note(authed ? "auth: HTTP " + std::to_string(authed->status) + " " + authed->body
                  : "auth: " + authed.error().message());
      continue;
    }
    u.session_key = string_field(authed->body, "session_key");
    if (u.session_key.empty()) note("auth: no session_key in " + authed->body);
  }
  co_return out;
}

}  // namespace

std::string auth_body(const bench_user& u) {
  return json::serialize(json::object{{"user_id", u.user_id}, {"access_token", u.access_token}});
}

setup_result prepare_users(worker_pool& pool, const target& t, const std::string& prefix, int count,
                           int concurrency, std::chrono::seconds limit) {
  auto start = steady::now();
  std::vector<bench_user> users(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "-%06d", i);
    users[static_cast<std::size_t>(i)].user_id = prefix + id;
  }
  std::atomic<int> next{0};
  std::vector<std::future<worker_result>> workers;
  for (int w = 0; w < concurrency; ++w)
    workers.push_back(asio::co_spawn(
        pool.new_strand(),
        setup_worker(t, static_cast<std::size_t>(w), next, count, users, start + limit),
        asio::use_future));
  setup_result out;
  for (auto& w : workers) {
    auto r = w.get();
    if (r.failures && out.failures == 0) out.first_error = r.first_error;
    out.failures += r.failures;
  }
  for (auto& u : users)
    if (!u.session_key.empty()) out.users.push_back(std::move(u));
  out.seconds = std::chrono::duration<double>(steady::now() - start).count();
  return out;
}

}  // namespace parley::bench
