#include "services/connection_hub.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace parley::services {
namespace {

struct fake_connection : client_connection {
  std::vector<std::string> sent;
  std::vector<int> closes;
  bool refuse = false;  // a full or closing queue
  bool send(std::string text) override {
    if (refuse) return false;
    sent.push_back(std::move(text));
    return true;
  }
  void close(int code, std::string) override { closes.push_back(code); }
};

connection_info info(const std::string& user, const std::string& session, const std::string& device,
                     std::optional<millis> expires = std::nullopt) {
  return {"conn", "app", user, session, device, expires};
}

TEST(connection_hub, same_session_and_device_replaces_the_older_connection) {
  connection_hub hub;
  auto a = std::make_shared<fake_connection>();
  auto b = std::make_shared<fake_connection>();
  hub.add(a, info("u", "s1", "d1"));
  hub.add(b, info("u", "s1", "d1"));
  EXPECT_EQ(a->closes, std::vector<int>{close_code::replaced});
  EXPECT_TRUE(b->closes.empty());
  EXPECT_EQ(hub.size(), 1u);
}

TEST(connection_hub, different_devices_and_missing_device_ids_coexist) {
  connection_hub hub;
  auto a = std::make_shared<fake_connection>();
  auto b = std::make_shared<fake_connection>();
  auto c = std::make_shared<fake_connection>();
  auto d = std::make_shared<fake_connection>();
  hub.add(a, info("u", "s1", "d1"));
  hub.add(b, info("u", "s1", "d2"));
  hub.add(c, info("u", "s1", ""));
  hub.add(d, info("u", "s1", ""));
  EXPECT_EQ(hub.size(), 4u);
  for (auto& x : {a, b, c, d}) EXPECT_TRUE(x->closes.empty());
}

TEST(connection_hub, closing_sessions_touches_only_those_sessions) {
  connection_hub hub;
  auto a = std::make_shared<fake_connection>();
  auto b = std::make_shared<fake_connection>();
  hub.add(a, info("u", "s1", "d1"));
  hub.add(b, info("u", "s2", "d1"));
  hub.close_sessions({"s1"}, close_code::session_invalid, "revoked");
  EXPECT_EQ(a->closes, std::vector<int>{close_code::session_invalid});
  EXPECT_TRUE(b->closes.empty());
  EXPECT_EQ(hub.size(), 1u);
}

TEST(connection_hub, closing_a_user_closes_all_of_its_sessions_only) {
  connection_hub hub;
  auto a = std::make_shared<fake_connection>();
  auto b = std::make_shared<fake_connection>();
  auto c = std::make_shared<fake_connection>();
  hub.add(a, info("u", "s1", "d1"));
  hub.add(b, info("u", "s2", "d2"));
  hub.add(c, info("v", "s3", "d1"));
  hub.close_user("app", "u", close_code::user_deleted, "deleted");
  EXPECT_EQ(a->closes, std::vector<int>{close_code::user_deleted});
  EXPECT_EQ(b->closes, std::vector<int>{close_code::user_deleted});
  EXPECT_TRUE(c->closes.empty());
}

TEST(connection_hub, sweep_warns_once_then_expires) {
  connection_hub hub;
  auto a = std::make_shared<fake_connection>();
  hub.add(a, info("u", "s1", "d1", 100'000));
  int warned = 0, expired = 0;
  auto warn = [&](client_connection&, millis at) {
    EXPECT_EQ(at, 100'000);
    ++warned;
  };
  auto expire = [&](client_connection&) { ++expired; };
  hub.sweep(30'000, 60'000, warn, expire);
  EXPECT_EQ(warned, 0);
  hub.sweep(40'000, 60'000, warn, expire);
  hub.sweep(50'000, 60'000, warn, expire);
  EXPECT_EQ(warned, 1);
  EXPECT_EQ(expired, 0);
  hub.sweep(100'000, 60'000, warn, expire);
  EXPECT_EQ(expired, 1);
  EXPECT_EQ(hub.size(), 0u);
}

TEST(connection_hub, refresh_moves_expiry_and_rearms_the_warning) {
  connection_hub hub;
  auto a = std::make_shared<fake_connection>();
  auto h = hub.add(a, info("u", "s1", "d1", 100'000));
  int warned = 0, expired = 0;
  auto warn = [&](client_connection&, millis) { ++warned; };
  auto expire = [&](client_connection&) { ++expired; };
  hub.sweep(50'000, 60'000, warn, expire);
  hub.set_session(h, store::session_source::session_token, 500'000);
  hub.sweep(100'000, 60'000, warn, expire);
  EXPECT_EQ(expired, 0);
  hub.sweep(450'000, 60'000, warn, expire);
  EXPECT_EQ(warned, 2);
}

TEST(connection_hub, a_revocation_closes_only_the_users_sessions_from_that_source) {
  connection_hub hub;
  auto by_access = std::make_shared<fake_connection>();
  auto by_token = std::make_shared<fake_connection>();
  auto refreshed = std::make_shared<fake_connection>();
  auto other_user = std::make_shared<fake_connection>();
  hub.add(by_access, info("u", "s1", "d1"));
  auto t = info("u", "s2", "d2", 900'000);
  t.source = store::session_source::session_token;
  hub.add(by_token, t);
  // Made from the access token, then refreshed with a session token: it now ends with those.
  auto h = hub.add(refreshed, info("u", "s3", "d3"));
  hub.set_session(h, store::session_source::session_token, 900'000);
  hub.add(other_user, info("v", "s4", "d4"));

  hub.close_user_sessions("app", "u", store::session_source::access_token,
                          close_code::session_invalid, "access token revoked");
  EXPECT_EQ(by_access->closes, std::vector<int>{close_code::session_invalid});
  EXPECT_TRUE(by_token->closes.empty());
  EXPECT_TRUE(refreshed->closes.empty());

  hub.close_user_sessions("app", "u", store::session_source::session_token,
                          close_code::session_invalid, "session tokens revoked");
  EXPECT_EQ(by_token->closes, std::vector<int>{close_code::session_invalid});
  EXPECT_EQ(refreshed->closes, std::vector<int>{close_code::session_invalid});
  EXPECT_TRUE(other_user->closes.empty());
  EXPECT_EQ(hub.size(), 1u);
}

TEST(connection_hub, removed_connections_are_not_closed_later) {
  connection_hub hub;
  auto a = std::make_shared<fake_connection>();
  auto h = hub.add(a, info("u", "s1", "d1"));
  hub.remove(h);
  hub.close_user("app", "u", close_code::user_deleted, "deleted");
  EXPECT_TRUE(a->closes.empty());
}

TEST(connection_hub, a_send_the_connection_refused_is_not_counted_as_delivered) {
  connection_hub hub;
  auto a = std::make_shared<fake_connection>();
  auto b = std::make_shared<fake_connection>();
  connection_info ia = info("u", "s1", "d1");
  ia.connection_id = "ca";
  connection_info ib = info("u", "s2", "d2");
  ib.connection_id = "cb";
  hub.add(a, ia);
  hub.add(b, ib);
  b->refuse = true;
  EXPECT_TRUE(hub.send_to_connection("ca", "x"));
  EXPECT_FALSE(hub.send_to_connection("cb", "x"));
  EXPECT_FALSE(hub.send_to_connection("nobody", "x"));
  EXPECT_EQ(hub.send_to_user("app", "u", "y"), 1u);
}

}  // namespace
}  // namespace parley::services
