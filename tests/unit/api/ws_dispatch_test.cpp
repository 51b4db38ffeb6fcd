// The WebSocket protocol of one connection in process: real services on a temporary SQLite
// store, a fake connection in place of the transport's. Hello and welcome, one answer per
// request, the answers that wait for a commit, and the closes the services make.
#include "api/ws_dispatch.hpp"

#include "../services/service_fixture.hpp"

#include "api/call_delivery.hpp"

#include <boost/json.hpp>

#include <string>

namespace parley::api {
namespace {

namespace json = boost::json;
using testing::fake_connection;

class ws_dispatch_test : public testing::service_fixture {
 protected:
  void SetUp() override {
    service_fixture::SetUp();
    ctx_.reset(new context{*apps_, *users_, *auth_, *calls_, hub_, stats_, {}});
  }
  void TearDown() override {
    handlers_.clear();
    ctx_.reset();
    service_fixture::TearDown();
  }
  std::unique_ptr<services::call_notifier> make_notifier() override {
    return std::make_unique<call_delivery>(hub_);
  }

  struct peer {
    std::shared_ptr<fake_connection> conn;
    ws_handler* handler;
    std::string session_key;
  };
  // A connection of `user_id` (created) that has not said hello yet.
  peer open_as(const std::string& user_id) {
    auto token = add_user(user_id);
    auto a = authenticate({.user_id = user_id, .access_token = token});
    EXPECT_TRUE(a);
    auto conn = std::make_shared<fake_connection>();
    handlers_.push_back(open_ws_handler(*ctx_, conn));
    return {conn, handlers_.back().get(), a ? a->session_key : ""};
  }
  // The same, after a hello answered by a welcome.
  peer connected_as(const std::string& user_id) {
    auto p = open_as(user_id);
    EXPECT_FALSE(p.handler->on_text(hello(p.session_key)));
    EXPECT_EQ(last(p).at("type"), "welcome");
    return p;
  }
  static std::string hello(const std::string& key) {
    return json::serialize(json::object{{"type", "hello"}, {"session_key", key}});
  }
  static json::object last(const peer& p) {
    auto sent = p.conn->sent_copy();
    if (sent.empty()) return {};
    return json::parse(sent.back()).as_object();
  }
  static std::string code_of(const json::object& frame) {
    auto c = frame.if_contains("code");
    return c ? std::string(c->as_string()) : "";
  }

  std::unique_ptr<context> ctx_;
  std::vector<std::unique_ptr<ws_handler>> handlers_;
};

TEST_F(ws_dispatch_test, hello_is_answered_by_welcome_and_registers_the_connection) {
  auto p = open_as("alice");
  EXPECT_FALSE(p.handler->on_text(hello(p.session_key)));
  auto w = last(p);
  EXPECT_EQ(w.at("type"), "welcome");
  EXPECT_EQ(w.at("user").at("user_id"), "alice");
  EXPECT_TRUE(w.at("ongoing_calls").as_array().empty());
  EXPECT_EQ(w.at("ongoing_calls_more"), false);
  EXPECT_FALSE(w.at("connection_id").as_string().empty());
  EXPECT_EQ(hub_.size(), 1u);
  EXPECT_TRUE(p.conn->closes_copy().empty());
}

TEST_F(ws_dispatch_test, a_first_message_other_than_hello_closes_with_4001) {
  auto p = open_as("alice");
  p.handler->on_text(R"({"type":"ping"})");
  EXPECT_EQ(last(p).at("type"), "error");
  EXPECT_EQ(last(p).at("field"), "type");
  EXPECT_EQ(p.conn->closes_copy(), std::vector<int>{services::close_code::session_invalid});
  EXPECT_EQ(hub_.size(), 0u);
}

TEST_F(ws_dispatch_test, an_unknown_session_key_or_an_empty_device_id_fails_hello) {
  auto p = open_as("alice");
  p.handler->on_text(hello("not-a-key"));
  EXPECT_EQ(code_of(last(p)), "unauthorized");
  EXPECT_EQ(p.conn->closes_copy(), std::vector<int>{services::close_code::session_invalid});

  auto q = open_as("bob");
  q.handler->on_text(json::serialize(
      json::object{{"type", "hello"}, {"session_key", q.session_key}, {"device_id", ""}}));
  EXPECT_EQ(last(q).at("field"), "device_id");
  EXPECT_EQ(q.conn->closes_copy(), std::vector<int>{services::close_code::session_invalid});
  EXPECT_EQ(hub_.size(), 0u);
}

TEST_F(ws_dispatch_test, every_request_gets_one_answer_naming_what_was_wrong) {
  auto p = connected_as("alice");
  auto answer = [&](std::string_view text) {
    auto before = p.conn->sent_copy().size();
    EXPECT_FALSE(p.handler->on_text(text));
    EXPECT_EQ(p.conn->sent_copy().size(), before + 1) << text;
    return last(p);
  };
  EXPECT_EQ(answer(R"({"type":"ping"})").at("type"), "pong");
  auto no_req_id = answer(R"({"type":"end","call_id":"x"})");
  EXPECT_EQ(no_req_id.at("field"), "req_id");
  auto unknown = answer(R"({"type":"teleport","req_id":"r1"})");
  EXPECT_EQ(unknown.at("field"), "type");
  EXPECT_EQ(unknown.at("req_id"), "r1");
  EXPECT_EQ(code_of(answer(R"({"type":"hello","req_id":"r2"})")), "invalid_request");
  EXPECT_EQ(code_of(answer("not json")), "invalid_request");
  EXPECT_EQ(answer(R"({"type":"dial","req_id":"r3","callee_id":"bob"})").at("field"), "is_video");
  auto before = p.conn->sent_copy().size();
  p.handler->on_binary();
  EXPECT_EQ(p.conn->sent_copy().size(), before + 1);
  EXPECT_EQ(code_of(last(p)), "invalid_request");
  EXPECT_TRUE(p.conn->closes_copy().empty());
}

TEST_F(ws_dispatch_test, a_dial_is_answered_after_its_commit_and_then_reading_resumes) {
  auto bob = connected_as("bob");
  auto alice = connected_as("alice");
  auto bob_seen = bob.conn->sent_copy().size();
  bool held =
      alice.handler->on_text(R"({"type":"dial","req_id":"d1","callee_id":"bob","is_video":false})");
  EXPECT_TRUE(held);
  st_->wait_for_batched_writes();
  auto ack = last(alice);
  EXPECT_EQ(ack.at("type"), "ack");
  EXPECT_EQ(ack.at("req_id"), "d1");
  EXPECT_EQ(ack.at("call").at("state"), "ringing");
  EXPECT_EQ(ack.at("call").at("callee_id"), "bob");
  EXPECT_EQ(alice.conn->resumed_count(), 1);
  // The callee's connection heard of it.
  EXPECT_GT(bob.conn->sent_copy().size(), bob_seen);
}

TEST_F(ws_dispatch_test, a_failed_call_request_is_answered_at_once_without_holding_reading) {
  auto alice = connected_as("alice");
  bool held = alice.handler->on_text(
      R"({"type":"dial","req_id":"d2","callee_id":"alice","is_video":true})");
  st_->wait_for_batched_writes();
  auto e = last(alice);
  EXPECT_EQ(e.at("type"), "error");
  EXPECT_EQ(e.at("req_id"), "d2");
  EXPECT_EQ(code_of(e), "dial_myself");
  // Answered through the same path as a committed one: reading resumes once.
  EXPECT_TRUE(held);
  EXPECT_EQ(alice.conn->resumed_count(), 1);
}

TEST_F(ws_dispatch_test, deauthentication_closes_the_websocket_with_4000) {
  auto alice = connected_as("alice");
  auto s = auth_->verify(alice.session_key, now_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(auth_->deauthenticate(s->session));
  EXPECT_EQ(alice.conn->closes_copy(), std::vector<int>{services::close_code::deauthenticated});
}

TEST_F(ws_dispatch_test, deleting_the_user_closes_its_websocket_and_ends_its_call_for_the_peer) {
  auto bob = connected_as("bob");
  auto alice = connected_as("alice");
  alice.handler->on_text(R"({"type":"dial","req_id":"d1","callee_id":"bob","is_video":false})");
  st_->wait_for_batched_writes();
  auto call_id = std::string(last(alice).at("call").at("call_id").as_string());
  auto bob_seen = bob.conn->sent_copy().size();

  ASSERT_TRUE(remove_user("alice", now_));
  st_->wait_for_batched_writes();

  EXPECT_EQ(alice.conn->closes_copy(), std::vector<int>{services::close_code::user_deleted});
  EXPECT_TRUE(bob.conn->closes_copy().empty());
  auto sent = bob.conn->sent_copy();
  ASSERT_GT(sent.size(), bob_seen);
  bool ended = false;
  for (auto i = bob_seen; i < sent.size(); ++i) {
    auto f = json::parse(sent[i]).as_object();
    if (auto c = f.if_contains("call"); c && c->at("call_id").as_string() == call_id)
      ended = ended || c->at("state") == "ended";
  }
  EXPECT_TRUE(ended);
}

TEST_F(ws_dispatch_test, closing_removes_the_connection_from_the_hub) {
  auto alice = connected_as("alice");
  EXPECT_EQ(hub_.size(), 1u);
  alice.handler->on_close();
  EXPECT_EQ(hub_.size(), 0u);
}

TEST_F(ws_dispatch_test, too_many_messages_close_the_connection_with_4008) {
  ctx_->config.ws_msg_rate = 1;  // a burst of 2
  auto p = open_as("alice");
  p.handler->on_text(hello(p.session_key));
  p.handler->on_text(R"({"type":"ping"})");
  EXPECT_TRUE(p.conn->closes_copy().empty());
  p.handler->on_text(R"({"type":"ping"})");
  EXPECT_EQ(p.conn->closes_copy(), std::vector<int>{services::close_code::rate_limited});
}

}  // namespace
}  // namespace parley::api
