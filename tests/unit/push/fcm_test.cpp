#include "services/push/fcm.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <atomic>

namespace parley::services::push {
namespace {

using namespace parley::push_test;

constexpr millis t0 = 1'700'000'000'000;
constexpr const char* parley_incoming =
    R"({"type":"incoming_call","app_id":"app","call_id":"c1","caller":{"user_id":"alice","nickname":"Alice"},"callee_id":"bob","is_video":true,"created_at":1700000000000,"ringing_deadline":1700000045000})";

fcm_credentials credentials() {
  fcm_credentials c;
  c.project_id = "my-project";
  c.client_email = "push@my-project.iam.gserviceaccount.com";
  c.private_key_id = "kid-1";
  c.private_key_pem = pkcs8_pem(shared_rsa_key());
  return c;
}

push_message message() {
  push_message m;
  m.event_id = "e1";
  m.token_type = "fcm";
  m.token = "fcm-token:APA91b";
  m.parley_json = parley_incoming;
  m.is_video = true;
  m.title = "Alice";
  m.collapse_id = "c1";
  m.expires_at = t0 + 30'500;
  return m;
}

TEST(fcm, build_wraps_the_parley_object_as_a_data_string) {
  fcm_client client;
  auto r = client.build(credentials(), "https://fcm.example/", "ya29.token", message(), t0);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->url, "https://fcm.example/v1/projects/my-project/messages:send");
  EXPECT_FALSE(r->require_http2);
  EXPECT_EQ(header_of(*r, "authorization"), "Bearer ya29.token");
  EXPECT_EQ(header_of(*r, "content-type").rfind("application/json", 0), 0u);
  boost::json::value expected = {{"message",
                                  {{"token", "fcm-token:APA91b"},
                                   {"data", {{"parley", parley_incoming}}},
                                   {"android", {{"priority", "HIGH"}, {"ttl", "30s"}}}}}};
  EXPECT_EQ(boost::json::parse(r->body), expected);
  // The data value is a string that parses back to the parley object.
  auto body = boost::json::parse(r->body);
  EXPECT_EQ(boost::json::parse(body.at("message").at("data").at("parley").as_string()),
            boost::json::parse(parley_incoming));
}

TEST(fcm, ttl_counts_down_and_stops_at_zero) {
  fcm_client client;
  auto ttl = [&](millis now) {
    auto r = client.build(credentials(), "https://fcm.example", "t", message(), now);
    return std::string(
        boost::json::parse(r->body).at("message").at("android").at("ttl").as_string());
  };
  EXPECT_EQ(ttl(t0), "30s");
  EXPECT_EQ(ttl(t0 + 29'600), "0s");
  EXPECT_EQ(ttl(t0 + 30'500), "0s");
  EXPECT_EQ(ttl(t0 + 100'000), "0s");
  EXPECT_EQ(ttl(t0 - 10'000), "40s");
}

TEST(fcm, build_refuses_an_apns_token) {
  fcm_client client;
  auto m = message();
  m.token_type = "apns";
  auto r = client.build(credentials(), "https://fcm.example", "t", m, t0);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_request);
}

std::string fcm_error(int code, const char* status, const char* error_code = nullptr) {
  boost::json::object e{{"code", code}, {"message", "x"}, {"status", status}};
  if (error_code != nullptr)
    e["details"] = boost::json::array{
        boost::json::object{{"@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError"},
                            {"errorCode", error_code}}};
  return boost::json::serialize(boost::json::object{{"error", e}});
}

TEST(fcm, classify_each_answer) {
  struct row {
    outbound::response r;
    push_outcome outcome;
    std::string reason;
  };
  std::vector<row> rows = {
      {answer(200, R"({"name":"projects/p/messages/1"})"), push_outcome::delivered, "HTTP 200"},
      {answer(404, fcm_error(404, "NOT_FOUND", "UNREGISTERED")), push_outcome::unregistered,
       "UNREGISTERED"},
      {answer(400, fcm_error(400, "INVALID_ARGUMENT", "UNREGISTERED")), push_outcome::unregistered,
       "UNREGISTERED"},
      {answer(404, fcm_error(404, "NOT_FOUND")), push_outcome::unregistered, "NOT_FOUND"},
      {answer(401, fcm_error(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR")),
       push_outcome::reauthenticate, "THIRD_PARTY_AUTH_ERROR"},
      {answer(401), push_outcome::reauthenticate, "HTTP 401"},
      {answer(429, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")), push_outcome::retry,
       "QUOTA_EXCEEDED"},
      {answer(503, fcm_error(503, "UNAVAILABLE", "UNAVAILABLE")), push_outcome::retry,
       "UNAVAILABLE"},
      {answer(500, fcm_error(500, "INTERNAL", "INTERNAL")), push_outcome::retry, "INTERNAL"},
      {answer(0), push_outcome::retry, "could not connect"},
      {answer(400, fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")), push_outcome::rejected,
       "INVALID_ARGUMENT"},
      {answer(403, fcm_error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH")),
       push_outcome::rejected, "SENDER_ID_MISMATCH"},
      {answer(400, "<html>"), push_outcome::rejected, "HTTP 400"},
  };
  fcm_client client;
  for (const auto& [r, outcome, reason] : rows) {
    auto c = client.classify(r);
    EXPECT_EQ(c.outcome, outcome) << r.status << " " << r.body;
    EXPECT_EQ(c.reason, reason) << r.status << " " << r.body;
  }
}

TEST(fcm, classify_reads_retry_after) {
  fcm_client client;
  auto c = client.classify(
      answer(429, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), {{"retry-after", "12"}}));
  EXPECT_EQ(c.outcome, push_outcome::retry);
  EXPECT_EQ(c.retry_after_s, 12);
}

// access_token against a loopback token endpoint ----------------------------------------------

class fcm_token_test : public ::testing::Test {
 protected:
  fcm_token_test()
      : server_([this](const received& req) {
          if (req.target == "/broken") return canned{503, {}, "down"};
          if (req.target == "/refuse")
            return canned{400, {}, R"({"error":"invalid_grant","error_description":"x"})"};
          if (req.target == "/junk") return canned{200, {}, "not json"};
          int n = ++issued_;
          return canned{200,
                        {{"Content-Type", "application/json"}},
                        R"({"access_token":"ya29.token-)" + std::to_string(n) +
                            R"(","expires_in":3599,"token_type":"Bearer"})"};
        }),
        http_(outbound::client_options{.policy = {.allow_private = true}}) {
    creds_ = credentials();
  }

  result<std::string> token(millis now, const std::string& path = "/token") {
    return client_.access_token(http_, creds_, server_.url() + path, now);
  }

  std::atomic<int> issued_{0};
  loopback_server server_;
  outbound::http_client http_;
  fcm_credentials creds_;
  fcm_client client_;
};

TEST_F(fcm_token_test, posts_a_signed_jwt_bearer_assertion) {
  auto t = token(t0);
  ASSERT_TRUE(t.has_value()) << t.error().message;
  EXPECT_EQ(*t, "ya29.token-1");
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/token");
  EXPECT_EQ(reqs[0].header("content-type"), "application/x-www-form-urlencoded");
  const std::string prefix =
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
  ASSERT_EQ(reqs[0].body.rfind(prefix, 0), 0u) << reqs[0].body;
  auto assertion = reqs[0].body.substr(prefix.size());
  EXPECT_TRUE(verify_rs256(assertion, shared_rsa_key()));
  auto claims = split_jwt(assertion).claims;
  EXPECT_EQ(claims.at("aud"), boost::json::value(server_.url() + "/token"));
  EXPECT_EQ(claims.at("scope"), "https://www.googleapis.com/auth/firebase.messaging");
  EXPECT_EQ(claims.at("iss"), "push@my-project.iam.gserviceaccount.com");
  EXPECT_EQ(claims.at("iat"), t0 / 1000);
  EXPECT_EQ(split_jwt(assertion).header.at("kid"), "kid-1");
}

TEST_F(fcm_token_test, token_is_cached_until_a_minute_before_it_expires) {
  ASSERT_EQ(*token(t0), "ya29.token-1");
  EXPECT_EQ(*token(t0), "ya29.token-1");
  EXPECT_EQ(*token(t0 + (3599 - 61) * 1000), "ya29.token-1");
  EXPECT_EQ(server_.request_count(), 1u);
  // 60 s before expiry: bought again.
  EXPECT_EQ(*token(t0 + (3599 - 60) * 1000), "ya29.token-2");
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(fcm_token_test, invalidate_buys_a_new_token) {
  ASSERT_EQ(*token(t0), "ya29.token-1");
  client_.invalidate(creds_);
  EXPECT_EQ(*token(t0 + 1'000), "ya29.token-2");
}

TEST_F(fcm_token_test, token_uri_is_used_when_no_oauth_url_is_given) {
  creds_.token_uri = server_.url() + "/sa-token-uri";
  auto t = client_.access_token(http_, creds_, "", t0);
  ASSERT_TRUE(t.has_value()) << t.error().message;
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/sa-token-uri");
}

TEST_F(fcm_token_test, endpoint_failures_map_to_errors) {
  auto t = token(t0, "/broken");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, errc::unavailable);

  t = token(t0, "/refuse");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, errc::invalid_credentials);
  EXPECT_NE(t.error().message.find("invalid_grant"), std::string::npos);

  t = token(t0, "/junk");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, errc::unavailable);

  t = client_.access_token(http_, creds_, closed_port_url() + "/token", t0);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, errc::unavailable);
  // Nothing was cached by the failures.
  EXPECT_EQ(*token(t0), "ya29.token-1");
}

TEST_F(fcm_token_test, bad_key_is_invalid_request) {
  creds_.private_key_pem = "garbage";
  auto t = token(t0);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, errc::invalid_request);
  EXPECT_EQ(server_.request_count(), 0u);
}

}  // namespace
}  // namespace parley::services::push
