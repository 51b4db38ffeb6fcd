// The app service on a real SQLite store: the bounds of the numeric settings, the URL policy
// and the push key checks hold for any caller, name the field, and a refused patch saves
// nothing; the webhook delivery list pages like the others; deleting an app closes its
// connections.
#include "services/app_service.hpp"

#include "../push/test_support.hpp"
#include "service_fixture.hpp"
#include "waiting_calls.hpp"

#include <string>

namespace parley::services {
namespace {

class app_service_test : public testing::service_fixture {
 protected:
  store::app_record app() { return *st_->find_app("app"); }
  store::app_settings saved() { return app().settings; }

  // `n` pending webhook deliveries, queued as a user deletion queues its webhook.
  void queue_deliveries(int n) {
    std::vector<store::outbox_entry> entries;
    for (int i = 0; i < n; ++i) {
      store::outbox_entry e;
      e.event_id = crypto::uuid_v4();
      e.app_id = "app";
      e.kind = store::outbox_kind::webhook;
      e.order_key = "k" + std::to_string(i);
      e.event = "user.deleted";
      e.payload = "{}";
      e.created_at = e.next_attempt_at = now_;
      e.give_up_at = now_ + 1000;
      entries.push_back(e);
    }
    add_user("ghost");
    ASSERT_TRUE(st_->delete_user("app", "ghost", entries));
  }
};

struct bound_case {
  std::optional<std::int64_t> settings_patch::*field;
  const char* name;
  std::int64_t lo, hi;
  int store::app_settings::*slot;
};

const bound_case bounds[] = {
    {&settings_patch::ringing_timeout_s, "ringing_timeout_s", 10, 180,
     &store::app_settings::ringing_timeout_s},
    {&settings_patch::connection_timeout_s, "connection_timeout_s", 5, 120,
     &store::app_settings::connection_timeout_s},
    {&settings_patch::reconnect_grace_s, "reconnect_grace_s", 0, 120,
     &store::app_settings::reconnect_grace_s},
    {&settings_patch::max_ringing_per_caller, "max_ringing_per_caller", 1, 1000,
     &store::app_settings::max_ringing_per_caller},
    {&settings_patch::max_ringing_per_callee, "max_ringing_per_callee", 1, 1000,
     &store::app_settings::max_ringing_per_callee},
};

TEST_F(app_service_test, each_numeric_setting_is_refused_outside_its_bounds) {
  for (const auto& b : bounds) {
    for (auto v : {b.lo - 1, b.hi + 1, std::int64_t{1} << 40}) {
      settings_patch p;
      p.*b.field = v;
      auto r = apps_->update_settings(app(), p, now_);
      ASSERT_FALSE(r) << b.name << " " << v;
      EXPECT_EQ(r.error().code, errc::invalid_request);
      EXPECT_EQ(r.error().field, b.name);
      EXPECT_EQ(r.error().message, std::string(b.name) + " must be " + std::to_string(b.lo) +
                                       " to " + std::to_string(b.hi));
    }
  }
}

TEST_F(app_service_test, each_numeric_setting_is_saved_at_both_of_its_bounds) {
  for (const auto& b : bounds) {
    for (auto v : {b.lo, b.hi}) {
      settings_patch p;
      p.*b.field = v;
      auto r = apps_->update_settings(app(), p, now_);
      ASSERT_TRUE(r) << b.name << " " << v;
      EXPECT_EQ((*r).*b.slot, v);
      EXPECT_EQ(saved().*b.slot, v) << b.name;
    }
  }
}

TEST_F(app_service_test, a_refused_patch_saves_none_of_its_fields) {
  settings_patch p;
  p.connection_timeout_s = 30;
  p.webhook_url.emplace("https://example.com/hook");
  p.max_ringing_per_callee = 0;
  ASSERT_FALSE(apps_->update_settings(app(), p, now_));
  auto s = saved();
  EXPECT_EQ(s.connection_timeout_s, store::app_settings{}.connection_timeout_s);
  EXPECT_FALSE(s.webhook_url);
}

TEST_F(app_service_test, absent_fields_stay_and_null_ones_are_cleared) {
  settings_patch set;
  set.ringing_timeout_s = 30;
  set.webhook_url.emplace("https://example.com/hook");
  set.push_webhook_url.emplace("https://example.com/push");
  ASSERT_TRUE(apps_->update_settings(app(), set, now_));

  settings_patch clear;
  clear.webhook_url.emplace();  // null
  auto r = apps_->update_settings(app(), clear, now_);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->webhook_url);
  EXPECT_EQ(r->push.webhook_url, "https://example.com/push");
  EXPECT_EQ(r->ringing_timeout_s, 30);
  EXPECT_EQ(saved().ringing_timeout_s, 30);
  EXPECT_FALSE(saved().webhook_url);
}

// ---- URLs and push keys -------------------------------------------------------------------------

store::apns_settings apns_with_key(std::string pem) {
  return {"K1", "T1", "com.example.app", std::move(pem), false};
}

fcm_account fcm_with_key(std::string pem) {
  return {"proj", "sa@proj.iam.gserviceaccount.com", "kid", std::move(pem), std::nullopt};
}

std::string ec_p256_pem() {
  static const std::string pem = push_test::pkcs8_pem(push_test::make_ec_key().get());
  return pem;
}

std::string rsa_pem() {
  return push_test::pkcs8_pem(push_test::shared_rsa_key());
}

struct refusal {
  std::string field;
  std::string message;
};

TEST_F(app_service_test, a_url_that_is_not_http_or_names_a_private_address_is_refused_by_field) {
  std::vector<std::pair<settings_patch, refusal>> cases;
  auto add = [&](auto set, refusal want) {
    settings_patch p;
    set(p);
    cases.emplace_back(std::move(p), std::move(want));
  };
  add([](settings_patch& p) { p.webhook_url.emplace("ftp://example.com/hook"); },
      {"webhook_url", "webhook_url must be an http or https URL"});
  add([](settings_patch& p) { p.webhook_url.emplace("http://127.0.0.1:8080/hook"); },
      {"webhook_url", "webhook_url must name a public address (127.0.0.1 is loopback)"});
  add([](settings_patch& p) { p.webhook_url.emplace("https://user:pw@example.com/hook"); },
      {"webhook_url", "webhook_url must not carry a user name or password"});
  add([](settings_patch& p) { p.push_webhook_url.emplace("http://localhost/push"); },
      {"push.webhook.url", "url must not name the local host"});
  add([](settings_patch& p) { p.push_webhook_url.emplace("http://169.254.169.254/"); },
      {"push.webhook.url", "url must name a public address (169.254.169.254 is link-local)"});
  add(
      [](settings_patch& p) {
        auto f = fcm_with_key(rsa_pem());
        f.token_uri = "";
        p.push_fcm.emplace(f);
      },
      {"push.fcm.service_account.token_uri", "token_uri must be an http or https URL"});
  add(
      [](settings_patch& p) {
        auto f = fcm_with_key(rsa_pem());
        f.token_uri = "http://10.0.0.1/token";
        p.push_fcm.emplace(f);
      },
      {"push.fcm.service_account.token_uri",
       "token_uri must name a public address (10.0.0.1 is private)"});
  for (const auto& [patch, want] : cases) {
    auto r = apps_->update_settings(app(), patch, now_);
    ASSERT_FALSE(r) << want.message;
    EXPECT_EQ(r.error().code, errc::invalid_request);
    EXPECT_EQ(r.error().field, want.field);
    EXPECT_EQ(r.error().message, want.message);
  }
  auto s = saved();
  EXPECT_FALSE(s.webhook_url);
  EXPECT_FALSE(s.push.webhook_url);
  EXPECT_FALSE(s.push.fcm);
}

TEST_F(app_service_test, private_urls_are_saved_when_the_policy_allows_them) {
  app_service allowing(*st_, &hub_, {.allow_private = true});
  settings_patch p;
  p.webhook_url.emplace("http://127.0.0.1:8080/hook");
  p.push_webhook_url.emplace("http://10.0.0.1/push");
  auto r = allowing.update_settings(app(), p, now_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(saved().webhook_url, "http://127.0.0.1:8080/hook");
  EXPECT_EQ(saved().push.webhook_url, "http://10.0.0.1/push");
  // Link-local (cloud metadata) stays refused even then.
  settings_patch meta;
  meta.webhook_url.emplace("http://169.254.169.254/latest");
  auto refused = allowing.update_settings(app(), meta, now_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "webhook_url");
}

TEST_F(app_service_test, a_push_key_of_the_wrong_kind_is_refused_by_field) {
  const std::string apns_field = "push.apns.private_key";
  const std::string fcm_field = "push.fcm.service_account.private_key";
  const std::string p384 = push_test::pkcs8_pem(push_test::make_ec_key("P-384").get());
  std::vector<std::pair<settings_patch, std::string>> cases;
  for (const auto& bad : {std::string("not a key"), rsa_pem(), p384}) {
    settings_patch p;
    p.push_apns.emplace(apns_with_key(bad));
    cases.emplace_back(std::move(p), apns_field);
  }
  for (const auto& bad : {std::string("not a key"), ec_p256_pem()}) {
    settings_patch p;
    p.push_fcm.emplace(fcm_with_key(bad));
    cases.emplace_back(std::move(p), fcm_field);
  }
  for (const auto& [patch, field] : cases) {
    auto r = apps_->update_settings(app(), patch, now_);
    ASSERT_FALSE(r) << field;
    EXPECT_EQ(r.error().code, errc::invalid_request);
    EXPECT_EQ(r.error().field, field);
  }
  settings_patch rsa_for_apns;
  rsa_for_apns.push_apns.emplace(apns_with_key(rsa_pem()));
  auto apns = apps_->update_settings(app(), rsa_for_apns, now_);
  ASSERT_FALSE(apns);
  EXPECT_EQ(apns.error().message, "not an EC P-256 private key");
  settings_patch ec_for_fcm;
  ec_for_fcm.push_fcm.emplace(fcm_with_key(ec_p256_pem()));
  auto fcm = apps_->update_settings(app(), ec_for_fcm, now_);
  ASSERT_FALSE(fcm);
  EXPECT_EQ(fcm.error().message, "not an RSA private key");
  EXPECT_FALSE(saved().push.apns);
  EXPECT_FALSE(saved().push.fcm);
}

TEST_F(app_service_test, good_push_keys_are_saved_and_an_absent_token_uri_is_googles) {
  settings_patch p;
  p.push_apns.emplace(apns_with_key(ec_p256_pem()));
  p.push_fcm.emplace(fcm_with_key(rsa_pem()));
  ASSERT_TRUE(apps_->update_settings(app(), p, now_));
  auto s = saved();
  ASSERT_TRUE(s.push.apns);
  EXPECT_EQ(s.push.apns->private_key, ec_p256_pem());
  ASSERT_TRUE(s.push.fcm);
  EXPECT_EQ(s.push.fcm->private_key, rsa_pem());
  EXPECT_EQ(s.push.fcm->token_uri, "");

  settings_patch with_uri;
  auto f = fcm_with_key(rsa_pem());
  f.token_uri = "https://oauth.example.com/token";
  with_uri.push_fcm.emplace(f);
  ASSERT_TRUE(apps_->update_settings(app(), with_uri, now_));
  EXPECT_EQ(saved().push.fcm->token_uri, "https://oauth.example.com/token");
  EXPECT_TRUE(saved().push.apns) << "a provider the patch leaves out stays";
}

TEST_F(app_service_test, urls_and_keys_are_checked_before_the_numbers_and_in_request_order) {
  // The order the API layer used to check them in while reading the body: webhook_url, then
  // push.apns, push.fcm, push.webhook; the numbers' bounds last.
  settings_patch p;
  p.ringing_timeout_s = 1;
  p.push_webhook_url.emplace("http://127.0.0.1/push");
  p.push_fcm.emplace(fcm_with_key("nope"));
  p.push_apns.emplace(apns_with_key("nope"));
  p.webhook_url.emplace("ftp://example.com/hook");
  const char* order[] = {"webhook_url", "push.apns.private_key",
                         "push.fcm.service_account.private_key", "push.webhook.url",
                         "ringing_timeout_s"};
  for (const char* field : order) {
    auto r = apps_->update_settings(app(), p, now_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, field);
    // Fix this field; the next one is named.
    std::string f = field;
    if (f == "webhook_url") p.webhook_url.emplace("https://example.com/hook");
    if (f == "push.apns.private_key") p.push_apns.emplace(apns_with_key(ec_p256_pem()));
    if (f == "push.fcm.service_account.private_key") p.push_fcm.emplace(fcm_with_key(rsa_pem()));
    if (f == "push.webhook.url") p.push_webhook_url.emplace("https://example.com/push");
    if (f == "ringing_timeout_s") p.ringing_timeout_s = 30;
  }
  EXPECT_TRUE(apps_->update_settings(app(), p, now_));
}

TEST_F(app_service_test, deleting_the_app_forgets_its_open_calls) {
  add_user("alice");
  add_user("bob");
  testing::waiting_calls calls(*calls_);
  auto call = calls.dial({"app", "alice", "conn-a", "dev-a"}, {"bob", false, {}}, 1000);
  ASSERT_TRUE(call);
  ASSERT_TRUE(calls.find("app", call->call_id));
  ASSERT_TRUE(apps_->remove("app"));
  // The row went with the app; the call service must not answer from memory.
  auto found = calls.find("app", call->call_id);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, errc::not_found);
}

TEST_F(app_service_test, deliveries_page_like_the_other_lists) {
  auto empty = apps_->list_deliveries("app", "", 20, "");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->deliveries.empty());
  EXPECT_FALSE(empty->next);

  queue_deliveries(4);
  auto exact = apps_->list_deliveries("app", "pending", 4, "");
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->deliveries.size(), 4u);
  EXPECT_FALSE(exact->next);

  std::vector<std::string> seen;
  std::string cursor;
  for (;;) {
    auto page = apps_->list_deliveries("app", "", 3, cursor);
    ASSERT_TRUE(page);
    for (auto& d : page->deliveries) seen.push_back(d.event_id);
    if (!page->next) break;
    cursor = *page->next;
  }
  ASSERT_EQ(seen.size(), 4u);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], exact->deliveries[i].event_id);

  auto past = apps_->list_deliveries("app", "", 20, crypto::base64url("999999"));
  ASSERT_TRUE(past);
  EXPECT_TRUE(past->deliveries.empty());
  EXPECT_FALSE(past->next);
}

TEST_F(app_service_test, a_delivery_cursor_it_did_not_issue_a_bad_state_or_limit_is_refused) {
  for (std::string bad : {std::string("!!!"), crypto::base64url("-1"), crypto::base64url("12x"),
                          crypto::base64url("x")}) {
    auto r = apps_->list_deliveries("app", "", 20, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, errc::invalid_request);
    EXPECT_EQ(r.error().field, "next");
  }
  EXPECT_EQ(apps_->list_deliveries("app", "lost", 20, "").error().field, "state");
  EXPECT_EQ(apps_->list_deliveries("app", "", 0, "").error().field, "limit");
  EXPECT_EQ(apps_->list_deliveries("app", "", 101, "").error().field, "limit");
}

TEST_F(app_service_test, deleting_the_app_closes_its_connections) {
  auto conn = connect(session_of("alice", add_user("alice")));
  ASSERT_TRUE(apps_->remove("app"));
  EXPECT_EQ(conn->closes_copy(), std::vector<int>{close_code::session_invalid});
}

}  // namespace
}  // namespace parley::services
