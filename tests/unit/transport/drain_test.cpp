// The drain registry: the drain asks every live session to finish, and its wait ends when the
// last session goes (woken by it, not by a deadline or a poll) or at the deadline.
#include "transport/drain.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <thread>

namespace parley::transport {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class fake_session final : public drainable {
 public:
  void drain() override { ++drained; }
  std::atomic<int> drained{0};
};

// Starts registry.wait_drained(timeout) on `io`; the result lands in `left` when it returns.
void start_wait(asio::io_context& io, drain_registry& registry,
                std::chrono::steady_clock::duration timeout, std::optional<std::size_t>& left) {
  asio::co_spawn(
      io,
      [&registry, timeout, &left]() -> asio::awaitable<void> {
        left = co_await registry.wait_drained(timeout);
      },
      asio::detached);
}

TEST(drain_registry, a_session_counts_live_until_it_is_destroyed) {
  drain_registry registry;
  auto a = std::make_shared<fake_session>();
  auto b = std::make_shared<fake_session>();
  registry.add(a);
  registry.add(b);
  EXPECT_EQ(registry.live(), 2u);
  a.reset();
  EXPECT_EQ(registry.live(), 1u);
  b.reset();
  EXPECT_EQ(registry.live(), 0u);
}

TEST(drain_registry, drain_all_asks_every_live_session) {
  drain_registry registry;
  auto a = std::make_shared<fake_session>();
  auto b = std::make_shared<fake_session>();
  registry.add(a);
  registry.add(b);
  registry.drain_all();
  EXPECT_EQ(a->drained, 1);
  EXPECT_EQ(b->drained, 1);
}

// The deadline is an hour: only the last session's wake-up can end the wait within the test.
TEST(drain_registry, the_wait_ends_when_the_last_session_goes_on_another_thread) {
  asio::io_context io;
  drain_registry registry;
  auto a = std::make_shared<fake_session>();
  auto b = std::make_shared<fake_session>();
  registry.add(a);
  registry.add(b);
  std::optional<std::size_t> left;
  start_wait(io, registry, 1h, left);
  io.poll();
  EXPECT_FALSE(left) << "the wait ended with two sessions live";
  a.reset();
  io.poll();
  EXPECT_FALSE(left) << "the wait ended with one session live";
  // The last one goes on another thread (an I/O thread of another context, in the server).
  std::thread([&b] { b.reset(); }).join();
  io.run_for(10s);  // returns as soon as the wait has ended
  ASSERT_TRUE(left) << "the last session's going did not wake the drain";
  EXPECT_EQ(*left, 0u);
}

TEST(drain_registry, the_wait_ends_at_once_when_no_session_is_live) {
  asio::io_context io;
  drain_registry registry;
  registry.add(std::make_shared<fake_session>());  // gone at once
  std::optional<std::size_t> left;
  start_wait(io, registry, 1h, left);
  io.run_for(10s);
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, 0u);
}

TEST(drain_registry, the_wait_ends_at_the_deadline_with_the_sessions_left) {
  asio::io_context io;
  drain_registry registry;
  auto a = std::make_shared<fake_session>();
  registry.add(a);
  std::optional<std::size_t> left;
  start_wait(io, registry, 20ms, left);
  io.run_for(10s);
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, 1u);
  // A session that goes after the wait has ended wakes nothing (and breaks nothing).
  a.reset();
  EXPECT_EQ(registry.live(), 0u);
}

// A session destroyed after its registry (as when the io_context holding its last handler is
// destroyed after the server) touches only the shared count.
TEST(drain_registry, a_session_may_outlive_its_registry) {
  auto a = std::make_shared<fake_session>();
  {
    drain_registry registry;
    registry.add(a);
  }
  a.reset();
  SUCCEED();
}

}  // namespace
}  // namespace parley::transport
