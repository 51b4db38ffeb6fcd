// Calls from a push through libparley: client::handle_push_payload with the payload shapes an app
// receives (APNs, FCM data, the bare parley object), one call per call id across pushes, the
// welcome and `ringing`, accept/decline held until the WebSocket is welcomed, cancel pushes,
// refused payloads, and deauthenticate removing the push tokens it registered. The pushes are
// built as parleyd's push would be (docs/protocol.md, "Push notifications"), from the dial's call.
// No sleeps: every wait is on a future or a recorder.

#include <parley/parley.hpp>
#include <parley/testing/loopback_media_engine.hpp>

#include "test_support.hpp"

#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <set>

namespace parley {
namespace {

using namespace std::chrono_literals;
using test::error_of;
using test::get_within;
namespace json = boost::json;

// The `parley` object of an incoming-call push of `c`.
json::object incoming_push(const std::string& app_id, const call_info& c,
                           const std::string& nickname, std::int64_t ringing_deadline) {
  return {{"type", "incoming_call"},
          {"app_id", app_id},
          {"call_id", c.call_id},
          {"caller", json::object{{"user_id", c.caller_id}, {"nickname", nickname}}},
          {"callee_id", c.callee_id},
          {"is_video", c.is_video},
          {"created_at", c.created_at},
          {"ringing_deadline", ringing_deadline}};
}

json::object cancel_push(const std::string& app_id, const std::string& call_id,
                         const std::string& callee_id, const std::string& reason) {
  return {{"type", "call_cancel"},
          {"app_id", app_id},
          {"call_id", call_id},
          {"callee_id", callee_id},
          {"reason", reason}};
}

// The three ways an app hands a push in.
enum class shape { apns, fcm, bare };

std::string as_received(const json::object& parley, shape s) {
  switch (s) {
    case shape::apns:
      return json::serialize(json::object{
          {"aps",
           json::object{{"alert", json::object{{"title", "Alice"}, {"body", "Incoming call"}}},
                        {"sound", "default"}}},
          {"parley", parley}});
    case shape::fcm:
      return json::serialize(json::object{{"parley", json::serialize(parley)}});
    case shape::bare:
      break;
  }
  return json::serialize(parley);
}

// One device: its own data dir (so its own device id), a recorder for its incoming calls and
// call events, and loopback media.
struct device {
  test::temp_dir dir;
  std::shared_ptr<test::call_recorder> rec = std::make_shared<test::call_recorder>();
  std::unique_ptr<client> c;
};

std::unique_ptr<device> fresh_device(const std::string& app_id, const std::string& url) {
  auto d = std::make_unique<device>();
  d->c = std::make_unique<client>();
  d->c->init(app_id, test::options_for(url, d->dir.path()));
  d->c->add_incoming_call_listener(d->rec);
  d->c->set_media_engine_factory(loopback_media_engine::factory());
  return d;
}

std::optional<error> error_of_result(const result<std::shared_ptr<call>>& r) {
  if (r) return std::nullopt;
  return r.err();
}

// ---------------------------------------------------------------------------------------------
// Without a server: what handle_push_payload refuses, cancels, and the local ringing deadline.

class sdk_push_offline : public ::testing::Test {
 protected:
  void SetUp() override { d_ = fresh_device(app_id_, "http://127.0.0.1:9"); }

  call_info a_call(const std::string& id) const {
    call_info c;
    c.call_id = id;
    c.caller_id = "alice";
    c.callee_id = "bob";
    c.created_at = test::now_ms();
    return c;
  }

  std::string app_id_ = "app-offline";
  std::unique_ptr<device> d_;
};

TEST_F(sdk_push_offline, malformed_payloads_are_invalid_request_and_ring_nothing) {
  auto good = incoming_push(app_id_, a_call("c1"), "Alice", test::now_ms() + 60'000);
  auto without = [&](const char* key) {
    auto o = good;
    o.erase(key);
    return json::serialize(o);
  };
  auto with = [&](const char* key, json::value v) {
    auto o = good;
    o[key] = std::move(v);
    return json::serialize(o);
  };
  std::string deep(100'000, '[');
  std::vector<std::string> bad = {
      "",
      "not json",
      "[]",
      "42",
      "{}",
      deep,
      R"({"parley": 5})",
      R"({"parley": "not json"})",
      R"({"parley": "[1]"})",
      R"({"parley": null})",
      without("type"),
      with("type", "party"),
      with("type", 7),
      without("app_id"),
      with("app_id", "another-app"),
      without("call_id"),
      with("call_id", ""),
      with("caller", "alice"),
      with("caller", json::object{{"nickname", "Alice"}}),
      without("callee_id"),
      with("callee_id", 1),
      with("is_video", "yes"),
      without("created_at"),
      without("ringing_deadline"),
      with("ringing_deadline", "soon"),
      json::serialize(cancel_push(app_id_, "c1", "bob", "")),
      json::serialize(json::object{{"type", "call_cancel"}, {"app_id", app_id_}}),
  };
  for (const auto& payload : bad) {
    auto r = d_->c->handle_push_payload(payload);
    auto e = error_of_result(r);
    ASSERT_TRUE(e) << payload.substr(0, 200);
    EXPECT_EQ(e->code(), error_code::invalid_request) << payload.substr(0, 200);
  }
  EXPECT_EQ(d_->rec->count("ringing"), 0u);
  EXPECT_TRUE(d_->c->ongoing_calls().empty());

  // The callback form says the same.
  std::promise<error_code> code;
  d_->c->handle_push_payload("{", [&code](result<std::shared_ptr<call>> r) {
    code.set_value(r ? error_code::unknown : r.err().code());
  });
  EXPECT_EQ(get_within(code.get_future()), error_code::invalid_request);

  // Before init nothing can be checked.
  client uninitialised;
  auto e = error_of_result(uninitialised.handle_push_payload(json::serialize(good)));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::not_initialized);
}

TEST_F(sdk_push_offline, a_push_whose_ringing_deadline_passed_is_refused) {
  auto stale = incoming_push(app_id_, a_call("late"), "Alice", test::now_ms() - 1);
  auto e = error_of_result(d_->c->handle_push_payload(json::serialize(stale)));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::invalid_request);
  EXPECT_EQ(e->field(), "ringing_deadline");
  EXPECT_EQ(d_->rec->count("ringing"), 0u);
  EXPECT_TRUE(d_->c->ongoing_calls().empty());
}

TEST_F(sdk_push_offline, a_cancel_push_ends_the_push_call_with_its_reason) {
  auto in = d_->c->handle_push_payload(
      json::serialize(incoming_push(app_id_, a_call("c2"), "Alice", test::now_ms() + 60'000)));
  ASSERT_TRUE(in);
  auto c = in.value();
  c->set_listener(d_->rec);
  // Held: no session, no connection.
  auto decline = c->decline();

  auto cancel = d_->c->handle_push_payload(
      as_received(cancel_push(app_id_, "c2", "bob", "canceled"), shape::fcm));
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel.value(), c);
  auto ended = d_->rec->wait_for("ended", 0ms);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->detail, "canceled");
  EXPECT_EQ(c->end_result(), call_end_result::canceled);
  EXPECT_EQ(c->info().state, "ended");
  EXPECT_TRUE(d_->c->ongoing_calls().empty());
  // The held decline will never be sent.
  auto e = error_of(std::move(decline));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::invalid_call_state);

  // The same cancel again, or a late copy of the incoming push, changes nothing.
  EXPECT_TRUE(
      d_->c->handle_push_payload(json::serialize(cancel_push(app_id_, "c2", "bob", "canceled"))));
  auto again = d_->c->handle_push_payload(
      json::serialize(incoming_push(app_id_, a_call("c2"), "Alice", test::now_ms() + 60'000)));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.err().code(), error_code::invalid_call_state);
  EXPECT_EQ(d_->rec->count("ringing"), 1u);
  EXPECT_EQ(d_->rec->count("ended"), 1u);

  // A cancel that overtook its incoming push: nothing rings then.
  auto early =
      d_->c->handle_push_payload(json::serialize(cancel_push(app_id_, "c3", "bob", "no_answer")));
  ASSERT_TRUE(early);
  EXPECT_EQ(early.value(), nullptr);
  EXPECT_FALSE(d_->c->handle_push_payload(
      json::serialize(incoming_push(app_id_, a_call("c3"), "Alice", test::now_ms() + 60'000))));
  EXPECT_EQ(d_->rec->count("ringing"), 1u);
}

TEST_F(sdk_push_offline, a_push_call_never_connected_ends_as_no_answer_after_its_deadline) {
  auto in = d_->c->handle_push_payload(
      json::serialize(incoming_push(app_id_, a_call("c4"), "Alice", test::now_ms() + 300)));
  ASSERT_TRUE(in);
  auto c = in.value();
  c->set_listener(d_->rec);
  auto accept = c->accept();
  auto ended = d_->rec->wait_for("ended");
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->detail, "no_answer");
  EXPECT_TRUE(d_->c->ongoing_calls().empty());
  auto e = error_of(std::move(accept));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::invalid_call_state);
  // Too late now, without sending anything.
  auto late = error_of(c->decline());
  ASSERT_TRUE(late);
  EXPECT_EQ(late->code(), error_code::invalid_call_state);
}

// ---------------------------------------------------------------------------------------------
// Against a real parleyd.

class sdk_push : public ::testing::Test {
 protected:
  void SetUp() override {
    parleyd_ = test::parleyd_path();
    if (parleyd_.empty()) GTEST_SKIP() << "PARLEYD is not set";
    app_ = test::create_app(parleyd_, server_dir_.path(), "push");
    server_ = std::make_unique<test::server_process>(
        parleyd_, server_dir_.path(), std::vector<std::string>{"--heartbeat-s", "5"});
    platform_ = std::make_unique<test::platform_api>(server_->url(), app_);
    auto settings = platform_->call("GET", "/settings");
    ringing_timeout_ms_ =
        settings.body.as_object().at("ringing_timeout_s").to_number<std::int64_t>() * 1000;
  }

  const std::string& token_of(const std::string& user_id) {
    if (!tokens_.count(user_id)) tokens_[user_id] = *platform_->create_user(user_id, true);
    return tokens_[user_id];
  }

  std::unique_ptr<device> fresh() { return fresh_device(app_.app_id, server_->url()); }

  void sign_in(device& d, const std::string& user_id) {
    get_within(d.c->authenticate({.user_id = user_id, .access_token = token_of(user_id)}));
  }

  std::unique_ptr<device> connected(const std::string& user_id) {
    auto d = fresh();
    sign_in(*d, user_id);
    get_within(d->c->connect_websocket());
    return d;
  }

  // `from` dials `callee_id` (a user made first), with its recorder as the call's listener.
  std::shared_ptr<call> dial(device& from, const std::string& callee_id,
                             std::map<std::string, std::string> custom_items = {}) {
    token_of(callee_id);
    return get_within(from.c->dial({.callee_id = callee_id,
                                    .is_video = !custom_items.empty(),
                                    .custom_items = std::move(custom_items),
                                    .listener = from.rec}));
  }

  // What parleyd's incoming-call push for `out` says.
  json::object push_of(const std::shared_ptr<call>& out) {
    auto info = out->info();
    return incoming_push(app_.app_id, info, "Alice A.", info.created_at + ringing_timeout_ms_);
  }

  // Connects `d` and waits until the welcome's calls were handled (a request on the io thread
  // answers after that).
  void connect_and_settle(device& d) {
    get_within(d.c->connect_websocket());
    get_within(d.c->call_log({}));
  }

  std::string parleyd_;
  test::temp_dir server_dir_;
  test::app_credentials app_;
  std::unique_ptr<test::server_process> server_;
  std::unique_ptr<test::platform_api> platform_;
  std::map<std::string, std::string> tokens_;
  std::int64_t ringing_timeout_ms_ = 60'000;
};

TEST_F(sdk_push, every_payload_shape_rings_once_and_the_welcome_brings_the_same_call) {
  auto alice = connected("alice");
  auto out = dial(*alice, "bob", {{"topic", "lunch"}});
  auto parley = push_of(out);

  for (auto first : {shape::apns, shape::fcm, shape::bare}) {
    SCOPED_TRACE(static_cast<int>(first));
    auto bob = fresh();
    auto r = bob->c->handle_push_payload(as_received(parley, first));
    ASSERT_TRUE(r) << r.err().what();
    auto in = r.value();
    ASSERT_TRUE(in);
    // on_ringing has run when handle_push_payload returns.
    ASSERT_EQ(bob->rec->count("ringing"), 1u);
    EXPECT_EQ(bob->rec->events().front().c.lock(), in);
    auto info = in->info();
    EXPECT_EQ(info.call_id, out->id());
    EXPECT_EQ(info.caller_id, "alice");
    EXPECT_EQ(info.caller_nickname, "Alice A.");
    EXPECT_EQ(info.callee_id, "bob");
    EXPECT_TRUE(info.is_video);
    EXPECT_EQ(info.state, "ringing");
    EXPECT_EQ(info.created_at, out->info().created_at);
    EXPECT_EQ(info.ringing_deadline, out->info().created_at + ringing_timeout_ms_);
    EXPECT_FALSE(in->is_outgoing());
    EXPECT_EQ(in->peer_id(), "alice");
    ASSERT_EQ(bob->c->ongoing_calls().size(), 1u);

    // The same push again, in every shape: the same call, no second ring.
    for (auto again : {shape::apns, shape::fcm, shape::bare}) {
      auto dup = bob->c->handle_push_payload(as_received(parley, again));
      ASSERT_TRUE(dup);
      EXPECT_EQ(dup.value(), in);
    }
    EXPECT_EQ(bob->rec->count("ringing"), 1u);
    EXPECT_EQ(bob->c->ongoing_calls().size(), 1u);

    // The welcome lists the ringing call: the same object, still one ring, and the server's
    // view (custom items) joined to what only the push told.
    sign_in(*bob, "bob");
    connect_and_settle(*bob);
    ASSERT_EQ(bob->c->ongoing_calls().size(), 1u);
    EXPECT_EQ(bob->c->ongoing_calls().front(), in);
    EXPECT_EQ(bob->rec->count("ringing"), 1u);
    EXPECT_EQ(in->info().custom_items, (std::map<std::string, std::string>{{"topic", "lunch"}}));
    EXPECT_EQ(in->info().caller_nickname, "Alice A.");
    EXPECT_FALSE(in->ended());
    // And a push after that is still the same call.
    EXPECT_EQ(bob->c->handle_push_payload(as_received(parley, shape::apns)).value(), in);
    EXPECT_EQ(bob->rec->count("ringing"), 1u);
  }
  EXPECT_EQ(alice->rec->count("ended"), 0u);
}

TEST_F(sdk_push, a_push_that_comes_after_the_ringing_event_is_the_same_call) {
  auto alice = connected("alice");
  auto bob = connected("bob");
  auto out = dial(*alice, "bob");
  auto ring = bob->rec->wait_for("ringing");
  ASSERT_TRUE(ring);
  auto dup = bob->c->handle_push_payload(as_received(push_of(out), shape::fcm));
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup.value(), ring->c.lock());
  EXPECT_EQ(bob->rec->count("ringing"), 1u);
  EXPECT_EQ(dup.value()->info().caller_nickname, "Alice A.");
}

TEST_F(sdk_push, decline_before_authenticate_is_sent_once_welcomed) {
  auto alice = connected("alice");
  auto out = dial(*alice, "bob");

  // Bob's app is woken by the push: the client was only initialised.
  auto bob = fresh();
  auto r = bob->c->handle_push_payload(as_received(push_of(out), shape::apns));
  ASSERT_TRUE(r);
  auto in = r.value();
  in->set_listener(bob->rec);
  auto declined = in->decline();

  // Held while the session is being made: no not_authenticated.
  sign_in(*bob, "bob");
  EXPECT_EQ(declined.wait_for(0ms), std::future_status::timeout);
  EXPECT_FALSE(in->ended());

  get_within(bob->c->connect_websocket());
  get_within(std::move(declined));
  auto a = alice->rec->wait_for("ended");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->detail, "declined");
  EXPECT_EQ(out->info().ended_by, "bob");
  auto b = bob->rec->wait_for("ended");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->detail, "declined");
  EXPECT_EQ(in->end_result(), call_end_result::declined);
  EXPECT_EQ(bob->rec->count("ringing"), 1u);
  EXPECT_EQ(bob->rec->count("ended"), 1u);
  EXPECT_TRUE(bob->c->ongoing_calls().empty());
}

TEST_F(sdk_push, accept_before_authenticate_is_sent_once_welcomed_and_media_connects) {
  auto alice = connected("alice");
  auto out = dial(*alice, "bob");

  auto bob = fresh();
  auto r = bob->c->handle_push_payload(as_received(push_of(out), shape::fcm));
  ASSERT_TRUE(r);
  auto in = r.value();
  in->set_listener(bob->rec);
  auto accepted = in->accept();
  sign_in(*bob, "bob");
  EXPECT_EQ(accepted.wait_for(0ms), std::future_status::timeout);

  get_within(bob->c->connect_websocket());
  get_within(std::move(accepted));
  EXPECT_TRUE(alice->rec->wait_for("accepted"));
  EXPECT_TRUE(bob->rec->wait_for("accepted"));
  EXPECT_TRUE(alice->rec->wait_for("connected"));
  EXPECT_TRUE(bob->rec->wait_for("connected"));

  // The cancel push the accept caused (reason other_device_accepted) is ignored by this device.
  auto cancel = bob->c->handle_push_payload(
      json::serialize(cancel_push(app_.app_id, out->id(), "bob", "other_device_accepted")));
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel.value(), in);
  EXPECT_FALSE(in->ended());

  get_within(out->end());
  auto b = bob->rec->wait_for("ended");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->detail, "completed");
  EXPECT_EQ(bob->rec->count("ringing"), 1u);
}

TEST_F(sdk_push, held_actions_run_in_order_after_the_welcome) {
  auto alice = connected("alice");
  auto out = dial(*alice, "bob");
  auto bob = fresh();
  auto in = bob->c->handle_push_payload(as_received(push_of(out), shape::bare)).value();
  in->set_listener(bob->rec);
  auto accepted = in->accept();
  auto ended = in->end();
  sign_in(*bob, "bob");
  get_within(bob->c->connect_websocket());
  get_within(std::move(accepted));
  get_within(std::move(ended));
  EXPECT_TRUE(alice->rec->wait_for("accepted"));
  auto a = alice->rec->wait_for("ended");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->detail, "completed");  // accepted first, then ended: not declined
}

TEST_F(sdk_push, a_push_call_that_ended_before_the_connection_ends_with_the_servers_result) {
  auto alice = connected("alice");
  auto out = dial(*alice, "bob");
  auto parley = push_of(out);
  get_within(out->end());  // Alice gives up before Bob's app is up

  // Without an action: the welcome does not list it; the call log says how it ended.
  auto bob = fresh();
  auto quiet = bob->c->handle_push_payload(as_received(parley, shape::fcm)).value();
  quiet->set_listener(bob->rec);
  sign_in(*bob, "bob");
  get_within(bob->c->connect_websocket());
  auto b = bob->rec->wait_for("ended");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->detail, "canceled");
  EXPECT_TRUE(bob->c->ongoing_calls().empty());

  // With a held decline: the server refuses it; the call ends as the server ended it, then the
  // decline fails with the server's error.
  auto phone = fresh();
  auto in = phone->c->handle_push_payload(as_received(parley, shape::apns)).value();
  in->set_listener(phone->rec);
  auto declined = in->decline();
  sign_in(*phone, "bob");
  get_within(phone->c->connect_websocket());
  auto e = error_of(std::move(declined));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::invalid_call_state);
  ASSERT_TRUE(in->ended());  // before the callback
  EXPECT_EQ(in->end_result(), call_end_result::canceled);
  EXPECT_EQ(phone->rec->count("ended"), 1u);
}

TEST_F(sdk_push, a_push_call_accepted_on_another_device_before_the_connection_ends_here) {
  auto alice = connected("alice");
  auto laptop = connected("bob");
  auto out = dial(*alice, "bob");
  auto on_laptop = laptop->rec->wait_for("ringing");
  ASSERT_TRUE(on_laptop);
  get_within(on_laptop->c.lock()->accept());

  auto phone = fresh();
  auto in = phone->c->handle_push_payload(as_received(push_of(out), shape::apns)).value();
  in->set_listener(phone->rec);
  auto accepted = in->accept();
  sign_in(*phone, "bob");
  get_within(phone->c->connect_websocket());
  auto e = error_of(std::move(accepted));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::invalid_call_state);
  EXPECT_EQ(in->end_result(), call_end_result::other_device_accepted);
  // The laptop's call goes on.
  EXPECT_EQ(alice->rec->count("ended"), 0u);
  get_within(out->end());
}

TEST_F(sdk_push, held_actions_fail_with_the_refusal_of_the_authentication) {
  auto alice = connected("alice");
  auto out = dial(*alice, "bob");
  auto bob = fresh();
  auto in = bob->c->handle_push_payload(as_received(push_of(out), shape::fcm)).value();
  auto declined = in->decline();
  auto refused = error_of(bob->c->authenticate({.user_id = "bob", .access_token = "wrong"}));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code(), error_code::invalid_credentials);
  auto e = error_of(std::move(declined));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::invalid_credentials);
  // The call still rings for Bob's other devices and the app can still answer it later.
  EXPECT_FALSE(in->ended());
  EXPECT_EQ(alice->rec->count("ended"), 0u);
  get_within(out->end());
}

// ---------------------------------------------------------------------------------------------
// deauthenticate(unregister_push_tokens)

TEST_F(sdk_push, deauthenticate_can_unregister_the_push_tokens_it_registered) {
  auto listed = [&](const std::string& user_id) {
    auto a = platform_->call("GET", "/users/" + user_id + "/push_tokens");
    EXPECT_EQ(a.status, 200) << a.text;
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& t : a.body.as_object().at("push_tokens").as_array()) {
      const auto& o = t.as_object();
      out.emplace(std::string(o.at("type").as_string()), std::string(o.at("token").as_string()));
    }
    return out;
  };
  using set = std::set<std::pair<std::string, std::string>>;

  // Without the option the tokens stay.
  {
    auto d = fresh();
    sign_in(*d, "bob");
    get_within(d->c->register_push_token("voip-b", push_token_type::apns_voip));
    get_within(d->c->deauthenticate());
    EXPECT_EQ(listed("bob"), (set{{"apns_voip", "voip-b"}}));
  }

  // With it, every token this client registered is removed first, including across a restart
  // of the app (the list is in the state file), one removed meanwhile by the backend, and
  // not the one unregistered already (nor tokens other clients registered).
  test::temp_dir dir;
  {
    auto c = std::make_unique<client>();
    c->init(app_.app_id, test::options_for(server_->url(), dir.path()));
    get_within(c->authenticate({.user_id = "carol", .access_token = token_of("carol")}));
    get_within(c->register_push_token("voip-1", push_token_type::apns_voip));
    get_within(c->register_push_token("apns/1+x", push_token_type::apns));
    get_within(c->register_push_token("fcm:a-b_c/1", push_token_type::fcm));
    get_within(c->register_push_token("fcm-gone", push_token_type::fcm));
    get_within(c->register_push_token("fcm-dropped", push_token_type::fcm));
    get_within(c->unregister_push_token("fcm-dropped", push_token_type::fcm));
  }
  auto other = fresh();
  sign_in(*other, "carol");
  get_within(other->c->register_push_token("other-device", push_token_type::fcm));
  EXPECT_EQ(platform_->call("DELETE", "/users/carol/push_tokens/fcm/fcm-gone").status, 204);
  EXPECT_EQ(listed("carol"), (set{{"apns_voip", "voip-1"},
                                  {"apns", "apns/1+x"},
                                  {"fcm", "fcm:a-b_c/1"},
                                  {"fcm", "other-device"}}));

  client restarted;
  restarted.init(app_.app_id, test::options_for(server_->url(), dir.path()));
  ASSERT_TRUE(restarted.session_key());
  get_within(restarted.deauthenticate(deauth_options{.unregister_push_tokens = true}));
  EXPECT_EQ(listed("carol"), (set{{"fcm", "other-device"}}));
  EXPECT_FALSE(restarted.session_key());
  // The session is over on the server too.
  auto after = error_of(restarted.register_push_token("x", push_token_type::fcm));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->code(), error_code::not_authenticated);

  // The callback form: the other client removes the token it registered.
  std::promise<bool> done;
  other->c->deauthenticate(deauth_options{.unregister_push_tokens = true},
                           [&done](result<void> r) { done.set_value(r.ok()); });
  EXPECT_TRUE(get_within(done.get_future()));
  EXPECT_EQ(listed("carol"), set{});
}

}  // namespace
}  // namespace parley
