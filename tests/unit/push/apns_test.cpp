#include "services/push/apns.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

namespace parley::services::push {
namespace {

using namespace parley::push_test;

constexpr millis t0 = 1'700'000'000'000;
constexpr const char* parley_incoming =
    R"({"type":"incoming_call","app_id":"app","call_id":"c1","caller":{"user_id":"alice","nickname":"Alice"},"callee_id":"bob","is_video":false,"created_at":1700000000000,"ringing_deadline":1700000045000})";
constexpr const char* parley_cancel =
    R"({"type":"call_cancel","app_id":"app","call_id":"c1","callee_id":"bob","reason":"canceled"})";

class apns_test : public ::testing::Test {
 protected:
  apns_test() : key_(make_ec_key()) {
    creds_.private_key_pem = pkcs8_pem(key_.get());
    creds_.key_id = "KEY123";
    creds_.team_id = "TEAM456";
    creds_.bundle_id = "com.example.app";
  }

  push_message message(std::string token_type, bool cancel) const {
    push_message m;
    m.event_id = "0b8e3c0e-3f4c-4c7e-9d7a-2f1b6a1c5d3e";
    m.token_type = std::move(token_type);
    m.token = "a1b2c3d4";
    m.parley_json = cancel ? parley_cancel : parley_incoming;
    m.cancel = cancel;
    m.title = "Alice";
    m.collapse_id = "c1";
    m.expires_at = t0 + 45'500;
    return m;
  }

  outbound::request build(const push_message& m, millis now = t0) {
    auto r = client_.build(creds_, "https://apns.example/", m, now);
    if (!r) throw std::runtime_error(r.error().message);
    return *r;
  }

  static std::string jwt_of(const outbound::request& r) {
    auto auth = header_of(r, "authorization");
    EXPECT_EQ(auth.rfind("bearer ", 0), 0u);
    return auth.substr(7);
  }

  pkey_ptr key_;
  apns_credentials creds_;
  apns_client client_;
};

boost::json::value json(std::string_view text) {
  return boost::json::parse(text);
}

TEST_F(apns_test, voip_incoming_call) {
  auto r = build(message("apns_voip", false));
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://apns.example/3/device/a1b2c3d4");
  EXPECT_TRUE(r.require_http2);
  EXPECT_EQ(header_of(r, "apns-topic"), "com.example.app.voip");
  EXPECT_EQ(header_of(r, "apns-push-type"), "voip");
  EXPECT_EQ(header_of(r, "apns-priority"), "10");
  EXPECT_EQ(header_of(r, "apns-expiration"), std::to_string((t0 + 45'500) / 1000));
  EXPECT_EQ(header_of(r, "apns-collapse-id"), "c1");
  EXPECT_EQ(header_of(r, "apns-id"), "0b8e3c0e-3f4c-4c7e-9d7a-2f1b6a1c5d3e");
  EXPECT_EQ(json(r.body), (boost::json::object{{"parley", json(parley_incoming)}}));
  EXPECT_TRUE(verify_es256(jwt_of(r), key_.get()));
  auto claims = split_jwt(jwt_of(r)).claims;
  EXPECT_EQ(claims.at("iss"), "TEAM456");
  EXPECT_EQ(claims.at("iat"), t0 / 1000);
  EXPECT_EQ(split_jwt(jwt_of(r)).header.at("kid"), "KEY123");
}

TEST_F(apns_test, voip_cancel_is_voip_at_priority_10) {
  auto r = build(message("apns_voip", true));
  EXPECT_EQ(header_of(r, "apns-topic"), "com.example.app.voip");
  EXPECT_EQ(header_of(r, "apns-push-type"), "voip");
  EXPECT_EQ(header_of(r, "apns-priority"), "10");
  EXPECT_EQ(json(r.body), (boost::json::object{{"parley", json(parley_cancel)}}));
}

TEST_F(apns_test, alert_incoming_call) {
  auto r = build(message("apns", false));
  EXPECT_EQ(header_of(r, "apns-topic"), "com.example.app");
  EXPECT_EQ(header_of(r, "apns-push-type"), "alert");
  EXPECT_EQ(header_of(r, "apns-priority"), "10");
  EXPECT_EQ(header_of(r, "apns-collapse-id"), "c1");
  EXPECT_EQ(json(r.body),
            json(std::string(R"({"aps":{"alert":{"title":"Alice","body":"Incoming call"},)") +
                 R"("sound":"default"},"parley":)" + parley_incoming + "}"));
}

TEST_F(apns_test, alert_incoming_video_call) {
  auto m = message("apns", false);
  m.is_video = true;
  auto body = json(build(m).body);
  EXPECT_EQ(body.at("aps").at("alert").at("body"), "Incoming video call");
}

TEST_F(apns_test, background_cancel_on_plain_token) {
  auto r = build(message("apns", true));
  EXPECT_EQ(header_of(r, "apns-topic"), "com.example.app");
  EXPECT_EQ(header_of(r, "apns-push-type"), "background");
  EXPECT_EQ(header_of(r, "apns-priority"), "5");
  EXPECT_EQ(header_of(r, "apns-expiration"), std::to_string((t0 + 45'500) / 1000));
  EXPECT_EQ(json(r.body),
            json(std::string(R"({"aps":{"content-available":1},"parley":)") + parley_cancel + "}"));
}

TEST_F(apns_test, token_is_percent_encoded_into_one_path_segment) {
  auto m = message("apns", false);
  m.token = "ab/../c d?x#y%";
  EXPECT_EQ(build(m).url, "https://apns.example/3/device/ab%2F..%2Fc%20d%3Fx%23y%25");
  m.token = "Az09._~-";
  EXPECT_EQ(build(m).url, "https://apns.example/3/device/Az09._~-");
}

TEST_F(apns_test, non_uuid_event_id_sends_no_apns_id) {
  auto m = message("apns", false);
  m.event_id = "outbox-17";
  EXPECT_EQ(header_of(build(m), "apns-id"), "<missing>");
}

TEST_F(apns_test, fcm_token_and_bad_key_are_refused) {
  auto r = client_.build(creds_, "https://apns.example", message("fcm", false), t0);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_request);

  creds_.private_key_pem = pkcs8_pem(shared_rsa_key());
  r = client_.build(creds_, "https://apns.example", message("apns", false), t0);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_request);
  EXPECT_EQ(r.error().field, "push.apns.private_key");
}

TEST_F(apns_test, jwt_is_reused_for_50_minutes_then_renewed) {
  auto m = message("apns_voip", false);
  auto first = jwt_of(build(m, t0));
  EXPECT_EQ(jwt_of(build(m, t0 + 1'000)), first);
  EXPECT_EQ(jwt_of(build(m, t0 + 50 * 60'000 - 1)), first);
  auto renewed = jwt_of(build(m, t0 + 50 * 60'000));
  EXPECT_NE(renewed, first);
  EXPECT_EQ(split_jwt(renewed).claims.at("iat"), (t0 + 50 * 60'000) / 1000);
  EXPECT_TRUE(verify_es256(renewed, key_.get()));
  EXPECT_EQ(jwt_of(build(m, t0 + 60 * 60'000)), renewed);
}

TEST_F(apns_test, invalidate_forces_a_new_jwt) {
  auto m = message("apns_voip", false);
  auto first = jwt_of(build(m, t0));
  client_.invalidate(creds_);
  auto second = jwt_of(build(m, t0 + 1'000));
  EXPECT_NE(second, first);
  EXPECT_EQ(split_jwt(second).claims.at("iat"), (t0 + 1'000) / 1000);
}

TEST_F(apns_test, each_key_has_its_own_jwt) {
  auto m = message("apns_voip", false);
  auto first = jwt_of(build(m, t0));
  apns_credentials other = creds_;
  other.key_id = "OTHERKEY";
  auto r = client_.build(other, "https://apns.example", m, t0 + 1'000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(split_jwt(jwt_of(*r)).header.at("kid"), "OTHERKEY");
  // A new key under the same ids (a rotated .p8) is not signed with the old one's JWT.
  auto rotated_key = make_ec_key();
  apns_credentials rotated = creds_;
  rotated.private_key_pem = pkcs8_pem(rotated_key.get());
  r = client_.build(rotated, "https://apns.example", m, t0 + 2'000);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(verify_es256(jwt_of(*r), rotated_key.get()));
  EXPECT_EQ(jwt_of(build(m, t0 + 3'000)), first);
}

TEST_F(apns_test, classify_each_answer) {
  struct row {
    outbound::response r;
    push_outcome outcome;
    std::string reason;
  };
  std::vector<row> rows = {
      {answer(200), push_outcome::delivered, "HTTP 200"},
      {answer(410, R"({"reason":"Unregistered","timestamp":1})"), push_outcome::unregistered,
       "Unregistered"},
      {answer(400, R"({"reason":"BadDeviceToken"})"), push_outcome::unregistered, "BadDeviceToken"},
      {answer(400, R"({"reason":"DeviceTokenNotForTopic"})"), push_outcome::unregistered,
       "DeviceTokenNotForTopic"},
      {answer(400, R"({"reason":"BadTopic"})"), push_outcome::rejected, "BadTopic"},
      {answer(403, R"({"reason":"ExpiredProviderToken"})"), push_outcome::reauthenticate,
       "ExpiredProviderToken"},
      {answer(403, R"({"reason":"InvalidProviderToken"})"), push_outcome::reauthenticate,
       "InvalidProviderToken"},
      {answer(403, R"({"reason":"BadCertificate"})"), push_outcome::rejected, "BadCertificate"},
      {answer(413, R"({"reason":"PayloadTooLarge"})"), push_outcome::rejected, "PayloadTooLarge"},
      {answer(429, R"({"reason":"TooManyRequests"})"), push_outcome::retry, "TooManyRequests"},
      {answer(500, R"({"reason":"InternalServerError"})"), push_outcome::retry,
       "InternalServerError"},
      {answer(503, "not json"), push_outcome::retry, "HTTP 503"},
      {answer(0), push_outcome::retry, "could not connect"},
  };
  for (const auto& [r, outcome, reason] : rows) {
    auto c = client_.classify(r);
    EXPECT_EQ(c.outcome, outcome) << r.status << " " << r.body;
    EXPECT_EQ(c.reason, reason) << r.status << " " << r.body;
  }
}

TEST_F(apns_test, classify_reads_retry_after) {
  auto c = client_.classify(answer(429, R"({"reason":"TooManyRequests"})", {{"retry-after", "7"}}));
  EXPECT_EQ(c.outcome, push_outcome::retry);
  EXPECT_EQ(c.retry_after_s, 7);
  EXPECT_FALSE(client_.classify(answer(503)).retry_after_s.has_value());
}

// parse_retry_after (push_types.cpp) ----------------------------------------------------------

constexpr std::int64_t nov_6_1994_08_49_37 = 784111777;

TEST(retry_after, delta_seconds) {
  EXPECT_EQ(parse_retry_after("0", 0), 0);
  EXPECT_EQ(parse_retry_after("120", 5), 120);
  EXPECT_EQ(parse_retry_after("  30 ", 5), 30);
  EXPECT_EQ(parse_retry_after("99999999999999999999999", 5), std::numeric_limits<int>::max());
}

TEST(retry_after, imf_fixdate) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", nov_6_1994_08_49_37 - 90), 90);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", nov_6_1994_08_49_37), 0);
  // A date already past: now.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", nov_6_1994_08_49_37 + 500), 0);
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", 0), 10);
  EXPECT_EQ(parse_retry_after("Thu, 29 Feb 2024 23:59:59 GMT", 1709251199 - 1), 1);
}

TEST(retry_after, junk_is_nullopt) {
  for (std::string_view v : {"", " ", "-5", "5s", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37 UTC",
                             "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
                             "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                             "Sun, 06 Nov 1994 24:00:00 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
                             "Sun, 6 Nov 1994 08:49:37 GMT"})
    EXPECT_FALSE(parse_retry_after(v, 0).has_value()) << v;
}

}  // namespace
}  // namespace parley::services::push
