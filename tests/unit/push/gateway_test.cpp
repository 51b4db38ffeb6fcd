#include "services/push/gateway.hpp"

#include "services/push/signing.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

namespace parley::services::push {
namespace {

using namespace parley::push_test;

constexpr millis t0 = 1'700'000'000'000;
constexpr const char* parley_incoming =
    R"({"type":"incoming_call","app_id":"app","call_id":"c1","callee_id":"bob"})";

gateway_credentials credentials() {
  return {"https://push.example/send", "whsec_gw", "app"};
}

push_message message() {
  push_message m;
  m.event_id = "0b8e3c0e-3f4c-4c7e-9d7a-2f1b6a1c5d3e";
  m.user_id = "bob";
  m.token_type = "apns_voip";
  m.token = "a1b2c3d4";
  m.parley_json = parley_incoming;
  m.title = "Alice";
  m.collapse_id = "c1";
  m.expires_at = t0 + 45'000;
  m.created_at = t0 - 250;
  return m;
}

TEST(gateway, build_posts_a_signed_push_send_event) {
  gateway_client client;
  auto r = client.build(credentials(), message(), t0);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->url, "https://push.example/send");
  EXPECT_FALSE(r->require_http2);
  // Exactly these bytes: the app's backend checks the signature over them.
  EXPECT_EQ(r->body, std::string(R"({"event_id":"0b8e3c0e-3f4c-4c7e-9d7a-2f1b6a1c5d3e",)") +
                         R"("event":"push.send","app_id":"app","occurred_at":1699999999750,)" +
                         R"("data":{"user_id":"bob","token_type":"apns_voip","token":"a1b2c3d4",)" +
                         R"("parley":)" + parley_incoming + "}}");
  EXPECT_EQ(header_of(*r, "Content-Type"), "application/json");
  EXPECT_EQ(header_of(*r, "Parley-Event-Id"), "0b8e3c0e-3f4c-4c7e-9d7a-2f1b6a1c5d3e");
  EXPECT_EQ(header_of(*r, "Parley-Event"), "push.send");
  EXPECT_EQ(
      header_of(*r, "Parley-Signature"),
      "t=1700000000,v1=" + crypto::hex(crypto::hmac_sha256("whsec_gw", "1700000000." + r->body)));
}

TEST(gateway, a_parley_object_that_is_not_json_goes_as_null) {
  auto m = message();
  m.parley_json = "{broken";
  auto r = gateway_client{}.build(credentials(), m, t0);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(boost::json::parse(r->body).at("data").at("parley").is_null());
}

TEST(gateway, classify_each_answer) {
  struct row {
    outbound::response r;
    push_outcome outcome;
    std::string reason;
  };
  std::vector<row> rows = {
      {answer(200), push_outcome::delivered, ""},
      {answer(204), push_outcome::delivered, ""},
      {answer(410, "gone"), push_outcome::unregistered, "Gone"},
      {answer(429), push_outcome::retry, "HTTP 429"},
      {answer(500), push_outcome::retry, "HTTP 500"},
      {answer(503, "busy"), push_outcome::retry, "HTTP 503"},
      {answer(0), push_outcome::retry, "could not connect"},
      {answer(400), push_outcome::rejected, "HTTP 400"},
      {answer(404), push_outcome::rejected, "HTTP 404"},
      {answer(302), push_outcome::rejected, "HTTP 302"},
  };
  gateway_client client;
  for (const auto& [r, outcome, reason] : rows) {
    auto c = client.classify(r);
    EXPECT_EQ(c.outcome, outcome) << r.status;
    EXPECT_EQ(c.reason, reason) << r.status;
    if (outcome != push_outcome::retry) {
      EXPECT_FALSE(c.retry_after_s.has_value()) << r.status;
    }
  }
}

TEST(gateway, classify_reads_retry_after_on_a_retry_only) {
  gateway_client client;
  auto c = client.classify(answer(503, {}, {{"retry-after", "12"}}));
  EXPECT_EQ(c.outcome, push_outcome::retry);
  EXPECT_EQ(c.retry_after_s, 12);
  EXPECT_FALSE(client.classify(answer(503)).retry_after_s.has_value());
  EXPECT_FALSE(client.classify(answer(410, {}, {{"retry-after", "12"}})).retry_after_s.has_value());
}

}  // namespace
}  // namespace parley::services::push
