// connection_limiter: the global and per-address caps, idle connections reaped oldest first,
// the ops-only reserve, and places given back when slots go.

#include "transport/connection_limiter.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace parley::transport;

namespace {

// A session stand-in that records its reap.
struct fake_conn : reapable {
  int reaps = 0;
  void reap() override { ++reaps; }
};

struct held {
  std::shared_ptr<connection_slot> slot;
  std::shared_ptr<fake_conn> conn = std::make_shared<fake_conn>();
};

held admit(connection_limiter& l, const std::string& addr) {
  held h;
  auto a = l.admit(addr);
  h.slot = a.slot;
  if (h.slot) h.slot->set_target(h.conn);
  return h;
}

TEST(connection_limiter, refuses_past_the_per_address_cap_while_other_addresses_connect) {
  auto l = connection_limiter::create({.max_connections = 100, .max_per_address = 3});
  std::vector<held> a;
  for (int i = 0; i < 3; ++i) a.push_back(admit(*l, "10.0.0.1"));
  for (auto& h : a) ASSERT_TRUE(h.slot);
  auto fourth = l->admit("10.0.0.1");
  EXPECT_FALSE(fourth.slot);
  EXPECT_EQ(fourth.refused, connection_limiter::refusal::per_address);
  EXPECT_TRUE(l->admit("10.0.0.2").slot);
  // One goes: the address may connect again.
  a.pop_back();
  EXPECT_TRUE(admit(*l, "10.0.0.1").slot);
}

TEST(connection_limiter, at_the_cap_the_oldest_idle_connection_is_reaped) {
  auto l = connection_limiter::create({.max_connections = 3, .max_per_address = 100});
  auto a = admit(*l, "a"), b = admit(*l, "b"), c = admit(*l, "c");
  // New connections are idle, oldest first; a is busy (an authenticated WebSocket, say).
  a.slot->busy();
  auto d = l->admit("d");
  ASSERT_TRUE(d.slot);
  EXPECT_TRUE(d.reaped);
  EXPECT_FALSE(d.slot->ops_only());
  EXPECT_EQ(b.conn->reaps, 1);
  EXPECT_EQ(c.conn->reaps, 0);
  EXPECT_EQ(a.conn->reaps, 0);
  EXPECT_EQ(l->open(), 3u);
  // b's session ends later: its slot was already given back, nothing is counted twice.
  b.slot.reset();
  EXPECT_EQ(l->open(), 3u);
}

TEST(connection_limiter, idle_since_is_when_it_last_became_idle) {
  auto l = connection_limiter::create({.max_connections = 2, .max_per_address = 100});
  auto a = admit(*l, "a"), b = admit(*l, "b");  // both idle, a the older
  a.slot->busy();                               // a request arrived on a
  a.slot->idle();                               // answered; a waits again, now the most recent
  ASSERT_TRUE(l->admit("c").slot);
  EXPECT_EQ(b.conn->reaps, 1);
  EXPECT_EQ(a.conn->reaps, 0);
}

TEST(connection_limiter, with_nothing_to_reap_the_ops_reserve_then_refusal) {
  auto l =
      connection_limiter::create({.max_connections = 2, .max_per_address = 100, .ops_reserve = 2});
  auto a = admit(*l, "a");
  a.slot->busy();
  auto b = admit(*l, "b");
  b.slot->busy();
  auto o1 = admit(*l, "c");
  ASSERT_TRUE(o1.slot);
  o1.slot->busy();
  auto o2 = admit(*l, "c");
  ASSERT_TRUE(o2.slot);
  o2.slot->busy();
  EXPECT_TRUE(o1.slot->ops_only());
  EXPECT_TRUE(o2.slot->ops_only());
  auto refused = l->admit("d");
  EXPECT_FALSE(refused.slot);
  EXPECT_EQ(refused.refused, connection_limiter::refusal::limit);
  EXPECT_EQ(l->open(), 4u);
  // An ordinary place comes back: the next connection is ordinary again.
  a.slot.reset();
  auto e = admit(*l, "e");
  ASSERT_TRUE(e.slot);
  EXPECT_FALSE(e.slot->ops_only());
}

TEST(connection_limiter, an_idle_ops_only_connection_is_reaped_for_another_ops_only_one) {
  auto l =
      connection_limiter::create({.max_connections = 1, .max_per_address = 100, .ops_reserve = 1});
  auto a = admit(*l, "a");
  a.slot->busy();
  auto o = admit(*l, "b");  // idle
  ASSERT_TRUE(o.slot && o.slot->ops_only());
  auto n = admit(*l, "c");
  ASSERT_TRUE(n.slot);
  EXPECT_TRUE(n.slot->ops_only());  // the ordinary cap is still reached
  EXPECT_EQ(o.conn->reaps, 1);
  EXPECT_EQ(l->open(), 2u);
}

TEST(connection_limiter, reap_oldest_frees_one_idle_connection) {
  auto l = connection_limiter::create({.max_connections = 10, .max_per_address = 10});
  auto a = admit(*l, "a");
  a.slot->busy();
  EXPECT_FALSE(l->reap_oldest());
  a.slot->idle();
  EXPECT_TRUE(l->reap_oldest());
  EXPECT_EQ(a.conn->reaps, 1);
  EXPECT_EQ(l->open(), 0u);
  EXPECT_FALSE(l->reap_oldest());
}

TEST(connection_limiter, new_connections_are_reaped_in_the_order_they_came) {
  auto l = connection_limiter::create({.max_connections = 3, .max_per_address = 100});
  std::vector<held> all;
  for (int i = 0; i < 6; ++i) all.push_back(admit(*l, "a"));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(all[i].conn->reaps, i < 3 ? 1 : 0) << i;
}

TEST(connection_limiter, slots_keep_the_limiter_alive) {
  std::shared_ptr<connection_slot> slot;
  {
    auto l = connection_limiter::create({});
    slot = l->admit("a").slot;
  }
  slot->idle();
  slot.reset();  // no use after free (ASan would say)
}

}  // namespace
