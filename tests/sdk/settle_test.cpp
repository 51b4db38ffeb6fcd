// detail::settle, the one bridge from an SDK operation's callback form to its future form: what
// the callback gets is what the future gives, an error stays the same parley::error, and the
// future is settled where the callback runs.

#include <parley/parley.hpp>

#include "impl/settle.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>

namespace parley {
namespace {

using namespace std::chrono_literals;

TEST(sdk_settle, a_value_given_to_the_callback_is_what_the_future_gives) {
  auto f = detail::settle<std::string>([](auto done) { done(std::string("hello")); });
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(f.get(), "hello");

  auto v = detail::settle<void>([](auto done) { done({}); });
  ASSERT_EQ(v.wait_for(0s), std::future_status::ready);
  EXPECT_NO_THROW(v.get());
}

TEST(sdk_settle, an_error_given_to_the_callback_is_thrown_by_the_future_unchanged) {
  auto f = detail::settle<bool>([](auto done) {
    done(error(error_code::rate_limited, "slow down", 429).with_field("token"));
  });
  try {
    f.get();
    FAIL() << "the future gave a value for an error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), error_code::rate_limited);
    EXPECT_EQ(e.message(), "slow down");
    EXPECT_EQ(e.http_status(), 429);
    EXPECT_EQ(e.field(), "token");
  }

  auto v = detail::settle<void>([](auto done) { done(error(error_code::network_error, "gone")); });
  try {
    v.get();
    FAIL() << "the void future gave no error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), error_code::network_error);
  }
}

TEST(sdk_settle, start_runs_at_once_and_the_callback_may_settle_later_from_another_thread) {
  std::function<void(result<int>)> kept;
  auto caller = std::this_thread::get_id();
  std::thread::id started_on;
  auto f = detail::settle<int>([&](auto done) {
    started_on = std::this_thread::get_id();
    kept = std::move(done);
  });
  EXPECT_EQ(started_on, caller);  // inline, on the calling thread: nothing is posted
  EXPECT_EQ(f.wait_for(0s), std::future_status::timeout);
  std::thread io([&kept] { kept(7); });
  io.join();
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(f.get(), 7);
}

TEST(sdk_settle, a_callback_dropped_without_an_answer_breaks_the_future) {
  auto f = detail::settle<int>([](auto done) { (void)done; });
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  try {
    f.get();
    FAIL() << "a dropped callback gave a value";
  } catch (const std::future_error& e) {
    EXPECT_EQ(e.code(), std::future_errc::broken_promise);
  }
}

}  // namespace
}  // namespace parley
