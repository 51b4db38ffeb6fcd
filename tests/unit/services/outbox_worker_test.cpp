#include "services/outbox_worker.hpp"

#include "../push/test_support.hpp"
#include "api/outbox_events.hpp"
#include "common/crypto.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <deque>
#include <filesystem>

namespace parley::services {
namespace {

using push_test::answer;
using push_test::header_of;

TEST(outbox_worker, signature_is_hmac_of_timestamp_dot_body) {
  auto sig = parley_signature("whsec_x", 1700000000, R"({"a":1})");
  EXPECT_EQ(sig, "t=1700000000,v1=" +
                     crypto::hex(crypto::hmac_sha256("whsec_x", R"(1700000000.{"a":1})")));
  EXPECT_NE(sig, parley_signature("whsec_y", 1700000000, R"({"a":1})"));
  EXPECT_NE(sig, parley_signature("whsec_x", 1700000001, R"({"a":1})"));
}

TEST(outbox_worker, retry_delay_doubles_from_one_second_up_to_five_minutes) {
  EXPECT_EQ(retry_delay_ms(1), 1000);
  EXPECT_EQ(retry_delay_ms(2), 2000);
  EXPECT_EQ(retry_delay_ms(3), 4000);
  EXPECT_EQ(retry_delay_ms(9), 256'000);
  EXPECT_EQ(retry_delay_ms(10), 300'000);
  EXPECT_EQ(retry_delay_ms(1000), 300'000);
}

// ---- The worker against a scripted HTTP client ----------------------------------------------
//
// The worker runs on the test's thread (run_once, never start) with the test's clock, on a real
// SQLite store in a temporary directory, with the real outbox composer (push.failed bodies).

constexpr millis t0 = 1'700'000'000'000;
constexpr const char* parley_incoming =
    R"({"type":"incoming_call","app_id":"app1","call_id":"c1","callee_id":"bob"})";

// Stands in for the curl client: records what the worker sends, and answers each request at
// the next poll with the next scripted answer (200 when the script is used up).
class fake_http final : public outbound::http_transport {
 public:
  std::deque<outbound::response> script;
  // What the OAuth token endpoint answers (perform).
  outbound::response token_answer =
      answer(200, R"({"access_token":"ya29.fake","expires_in":3600})");
  std::vector<outbound::request> sent;  // start()ed, in order
  std::vector<outbound::request> performed;

  void start(outbound::request r) override {
    waiting_.push_back(r.tag);
    sent.push_back(std::move(r));
  }
  std::vector<outbound::response> poll(std::chrono::milliseconds) override {
    std::vector<outbound::response> out;
    for (auto tag : waiting_) {
      auto r = answer(200);
      if (!script.empty()) {
        r = std::move(script.front());
        script.pop_front();
      }
      r.tag = tag;
      out.push_back(std::move(r));
    }
    waiting_.clear();
    return out;
  }
  outbound::response perform(const outbound::request& r) override {
    performed.push_back(r);
    return token_answer;
  }
  void wake() override {}

 private:
  std::vector<std::uint64_t> waiting_;
};

class outbox_worker_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley-outbox-worker-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    st_ = store::open_sqlite_store((dir_ / "p.db").string());

    store::app_record a;
    a.app_id = "app1";
    a.name = "one";
    a.api_token_hash = "h";
    a.signing_secret = "s";
    a.settings.webhook_url = "https://hooks.example/in";
    a.settings.webhook_secret = "whsec_app1";
    a.settings.push.apns =
        store::apns_settings{"KEY123", "TEAM456", "com.example.app", apns_pem(), false};
    a.settings.push.fcm =
        store::fcm_settings{"proj", "push@proj.iam.gserviceaccount.com", "kid-1",
                            push_test::pkcs8_pem(push_test::shared_rsa_key()), ""};
    ASSERT_TRUE(st_->create_app(a));
    store::user_record bob;
    bob.app_id = "app1";
    bob.user_id = "bob";
    ASSERT_TRUE(st_->create_user(bob));
    for (const auto& [type, token] : tokens_)
      ASSERT_TRUE(st_->put_push_token("app1", "bob", {type, token, t0 - 1000}));

    outbox_worker_config config;
    config.apns_url = "https://apns.test";
    config.fcm_url = "https://fcm.test";
    config.fcm_oauth_url = "https://oauth.test/token";
    worker_ = std::make_unique<outbox_worker>(*st_, composer_, metrics_, config, http_,
                                              [this] { return now_; });
  }
  void TearDown() override {
    worker_.reset();
    st_.reset();
    std::filesystem::remove_all(dir_);
  }

  static std::string apns_pem() {
    static const std::string pem = push_test::pkcs8_pem(push_test::make_ec_key().get());
    return pem;
  }

  void change_settings(const std::function<void(store::app_settings&)>& edit) {
    auto app = st_->find_app("app1");
    ASSERT_TRUE(app);
    edit(app->settings);
    ASSERT_TRUE(st_->set_settings("app1", app->settings));
  }

  // An incoming-call push to bob's token, queued now (as api/outbox_events would).
  std::string queue_push(const std::string& type, const std::string& token, millis give_up_at,
                         const char* event = push_incoming_event) {
    store::outbox_entry e;
    e.event_id = crypto::uuid_v4();
    e.app_id = "app1";
    e.kind = store::outbox_kind::push;
    e.order_key = "c1\n" + type + "\n" + token;
    e.event = event;
    e.payload = push::encode_push_job({"bob", "c1", type, token, false, "Alice", parley_incoming});
    e.created_at = now_;
    e.next_attempt_at = now_;
    e.give_up_at = give_up_at;
    queue(e);
    return e.event_id;
  }
  std::string queue_webhook(millis give_up_at) {
    store::outbox_entry e;
    e.event_id = crypto::uuid_v4();
    e.app_id = "app1";
    e.kind = store::outbox_kind::webhook;
    e.order_key = e.event_id;
    e.event = "user.deleted";
    e.payload = R"({"event":"user.deleted"})";
    e.created_at = now_;
    e.next_attempt_at = now_;
    e.give_up_at = give_up_at;
    queue(e);
    return e.event_id;
  }
  // The store queues entries only with a change: a throwaway user's deletion carries them.
  void queue(const store::outbox_entry& e) {
    store::user_record u;
    u.app_id = "app1";
    u.user_id = "scratch-" + e.event_id;
    ASSERT_TRUE(st_->create_user(u));
    ASSERT_TRUE(st_->delete_user("app1", u.user_id, std::vector<store::outbox_entry>{e}));
  }

  store::outbox_entry entry(const std::string& id) {
    auto e = st_->find_outbox("app1", id);
    EXPECT_TRUE(e) << id;
    return e ? *e : store::outbox_entry{};
  }
  std::vector<std::string> tokens() {
    std::vector<std::string> out;
    auto list = st_->list_push_tokens("app1", "bob");
    EXPECT_TRUE(list);
    if (list)
      for (const auto& t : *list) out.push_back(t.type + "/" + t.token);
    std::sort(out.begin(), out.end());
    return out;
  }
  // The data of every push.failed webhook queued so far.
  std::vector<boost::json::value> push_failed() {
    std::vector<boost::json::value> out;
    auto list = st_->list_outbox("app1", store::outbox_kind::webhook, std::nullopt, 0, 100);
    EXPECT_TRUE(list);
    if (list)
      for (const auto& e : *list)
        if (e.event == "push.failed") out.push_back(boost::json::parse(e.payload).at("data"));
    return out;
  }
  static boost::json::value failed_data(const std::string& type, const std::string& token,
                                        const char* reason) {
    return {{"call_id", "c1"},
            {"user_id", "bob"},
            {"token_type", type},
            {"token", token},
            {"reason", reason}};
  }
  // The requests sent so far whose URL starts with `prefix`.
  std::size_t sent_to(const std::string& prefix) const {
    return static_cast<std::size_t>(
        std::count_if(http_.sent.begin(), http_.sent.end(),
                      [&](const outbound::request& r) { return r.url.rfind(prefix, 0) == 0; }));
  }
  std::uint64_t pushes(const char* provider, const char* outcome) const {
    return metrics_.push_deliveries_total.value({provider, outcome});
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::store> st_;
  api::outbox_events composer_{3600'000};
  metrics metrics_;
  fake_http http_;
  millis now_ = t0;
  std::unique_ptr<outbox_worker> worker_;
  const std::vector<std::pair<std::string, std::string>> tokens_ = {
      {"apns_voip", "voip-1"}, {"apns", "alert-1"}, {"fcm", "fcm-1"}};
};

TEST_F(outbox_worker_test, a_delivered_push_is_recorded_once_with_its_status) {
  auto id = queue_push("apns_voip", "voip-1", t0 + 45'000);
  worker_->run_once();
  ASSERT_EQ(http_.sent.size(), 1u);
  EXPECT_EQ(http_.sent[0].url, "https://apns.test/3/device/voip-1");
  EXPECT_EQ(header_of(http_.sent[0], "apns-topic"), "com.example.app.voip");
  EXPECT_EQ(header_of(http_.sent[0], "apns-id"), id);
  auto e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::delivered);
  EXPECT_EQ(e.attempts, 1);
  EXPECT_EQ(e.last_status, 200);
  EXPECT_FALSE(e.last_error.has_value());
  EXPECT_EQ(pushes("apns", "delivered"), 1u);
  EXPECT_TRUE(push_failed().empty());

  // Delivered entries are not taken again.
  now_ += 60'000;
  worker_->run_once();
  EXPECT_EQ(sent_to("https://apns.test/"), 1u);
}

TEST_F(outbox_worker_test, a_5xx_is_retried_after_one_second_then_after_two) {
  http_.script = {answer(503), answer(500, R"({"reason":"InternalServerError"})")};
  auto id = queue_push("apns_voip", "voip-1", t0 + 45'000);
  worker_->run_once();
  auto e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::pending);
  EXPECT_EQ(e.attempts, 1);
  EXPECT_EQ(e.last_status, 503);
  EXPECT_EQ(e.last_error, "HTTP 503");
  EXPECT_EQ(e.next_attempt_at, t0 + 1000);

  // Not before it is due.
  now_ = t0 + 999;
  worker_->run_once();
  EXPECT_EQ(http_.sent.size(), 1u);
  now_ = t0 + 1000;
  worker_->run_once();
  ASSERT_EQ(http_.sent.size(), 2u);
  e = entry(id);
  EXPECT_EQ(e.attempts, 2);
  EXPECT_EQ(e.last_status, 500);
  EXPECT_EQ(e.last_error, "InternalServerError");
  EXPECT_EQ(e.next_attempt_at, t0 + 1000 + 2000);

  now_ = t0 + 3000;
  worker_->run_once();
  ASSERT_EQ(http_.sent.size(), 3u);
  e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::delivered);
  EXPECT_EQ(e.attempts, 3);
  EXPECT_EQ(pushes("apns", "retried"), 2u);
  EXPECT_EQ(pushes("apns", "delivered"), 1u);
  EXPECT_TRUE(push_failed().empty());
}

TEST_F(outbox_worker_test, no_answer_is_retried_like_a_5xx) {
  http_.script = {answer(0)};
  auto id = queue_push("fcm", "fcm-1", t0 + 45'000);
  worker_->run_once();
  auto e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::pending);
  EXPECT_EQ(e.attempts, 1);
  EXPECT_FALSE(e.last_status.has_value());
  EXPECT_EQ(e.last_error, "could not connect");
  EXPECT_EQ(e.next_attempt_at, t0 + 1000);
  EXPECT_EQ(pushes("fcm", "retried"), 1u);
}

TEST_F(outbox_worker_test, a_retry_after_longer_than_the_backoff_is_honoured) {
  http_.script = {answer(429, R"({"reason":"TooManyRequests"})", {{"retry-after", "30"}}),
                  answer(503, {}, {{"retry-after", "0"}})};
  auto id = queue_push("apns_voip", "voip-1", t0 + 45'000);
  worker_->run_once();
  EXPECT_EQ(entry(id).next_attempt_at, t0 + 30'000);
  now_ = t0 + 29'999;
  worker_->run_once();
  EXPECT_EQ(http_.sent.size(), 1u);

  // A shorter one does not cut the backoff (2 s after the second failure).
  now_ = t0 + 30'000;
  worker_->run_once();
  ASSERT_EQ(http_.sent.size(), 2u);
  EXPECT_EQ(entry(id).next_attempt_at, t0 + 30'000 + 2000);
}

TEST_F(outbox_worker_test, the_push_gateway_retry_after_is_honoured_too) {
  change_settings([](store::app_settings& s) {
    s.push.apns.reset();
    s.push.webhook_url = "https://gateway.example/push";
  });
  http_.script = {answer(503, {}, {{"retry-after", "20"}})};
  auto id = queue_push("apns", "alert-1", t0 + 45'000);
  worker_->run_once();
  auto e = entry(id);
  EXPECT_EQ(e.next_attempt_at, t0 + 20'000);
  EXPECT_EQ(e.last_error, "HTTP 503");
  EXPECT_EQ(pushes("webhook", "retried"), 1u);
}

TEST_F(outbox_worker_test, a_retry_that_would_come_after_the_deadline_gives_up_as_expired) {
  // Retried at +1 s; the next try would be at +3 s, past the deadline at +2.5 s: given up then.
  http_.script = {answer(503), answer(503)};
  auto id = queue_push("apns_voip", "voip-1", t0 + 2500);
  worker_->run_once();
  EXPECT_EQ(entry(id).state, store::delivery_state::pending);
  now_ = t0 + 1000;
  worker_->run_once();
  ASSERT_EQ(http_.sent.size(), 2u);
  auto e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::failed);
  EXPECT_EQ(e.attempts, 2);  // two sends, each counted once
  EXPECT_EQ(e.last_status, 503);
  EXPECT_EQ(e.last_error, "expired: HTTP 503");
  EXPECT_EQ(e.next_attempt_at, t0 + 1000);
  EXPECT_EQ(pushes("apns", "retried"), 1u);
  EXPECT_EQ(pushes("apns", "expired"), 1u);
  // The app hears of it; an expired push is no reason to delete the token.
  EXPECT_EQ(push_failed(), (std::vector{failed_data("apns_voip", "voip-1", "expired")}));
  EXPECT_EQ(tokens().size(), 3u);

  // Not tried again (the push.failed webhook is the only thing sent later).
  now_ = t0 + 60'000;
  worker_->run_once();
  EXPECT_EQ(sent_to("https://apns.test/"), 2u);
  EXPECT_EQ(sent_to("https://hooks.example/"), 1u);
}

TEST_F(outbox_worker_test, a_push_already_past_its_deadline_is_not_sent) {
  auto id = queue_push("fcm", "fcm-1", t0 + 45'000);
  now_ = t0 + 45'000;
  worker_->run_once();
  EXPECT_TRUE(http_.sent.empty());
  EXPECT_TRUE(http_.performed.empty());
  auto e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::failed);
  EXPECT_EQ(e.attempts, 1);
  EXPECT_EQ(e.last_error, "expired: expired");
  EXPECT_EQ(pushes("fcm", "expired"), 1u);
  EXPECT_EQ(push_failed(), (std::vector{failed_data("fcm", "fcm-1", "expired")}));
}

TEST_F(outbox_worker_test, apns_410_deletes_the_token_and_reports_unregistered) {
  http_.script = {answer(410, R"({"reason":"Unregistered","timestamp":1})")};
  auto id = queue_push("apns_voip", "voip-1", t0 + 45'000);
  worker_->run_once();
  auto e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::failed);
  EXPECT_EQ(e.last_status, 410);
  EXPECT_EQ(e.last_error, "unregistered: Unregistered");
  EXPECT_EQ(tokens(), (std::vector<std::string>{"apns/alert-1", "fcm/fcm-1"}));
  EXPECT_EQ(push_failed(), (std::vector{failed_data("apns_voip", "voip-1", "unregistered")}));
  EXPECT_EQ(pushes("apns", "unregistered"), 1u);
}

TEST_F(outbox_worker_test, fcm_unregistered_deletes_the_token_and_reports_unregistered) {
  http_.script = {answer(
      404,
      R"({"error":{"code":404,"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}})")};
  auto id = queue_push("fcm", "fcm-1", t0 + 45'000);
  worker_->run_once();
  // The access token was bought from the token endpoint, through the same client.
  ASSERT_EQ(http_.performed.size(), 1u);
  EXPECT_EQ(http_.performed[0].url, "https://oauth.test/token");
  ASSERT_EQ(http_.sent.size(), 1u);
  EXPECT_EQ(http_.sent[0].url, "https://fcm.test/v1/projects/proj/messages:send");
  EXPECT_EQ(header_of(http_.sent[0], "authorization"), "Bearer ya29.fake");

  EXPECT_EQ(entry(id).state, store::delivery_state::failed);
  EXPECT_EQ(entry(id).last_error, "unregistered: UNREGISTERED");
  EXPECT_EQ(tokens(), (std::vector<std::string>{"apns/alert-1", "apns_voip/voip-1"}));
  EXPECT_EQ(push_failed(), (std::vector{failed_data("fcm", "fcm-1", "unregistered")}));
  EXPECT_EQ(pushes("fcm", "unregistered"), 1u);
}

TEST_F(outbox_worker_test, the_push_gateway_gets_a_signed_push_send_and_its_410_deletes_the_token) {
  change_settings([](store::app_settings& s) {
    s.push.apns.reset();
    s.push.fcm.reset();
    s.push.webhook_url = "https://gateway.example/push";
  });
  http_.script = {answer(200), answer(410)};
  auto delivered_id = queue_push("fcm", "fcm-1", t0 + 45'000);
  auto gone_id = queue_push("apns", "alert-1", t0 + 45'000);
  worker_->run_once();
  ASSERT_EQ(http_.sent.size(), 2u);
  const auto& r = http_.sent[0];
  EXPECT_EQ(r.url, "https://gateway.example/push");
  EXPECT_EQ(header_of(r, "Parley-Event"), "push.send");
  EXPECT_EQ(header_of(r, "Parley-Event-Id"), delivered_id);
  EXPECT_EQ(header_of(r, "Parley-Signature"), parley_signature("whsec_app1", t0 / 1000, r.body));
  EXPECT_EQ(boost::json::parse(r.body),
            (boost::json::value{{"event_id", delivered_id},
                                {"event", "push.send"},
                                {"app_id", "app1"},
                                {"occurred_at", t0},
                                {"data",
                                 {{"user_id", "bob"},
                                  {"token_type", "fcm"},
                                  {"token", "fcm-1"},
                                  {"parley", boost::json::parse(parley_incoming)}}}}));

  EXPECT_EQ(entry(delivered_id).state, store::delivery_state::delivered);
  EXPECT_EQ(entry(gone_id).state, store::delivery_state::failed);
  EXPECT_EQ(entry(gone_id).last_error, "unregistered: Gone");
  EXPECT_EQ(tokens(), (std::vector<std::string>{"apns_voip/voip-1", "fcm/fcm-1"}));
  EXPECT_EQ(push_failed(), (std::vector{failed_data("apns", "alert-1", "unregistered")}));
  EXPECT_EQ(pushes("webhook", "delivered"), 1u);
  EXPECT_EQ(pushes("webhook", "unregistered"), 1u);
}

TEST_F(outbox_worker_test, a_refused_push_fails_at_once_and_keeps_the_token) {
  http_.script = {answer(400, R"({"reason":"BadTopic"})")};
  auto id = queue_push("apns", "alert-1", t0 + 45'000);
  worker_->run_once();
  auto e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::failed);
  EXPECT_EQ(e.attempts, 1);
  EXPECT_EQ(e.last_error, "rejected: BadTopic");
  EXPECT_EQ(tokens().size(), 3u);
  EXPECT_EQ(push_failed(), (std::vector{failed_data("apns", "alert-1", "rejected")}));
  EXPECT_EQ(pushes("apns", "rejected"), 1u);
}

TEST_F(outbox_worker_test, a_refused_provider_token_is_renewed_and_the_push_retried) {
  http_.script = {answer(403, R"({"reason":"ExpiredProviderToken"})")};
  auto id = queue_push("apns_voip", "voip-1", t0 + 45'000);
  worker_->run_once();
  auto e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::pending);
  EXPECT_EQ(e.last_error, "ExpiredProviderToken");
  EXPECT_EQ(e.next_attempt_at, t0 + 1000);
  now_ = t0 + 1000;
  worker_->run_once();
  ASSERT_EQ(http_.sent.size(), 2u);
  // Without the renewal the cached JWT (50 minutes) would be sent again.
  EXPECT_NE(header_of(http_.sent[1], "authorization"), header_of(http_.sent[0], "authorization"));
  EXPECT_EQ(entry(id).state, store::delivery_state::delivered);
}

TEST_F(outbox_worker_test, an_unreachable_fcm_token_endpoint_is_retried_without_sending) {
  http_.token_answer = answer(503, "down");
  auto id = queue_push("fcm", "fcm-1", t0 + 45'000);
  worker_->run_once();
  EXPECT_TRUE(http_.sent.empty());
  auto e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::pending);
  EXPECT_EQ(e.next_attempt_at, t0 + 1000);
  ASSERT_TRUE(e.last_error.has_value());
  EXPECT_EQ(e.last_error->rfind("oauth: ", 0), 0u) << *e.last_error;

  http_.token_answer = answer(200, R"({"access_token":"ya29.later","expires_in":3600})");
  now_ = t0 + 1000;
  worker_->run_once();
  ASSERT_EQ(http_.sent.size(), 1u);
  EXPECT_EQ(header_of(http_.sent[0], "authorization"), "Bearer ya29.later");
  EXPECT_EQ(entry(id).state, store::delivery_state::delivered);
}

TEST_F(outbox_worker_test, a_token_type_without_a_provider_is_not_configured) {
  change_settings([](store::app_settings& s) { s.push.fcm.reset(); });
  auto id = queue_push("fcm", "fcm-1", t0 + 45'000);
  worker_->run_once();
  EXPECT_TRUE(http_.sent.empty());
  EXPECT_EQ(entry(id).state, store::delivery_state::failed);
  EXPECT_EQ(entry(id).last_error, "not_configured");
  EXPECT_EQ(push_failed(), (std::vector{failed_data("fcm", "fcm-1", "not_configured")}));
  EXPECT_EQ(tokens().size(), 3u);
  EXPECT_EQ(pushes("none", "not_configured"), 1u);
}

TEST_F(outbox_worker_test, a_webhook_is_signed_and_retried_until_its_give_up_time_then_failed) {
  http_.script = {answer(500), answer(0)};
  auto id = queue_webhook(t0 + 2500);
  worker_->run_once();
  ASSERT_EQ(http_.sent.size(), 1u);
  const auto& r = http_.sent[0];
  EXPECT_EQ(r.url, "https://hooks.example/in");
  EXPECT_EQ(r.body, R"({"event":"user.deleted"})");
  EXPECT_EQ(header_of(r, "Parley-Event"), "user.deleted");
  EXPECT_EQ(header_of(r, "Parley-Event-Id"), id);
  EXPECT_EQ(header_of(r, "Parley-Signature"), parley_signature("whsec_app1", t0 / 1000, r.body));
  auto e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::pending);
  EXPECT_EQ(e.last_error, "HTTP 500");
  EXPECT_EQ(e.next_attempt_at, t0 + 1000);

  now_ = t0 + 1000;
  worker_->run_once();
  e = entry(id);
  EXPECT_EQ(e.state, store::delivery_state::failed);
  EXPECT_EQ(e.attempts, 2);
  EXPECT_FALSE(e.last_status.has_value());
  EXPECT_EQ(e.last_error, "could not connect");
  EXPECT_EQ(metrics_.webhook_deliveries_total.value({"retried"}), 1u);
  EXPECT_EQ(metrics_.webhook_deliveries_total.value({"failed"}), 1u);
  EXPECT_TRUE(push_failed().empty());
}

}  // namespace
}  // namespace parley::services
