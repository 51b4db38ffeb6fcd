#pragma once
// The fixture of the store's contract tests (store_contract_test.cpp), run against every store
// implementation: an implementation's test file instantiates store_test and outbox_store_test
// with a store_factory that opens it.

#include "store/store.hpp"
#include "store_waits.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace parley::store {

// What the contract tests set beyond store.hpp: the bounds an operator configures.
struct store_options {
  // Session ids prune_sessions looks at per call.
  std::int64_t prune_slice = 1000;
  // Live sessions a user may hold (0: no limit).
  int max_sessions_per_user = 100;
};

struct store_factory {
  std::string name;  // the instantiation's name in the test names
  // Opens the store whose data is kept in `dir`: empty for an empty directory, the same data when
  // opened again on the same directory, and shared by two stores open on it at once (as by the
  // server and the operator's CLI).
  std::function<std::unique_ptr<store>(const std::filesystem::path& dir, const store_options&)>
      open;
};

inline void PrintTo(const store_factory& f, std::ostream* os) {
  *os << f.name;
}

inline std::string factory_name(const ::testing::TestParamInfo<store_factory>& info) {
  return info.param.name;
}

class store_test : public ::testing::TestWithParam<store_factory> {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(test.begin(), test.end(), '/', '-');
    dir_ = std::filesystem::temp_directory_path() /
           ("parley-store-" + std::to_string(::getpid()) + "-" + test);
    open_empty_with_apps({});
  }
  void TearDown() override {
    st_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Another store on this test's data.
  std::unique_ptr<store> open_store(const store_options& options = {}) {
    return GetParam().open(dir_, options);
  }
  // A store on empty data, with the apps app1 and app2.
  void open_empty_with_apps(const store_options& options) {
    st_.reset();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    st_ = open_store(options);
    add_apps();
  }
  void add_apps() {
    app_record a;
    a.app_id = "app1";
    a.name = "one";
    a.api_token_hash = "h";
    a.signing_secret = "s";
    ASSERT_TRUE(st_->create_app(a));
    a.app_id = "app2";
    ASSERT_TRUE(st_->create_app(a));
  }

  user_record user(const std::string& app, const std::string& id) {
    user_record u;
    u.app_id = app;
    u.user_id = id;
    u.metadata = {{"k", "v"}};
    u.created_at = 1;
    return u;
  }
  session_record session(const std::string& hash, const std::string& app, const std::string& uid,
                         session_source src) {
    session_record s;
    s.id = st_->new_session_id();
    s.key_hash = hash;
    s.app_id = app;
    s.user_id = uid;
    s.source = src;
    return s;
  }
  bool found(const session_record& s) {
    return static_cast<bool>(st_->find_session(s.id, s.key_hash));
  }

  std::filesystem::path dir_;
  std::unique_ptr<store> st_;
};

class outbox_store_test : public store_test {
 protected:
  outbox_entry entry(const std::string& id, const std::string& key, millis due,
                     outbox_kind kind = outbox_kind::webhook) {
    outbox_entry e;
    e.event_id = id;
    e.app_id = "app1";
    e.kind = kind;
    e.order_key = key;
    e.event = "direct_call.dial";
    e.payload = "{}";
    e.created_at = due;
    e.next_attempt_at = due;
    e.give_up_at = due + 1000;
    return e;
  }
  std::vector<std::string> claim(millis now, int limit = 10) {
    std::vector<std::string> ids;
    auto due = st_->claim_due_outbox(now, now + 60'000, limit);
    EXPECT_TRUE(due);
    if (due)
      for (const auto& e : *due) ids.push_back(e.event_id);
    return ids;
  }
  void deliver(const std::string& id) {
    auto e = st_->find_outbox("app1", id);
    ASSERT_TRUE(e);
    e->state = delivery_state::delivered;
    ASSERT_TRUE(st_->complete_delivery({*e, {}, std::nullopt}));
  }
};

}  // namespace parley::store
