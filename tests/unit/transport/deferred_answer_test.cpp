// The hand-over of a deferred route's answer: given on another thread, made on the waiting
// coroutine's executor; "the server is stopping" when it will never come; dropped once the
// server's gate is closed.
#include "transport/deferred_answer.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include <optional>
#include <thread>

namespace parley::transport {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Waits for `late` on `io`; the answer lands in `got`.
void start_wait(asio::io_context& io, deferred_answer& late,
                std::optional<api::http_response>& got) {
  asio::co_spawn(
      io, [&late, &got]() -> asio::awaitable<void> { got = co_await late.get(); }, asio::detached);
}

std::string code_of(const api::http_response& r) {
  return std::string(boost::json::parse(r.body).at("error").at("code").as_string());
}

TEST(deferred_answer, an_answer_from_another_thread_is_made_on_the_waiting_thread) {
  asio::io_context io;
  auto gate = std::make_shared<answer_gate>();
  deferred_answer late(io.get_executor());
  std::optional<api::http_response> got;
  start_wait(io, late, got);
  io.poll();
  ASSERT_FALSE(got) << "the wait ended before an answer was given";
  auto waiting_thread = std::this_thread::get_id();
  std::optional<std::thread::id> made_on;
  std::thread([&, respond = late.responder(gate)] {
    respond([&] {
      made_on = std::this_thread::get_id();
      api::http_response r;
      r.status = 201;
      r.body = "made";
      return r;
    });
  }).join();
  io.run_for(10s);  // returns as soon as the coroutine has the answer
  ASSERT_TRUE(got) << "the answer did not wake the waiting coroutine";
  EXPECT_EQ(got->status, 201);
  EXPECT_EQ(got->body, "made");
  EXPECT_EQ(made_on, waiting_thread);
}

TEST(deferred_answer, an_answer_given_before_the_wait_is_kept_for_it) {
  asio::io_context io;
  auto gate = std::make_shared<answer_gate>();
  deferred_answer late(io.get_executor());
  late.responder(gate)([] {
    api::http_response r;
    r.status = 204;
    return r;
  });
  std::optional<api::http_response> got;
  start_wait(io, late, got);
  io.run_for(10s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 204);
}

TEST(deferred_answer, a_responder_dropped_unanswered_means_the_server_is_stopping) {
  asio::io_context io;
  auto gate = std::make_shared<answer_gate>();
  deferred_answer late(io.get_executor());
  auto respond = std::make_optional(late.responder(gate));
  auto copy = *respond;  // the route may copy it; the last copy decides
  std::optional<api::http_response> got;
  start_wait(io, late, got);
  io.poll();
  respond.reset();
  io.poll();
  EXPECT_FALSE(got) << "a copy of the responder is still held";
  std::thread([c = std::move(copy)]() mutable { c = nullptr; }).join();
  io.run_for(10s);
  ASSERT_TRUE(got) << "the dropped responder did not end the wait";
  EXPECT_EQ(got->status, 503);
  EXPECT_EQ(code_of(*got), "unavailable");
}

// The session's coroutine still waits on a live io_context, but the server is being destroyed
// (its registry closed the gate): the answer must not reach the session.
TEST(deferred_answer, an_answer_after_the_gate_closed_is_dropped) {
  asio::io_context io;
  auto gate = std::make_shared<answer_gate>();
  deferred_answer late(io.get_executor());
  std::optional<api::http_response> got;
  start_wait(io, late, got);
  io.poll();
  auto respond = late.responder(gate);
  gate->close();
  bool made = false;
  respond([&] {
    made = true;
    return api::http_response{};
  });
  io.poll();
  EXPECT_FALSE(made);
  EXPECT_FALSE(got);
}

TEST(deferred_answer, an_answer_for_a_session_that_is_gone_is_dropped) {
  auto gate = std::make_shared<answer_gate>();
  bool made = false;
  api::responder respond;
  {
    asio::io_context io;
    deferred_answer late(io.get_executor());
    respond = late.responder(gate);
  }
  respond([&] {
    made = true;
    return api::http_response{};
  });
  EXPECT_FALSE(made);
}

}  // namespace
}  // namespace parley::transport
