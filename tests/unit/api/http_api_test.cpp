// The REST API in process: real services on a temporary SQLite store, no sockets.
#include "api/router.hpp"

#include "api/call_delivery.hpp"

#include "common/clock.hpp"
#include "services/limits.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <filesystem>
#include <future>
#include <memory>

namespace parley::api {
namespace {

namespace json = boost::json;

class http_api_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley-api-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    st_ = store::open_sqlite_store((dir_ / "p.db").string());
    apps_ = std::make_unique<services::app_service>(*st_, &hub_);
    delivery_ = std::make_unique<call_delivery>(hub_);
    calls_ = std::make_unique<services::call_service>(*st_, *delivery_);
    users_ = std::make_unique<services::user_service>(*st_, hub_, *calls_);
    services::auth_limits lim;
    lim.failures_per_user = 3;
    auth_ =
        std::make_unique<services::auth_service>(*st_, hub_, services::ice_config{}, lim, stats_);
    ctx_.reset(new context{*apps_, *users_, *auth_, *calls_, hub_, stats_, {}});
    api_ = std::make_unique<http_api>(*ctx_);
    auto app = apps_->create("test", now_ms());
    ASSERT_TRUE(app);
    app_ = *app;
  }
  void TearDown() override {
    api_.reset();
    std::filesystem::remove_all(dir_);
  }

  http_response call(const std::string& method, const std::string& target,
                     const std::string& body = "", bool with_token = true) {
    http_request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.remote_address = "127.0.0.1";
    if (with_token) r.api_token = app_.api_token;
    return handle(r);
  }
  // The request path as the transport drives it: the answer now, or the one a deferred route
  // gives later through the responder (from the store's thread), waited for here.
  http_response handle(const http_request& r) {
    auto later = std::make_shared<std::promise<http_response>>();
    auto given = later->get_future();
    if (auto now = api_->handle(r, [later](answer_maker make) { later->set_value(make()); }))
      return std::move(*now);
    return given.get();
  }
  static json::object body_of(const http_response& r) { return json::parse(r.body).as_object(); }
  static std::string code_of(const http_response& r) {
    return std::string(body_of(r).at("error").at("code").as_string());
  }
  std::string users_path() { return "/v1/apps/" + app_.app_id + "/users"; }

  std::filesystem::path dir_;
  std::unique_ptr<store::store> st_;
  metrics stats_;
  services::connection_hub hub_;
  std::unique_ptr<services::app_service> apps_;
  std::unique_ptr<services::user_service> users_;
  std::unique_ptr<services::auth_service> auth_;
  std::unique_ptr<call_delivery> delivery_;
  std::unique_ptr<services::call_service> calls_;
  std::unique_ptr<context> ctx_;
  std::unique_ptr<http_api> api_;
  services::new_app app_;
};

TEST_F(http_api_test, unknown_path_is_404_and_wrong_method_is_405) {
  auto r = call("GET", "/v1/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(code_of(r), "not_found");
  auto m = call("PUT", users_path());
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(code_of(m), "invalid_request");
}

TEST_F(http_api_test, missing_api_token_is_unauthorized) {
  auto r = call("GET", users_path(), "", false);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(code_of(r), "unauthorized");
}

TEST_F(http_api_test, percent_encoded_user_ids_are_decoded) {
  auto c = call("POST", users_path(), R"({"user_id":"a+b@example.com"})");
  ASSERT_EQ(c.status, 201) << c.body;
  auto g = call("GET", users_path() + "/a%2Bb%40example.com");
  EXPECT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(body_of(g).at("user").at("user_id").as_string(), "a+b@example.com");
}

TEST_F(http_api_test, wrong_field_type_names_the_field) {
  auto r = call("POST", users_path(), R"({"user_id":"a","nickname":5})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_of(r).at("error").at("field").as_string(), "nickname");
}

TEST_F(http_api_test, a_user_id_past_the_read_bound_is_refused_as_decoded_and_others_by_the_rule) {
  auto too_long =
      call("POST", users_path(),
           R"({"user_id":")" + std::string(limits::user_id_field_bytes + 1, 'a') + "\"}");
  EXPECT_EQ(too_long.status, 400);
  EXPECT_EQ(body_of(too_long).at("error").at("message").as_string(),
            "user_id must be at most 4096 bytes");
  auto at_bound = call("POST", users_path(),
                       R"({"user_id":")" + std::string(limits::user_id_field_bytes, 'a') + "\"}");
  EXPECT_EQ(at_bound.status, 400);
  EXPECT_EQ(body_of(at_bound).at("error").at("message").as_string(),
            "user_id must be 1 to 128 bytes of letters, digits and . _ @ : + -");
  auto auth = call("POST", "/v1/apps/" + app_.app_id + "/auth",
                   R"({"user_id":")" + std::string(limits::user_id_field_bytes + 1, 'a') +
                       R"(","access_token":"t"})");
  EXPECT_EQ(body_of(auth).at("error").at("message").as_string(),
            "user_id must be at most 4096 bytes");
}

TEST_F(http_api_test, deep_json_is_invalid_request) {
  std::string deep(40, '[');
  deep += std::string(40, ']');
  auto r = call("POST", users_path(), R"({"user_id":"a","metadata":)" + deep + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code_of(r), "invalid_request");
}

TEST_F(http_api_test, rate_limited_auth_answers_429_with_retry_after) {
  auto c = call("POST", users_path(), R"({"user_id":"alice","issue_access_token":true})");
  ASSERT_EQ(c.status, 201);
  auto auth_path = "/v1/apps/" + app_.app_id + "/auth";
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(call("POST", auth_path, R"({"user_id":"alice","access_token":"wrong"})").status, 401);
  auto token = std::string(body_of(c).at("access_token").as_string());
  auto r = call("POST", auth_path, R"({"user_id":"alice","access_token":")" + token + "\"}");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(code_of(r), "rate_limited");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  int after = std::stoi(r.headers[0].second);
  EXPECT_GE(after, 1);
  EXPECT_LE(after, 60);
}

TEST_F(http_api_test, settings_patch_checks_ranges_and_keeps_values) {
  auto path = "/v1/apps/" + app_.app_id + "/settings";
  auto bad = call("PATCH", path, R"({"ringing_timeout_s":5})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(body_of(bad).at("error").at("field").as_string(), "ringing_timeout_s");
  auto ok = call("PATCH", path, R"({"ringing_timeout_s":30,"reconnect_grace_s":0})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto got = body_of(call("GET", path));
  EXPECT_EQ(got.at("ringing_timeout_s").as_int64(), 30);
  EXPECT_EQ(got.at("reconnect_grace_s").as_int64(), 0);
  EXPECT_EQ(got.at("connection_timeout_s").as_int64(), 60);
}

TEST_F(http_api_test, metrics_count_requests_by_route_pattern) {
  call("GET", users_path() + "/nobody");
  auto m = call("GET", "/metrics");
  EXPECT_NE(m.body.find(R"(route="GET /v1/apps/{app_id}/users/{user_id}",status="404")"),
            std::string::npos)
      << m.body;
}

TEST_F(http_api_test, demo_token_route_exists_only_in_demo_mode_and_only_for_loopback) {
  auto demo = apps_->create("demo", now_ms());
  ASSERT_TRUE(demo);
  auto path = "/demo/v1/apps/" + demo->app_id + "/token";
  EXPECT_EQ(call("POST", path, R"({"user_id":"alice"})").status, 404);
  ctx_->config.demo = true;
  auto ok = call("POST", path, R"({"user_id":"alice"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto token = std::string(body_of(ok).at("access_token").as_string());
  auto again = call("POST", path, R"({"user_id":"alice"})");
  ASSERT_EQ(again.status, 200);
  EXPECT_NE(std::string(body_of(again).at("access_token").as_string()), token);
  EXPECT_EQ(call("POST", "/demo/v1/apps/" + app_.app_id + "/token", R"({"user_id":"a"})").status,
            403);
  http_request remote;
  remote.method = "POST";
  remote.target = path;
  remote.body = R"({"user_id":"bob"})";
  remote.remote_address = "10.1.2.3";
  EXPECT_EQ(handle(remote).status, 404);
  auto app = call("GET", "/demo/v1/app");
  ASSERT_EQ(app.status, 200);
  EXPECT_EQ(body_of(app).at("app_id").as_string(), demo->app_id);
}

TEST(bearer_credentials, the_scheme_is_case_insensitive_and_needs_credentials) {
  EXPECT_EQ(bearer_credentials("Bearer abc"), "abc");
  EXPECT_EQ(bearer_credentials("bearer abc"), "abc");
  EXPECT_EQ(bearer_credentials("BEARER   abc"), "abc");
  for (std::string_view bad : {"", "Bearer", "Bearer ", "Bearer   ", "Bearerabc", "Basic abc",
                               "Bearers abc", " Bearer abc"})
    EXPECT_FALSE(bearer_credentials(bad)) << bad;
}

}  // namespace
}  // namespace parley::api
