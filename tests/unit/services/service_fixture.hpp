#pragma once
// The services as parleyd wires them (app/serve.cpp), on a temporary SQLite store, with fake
// connections in the hub to see what a service closes. One app, "app"; users are added per test.

#include "common/crypto.hpp"
#include "services/app_service.hpp"
#include "services/auth_service.hpp"
#include "services/call_service.hpp"
#include "services/connection_hub.hpp"
#include "services/user_service.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace parley::testing {

// A live connection as the hub sees it; thread-safe, as the transport's is.
struct fake_connection : services::client_connection {
  bool send(std::string text) override {
    std::lock_guard lock(m);
    sent.push_back(std::move(text));
    return true;
  }
  void close(int code, std::string) override {
    std::lock_guard lock(m);
    closes.push_back(code);
  }
  void resume_reading() override {
    std::lock_guard lock(m);
    ++resumed;
  }
  std::string remote_address() const override { return "192.0.2.1"; }

  std::vector<std::string> sent_copy() {
    std::lock_guard lock(m);
    return sent;
  }
  std::vector<int> closes_copy() {
    std::lock_guard lock(m);
    return closes;
  }
  int resumed_count() {
    std::lock_guard lock(m);
    return resumed;
  }

  std::mutex m;
  std::vector<std::string> sent;
  std::vector<int> closes;
  int resumed = 0;
};

// Counts the effects the call service hands over after a commit, by call.
struct recording_notifier : services::call_notifier {
  void deliver(const store::call_record& c, const services::calls::effect&) override {
    std::lock_guard lock(m);
    calls.push_back(c.call_id);
  }
  std::mutex m;
  std::vector<std::string> calls;
};

class service_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley-services-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    st_ = store::open_sqlite_store((dir_ / "p.db").string());
    notifier_ = make_notifier();
    calls_ = std::make_unique<services::call_service>(*st_, *notifier_);
    apps_ = std::make_unique<services::app_service>(*st_, &hub_, outbound::address_policy{},
                                                    calls_.get());
    users_ = std::make_unique<services::user_service>(*st_, hub_, *calls_);
    services::auth_limits lim;
    lim.failures_per_user = 3;
    lim.failures_per_address = 5;
    auth_ =
        std::make_unique<services::auth_service>(*st_, hub_, services::ice_config{}, lim, stats_);
    store::app_record a;
    a.app_id = "app";
    a.name = "app";
    a.signing_secret = "secret";
    ASSERT_TRUE(st_->create_app(a));
  }
  void TearDown() override {
    st_->wait_for_batched_writes();
    auth_.reset();
    users_.reset();
    calls_.reset();
    apps_.reset();
    st_.reset();
    std::filesystem::remove_all(dir_);
  }
  virtual std::unique_ptr<services::call_notifier> make_notifier() {
    return std::make_unique<recording_notifier>();
  }

  // Deletes the user and waits until its calls have ended.
  result<void> remove_user(const std::string& user_id, millis now) {
    std::promise<result<void>> answered;
    auto answer = answered.get_future();
    users_->remove("app", user_id, now,
                   [&answered](result<void> r) { answered.set_value(std::move(r)); });
    return answer.get();
  }

  // Creates the user with an access token; returns the token.
  std::string add_user(const std::string& user_id) {
    auto created = users_->create("app", {.user_id = user_id, .issue_access_token = true}, 1000);
    EXPECT_TRUE(created) << user_id;
    return created ? created->access_token.value_or("") : "";
  }

  // Authenticates as the auth route does (answered after the commit).
  result<services::authenticated> authenticate(const services::credentials& c,
                                               std::optional<std::string> device_id = "dev-1") {
    std::promise<result<services::authenticated>> answered;
    auto answer = answered.get_future();
    auth_->authenticate_async(
        "app", c, device_id, "192.0.2.1", now_,
        [&answered](result<services::authenticated> r) { answered.set_value(std::move(r)); });
    return answer.get();
  }

  // A session of the user (who must exist with `token` as access token): its verified view.
  services::session_view session_of(const std::string& user_id, const std::string& token,
                                    const std::string& device_id = "dev-1") {
    auto a = authenticate({.user_id = user_id, .access_token = token}, device_id);
    EXPECT_TRUE(a) << (a ? "" : a.error().message);
    auto s = auth_->verify(a ? a->session_key : "", now_);
    EXPECT_TRUE(s);
    return s ? *s : services::session_view{};
  }

  // A live connection of this session in the hub, as the WebSocket hello registers it.
  std::shared_ptr<fake_connection> connect(const services::session_view& s,
                                           const std::string& device_id = "dev-1") {
    auto conn = std::make_shared<fake_connection>();
    services::connection_info info;
    info.connection_id = crypto::uuid_v4();
    info.app_id = s.session.app_id;
    info.user_id = s.session.user_id;
    info.session_hash = s.session.key_hash;
    info.source = s.session.source;
    info.device_id = device_id;
    info.expires_at = s.session.expires_at;
    hub_.add(conn, info);
    return conn;
  }

  millis now_ = 10'000;
  std::filesystem::path dir_;
  std::unique_ptr<store::store> st_;
  metrics stats_;
  services::connection_hub hub_;
  std::unique_ptr<services::call_notifier> notifier_;
  std::unique_ptr<services::app_service> apps_;
  std::unique_ptr<services::call_service> calls_;
  std::unique_ptr<services::user_service> users_;
  std::unique_ptr<services::auth_service> auth_;
};

}  // namespace parley::testing
