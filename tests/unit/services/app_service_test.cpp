// The app service on a real SQLite store: the bounds of the numeric settings hold for any
// caller and a refused patch saves nothing; the webhook delivery list pages like the others;
// deleting an app closes its connections.
#include "services/app_service.hpp"

#include "service_fixture.hpp"

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
