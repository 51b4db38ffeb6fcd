// Direct calls through libparley against a real parleyd: dial, ring on every device, accept on
// one, the loopback media engine's offer/answer/candidates, every way a call ends, media state,
// app signals, reconnects and the call log. No sleeps: every wait is on a future or a recorder.

#include <parley/parley.hpp>
#include <parley/testing/loopback_media_engine.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace parley {
namespace {

using namespace std::chrono_literals;
using test::error_of;
using test::get_within;

// The loopback engines a client made, for checking what they exchanged.
struct engine_log {
  std::mutex mu;
  std::vector<std::shared_ptr<loopback_media_engine>> engines;

  media_engine_factory factory() {
    return [this](const call_info& c, const std::vector<ice_server>&) {
      auto e = std::make_shared<loopback_media_engine>(c.call_id);
      std::lock_guard lock(mu);
      engines.push_back(e);
      return e;
    };
  }
  std::shared_ptr<loopback_media_engine> only() {
    std::lock_guard lock(mu);
    return engines.size() == 1 ? engines.front() : nullptr;
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return engines.size();
  }
};

// One signed-in device: its own data dir (so its own device id), a recorder for its incoming
// calls and call events, and loopback media.
struct device {
  test::temp_dir dir;
  engine_log engines;  // outlives the client, whose factory points at it
  std::shared_ptr<test::call_recorder> rec = std::make_shared<test::call_recorder>();
  std::unique_ptr<client> c;
};

class sdk_calls : public ::testing::Test {
 protected:
  void SetUp() override {
    parleyd_ = test::parleyd_path();
    if (parleyd_.empty()) GTEST_SKIP() << "PARLEYD is not set";
    app_ = test::create_app(parleyd_, server_dir_.path(), "calls");
    server_ = std::make_unique<test::server_process>(
        parleyd_, server_dir_.path(), std::vector<std::string>{"--heartbeat-s", "5"});
    platform_ = std::make_unique<test::platform_api>(server_->url(), app_);
  }

  // A device of `user_id`, authenticated; connected unless `connect` is false.
  std::unique_ptr<device> make_device(const std::string& user_id, bool connect = true) {
    if (!tokens_.count(user_id)) tokens_[user_id] = *platform_->create_user(user_id, true);
    auto d = std::make_unique<device>();
    d->c = std::make_unique<client>();
    d->c->init(app_.app_id, test::options_for(server_->url(), d->dir.path()));
    d->c->add_incoming_call_listener(d->rec);
    d->c->set_media_engine_factory(d->engines.factory());
    get_within(d->c->authenticate({.user_id = user_id, .access_token = tokens_[user_id]}));
    if (connect) get_within(d->c->connect_websocket());
    return d;
  }

  // Waits for the ringing of `call_id` on `d` and makes `d`'s recorder its listener.
  std::shared_ptr<call> ringing_on(device& d, const std::string& call_id) {
    for (std::size_t from = 0;;) {
      auto e = d.rec->wait_for("ringing", 20s, from);
      if (!e) return nullptr;
      if (e->call_id == call_id) {
        auto c = e->c.lock();
        if (c) c->set_listener(d.rec);
        return c;
      }
      ++from;
    }
  }

  // A call from `caller` to `callee` accepted by the callee and connected on both ends.
  std::pair<std::shared_ptr<call>, std::shared_ptr<call>> connected_call(device& caller,
                                                                         device& callee) {
    auto out = get_within(caller.c->dial({.callee_id = callee.c->current_user()->user_id,
                                          .is_video = false,
                                          .listener = caller.rec}));
    auto in = ringing_on(callee, out->id());
    if (!in) throw std::runtime_error("the call did not ring");
    get_within(in->accept());
    if (!caller.rec->wait_for("connected") || !callee.rec->wait_for("connected"))
      throw std::runtime_error("the call did not connect");
    return {out, in};
  }

  std::string parleyd_;
  test::temp_dir server_dir_;
  test::app_credentials app_;
  std::unique_ptr<test::server_process> server_;
  std::unique_ptr<test::platform_api> platform_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(sdk_calls, dial_rings_every_device_one_accepts_the_other_ends_and_media_connects) {
  auto alice = make_device("alice");
  auto phone = make_device("bob");
  auto laptop = make_device("bob");
  ASSERT_NE(phone->c->device_id(), laptop->c->device_id());

  auto out = get_within(alice->c->dial({.callee_id = "bob",
                                        .is_video = true,
                                        .custom_items = {{"topic", "lunch"}},
                                        .listener = alice->rec}));
  EXPECT_TRUE(out->is_outgoing());
  EXPECT_EQ(out->peer_id(), "bob");
  EXPECT_EQ(out->info().state, "ringing");
  EXPECT_TRUE(out->info().is_video);
  EXPECT_EQ(out->info().custom_items.at("topic"), "lunch");
  ASSERT_EQ(alice->c->ongoing_calls().size(), 1u);

  auto on_phone = ringing_on(*phone, out->id());
  auto on_laptop = ringing_on(*laptop, out->id());
  ASSERT_TRUE(on_phone);
  ASSERT_TRUE(on_laptop);
  EXPECT_FALSE(on_phone->is_outgoing());
  EXPECT_EQ(on_phone->peer_id(), "alice");
  EXPECT_EQ(on_phone->info().custom_items.at("topic"), "lunch");

  get_within(on_phone->accept());
  EXPECT_TRUE(alice->rec->wait_for("accepted"));
  EXPECT_TRUE(phone->rec->wait_for("accepted"));
  auto other = laptop->rec->wait_for("ended");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->detail, "other_device_accepted");
  EXPECT_TRUE(on_laptop->ended());
  EXPECT_TRUE(laptop->c->ongoing_calls().empty());

  // The loopback engines exchanged offer, answer and candidates; both sides reported media.
  EXPECT_TRUE(alice->rec->wait_for("connected"));
  EXPECT_TRUE(phone->rec->wait_for("connected"));
  EXPECT_TRUE(out->info().connected_at);
  auto caller_engine = alice->engines.only();
  auto callee_engine = phone->engines.only();
  ASSERT_TRUE(caller_engine);
  ASSERT_TRUE(callee_engine);
  EXPECT_EQ(laptop->engines.size(), 0u);
  EXPECT_EQ(caller_engine->local_description(), "v=0 fake offer " + out->id());
  EXPECT_EQ(callee_engine->remote_description(), "v=0 fake offer " + out->id());
  EXPECT_EQ(caller_engine->remote_description(), "v=0 fake answer " + out->id());
  // Bob's engine had Alice's candidate before his answer left (the SDK held it until the
  // offer was applied).
  EXPECT_EQ(callee_engine->remote_candidates(),
            std::vector<std::string>{"candidate:offer fake " + out->id()});

  get_within(out->end());
  auto ended_a = alice->rec->wait_for("ended");
  auto ended_b = phone->rec->wait_for("ended");
  ASSERT_TRUE(ended_a);
  ASSERT_TRUE(ended_b);
  EXPECT_EQ(ended_a->detail, "completed");
  EXPECT_EQ(ended_b->detail, "completed");
  EXPECT_EQ(out->end_result(), call_end_result::completed);
  EXPECT_EQ(out->info().ended_by, "alice");
  EXPECT_TRUE(caller_engine->closed());
  EXPECT_TRUE(callee_engine->closed());
  EXPECT_TRUE(alice->c->ongoing_calls().empty());
  EXPECT_TRUE(phone->c->ongoing_calls().empty());
  EXPECT_EQ(laptop->rec->count("ended"), 1u);  // the real end is not a second on_ended
}

TEST_F(sdk_calls, decline_ends_the_call_as_declined_everywhere) {
  auto alice = make_device("alice");
  auto bob = make_device("bob");
  auto out = get_within(alice->c->dial({.callee_id = "bob", .listener = alice->rec}));
  auto in = ringing_on(*bob, out->id());
  ASSERT_TRUE(in);
  get_within(in->decline());
  auto a = alice->rec->wait_for("ended");
  auto b = bob->rec->wait_for("ended");
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(a->detail, "declined");
  EXPECT_EQ(b->detail, "declined");
  EXPECT_EQ(alice->rec->count("accepted"), 0u);
  EXPECT_EQ(alice->engines.size(), 0u);
  // Too late to accept now.
  auto late = error_of(in->accept());
  ASSERT_TRUE(late);
  EXPECT_EQ(late->code(), error_code::invalid_call_state);
}

TEST_F(sdk_calls, caller_ending_a_ringing_call_cancels_it) {
  auto alice = make_device("alice");
  auto bob = make_device("bob");
  auto out = get_within(alice->c->dial({.callee_id = "bob", .listener = alice->rec}));
  auto in = ringing_on(*bob, out->id());
  ASSERT_TRUE(in);
  get_within(out->end());
  auto a = alice->rec->wait_for("ended");
  auto b = bob->rec->wait_for("ended");
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(a->detail, "canceled");
  EXPECT_EQ(b->detail, "canceled");
  EXPECT_EQ(in->end_result(), call_end_result::canceled);
}

TEST_F(sdk_calls, dial_errors_come_from_the_server) {
  auto alice = make_device("alice");
  auto myself = error_of(alice->c->dial({.callee_id = "alice"}));
  ASSERT_TRUE(myself);
  EXPECT_EQ(myself->code(), error_code::dial_myself);
  auto nobody = error_of(alice->c->dial({.callee_id = "nobody"}));
  ASSERT_TRUE(nobody);
  EXPECT_EQ(nobody->code(), error_code::callee_not_found);

  // Without a connection nothing is sent.
  alice->c->disconnect_websocket();
  auto offline = make_device("carol", false);
  auto e = error_of(offline->c->dial({.callee_id = "alice"}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::network_error);
}

TEST_F(sdk_calls, media_state_and_app_signals_reach_the_peer) {
  auto alice = make_device("alice");
  auto bob = make_device("bob");
  auto [out, in] = connected_call(*alice, *bob);

  EXPECT_TRUE(get_within(in->set_media_state(false, true)));
  auto state = alice->rec->wait_for("media_state");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->detail, "audio=0 video=1");

  // Signals that are not the media flow's go to the listener, as JSON text.
  EXPECT_TRUE(get_within(out->send_signal(R"({"chat":"hi bob","n":[1,2]})")));
  auto signal = bob->rec->wait_for("signal");
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->detail, R"({"chat":"hi bob","n":[1,2]})");

  auto bad = error_of(out->send_signal("not json"));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->code(), error_code::invalid_request);

  // A second media_connected changes nothing.
  get_within(out->report_media_connected());
  get_within(in->end());
  auto a = alice->rec->wait_for("ended");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->detail, "completed");
  EXPECT_EQ(out->info().ended_by, "bob");
}

TEST_F(sdk_calls, a_call_ringing_before_the_connection_rings_from_the_welcome_once) {
  auto alice = make_device("alice");
  auto bob = make_device("bob", false);
  auto out = get_within(alice->c->dial({.callee_id = "bob", .listener = alice->rec}));

  get_within(bob->c->connect_websocket());
  auto in = ringing_on(*bob, out->id());
  ASSERT_TRUE(in);
  EXPECT_EQ(in->info().state, "ringing");

  // Connecting again lists it again; it does not ring twice.
  bob->c->disconnect_websocket();
  get_within(bob->c->connect_websocket());
  // A request on the io thread: the welcome's handling has finished when it answers.
  get_within(bob->c->call_log({}));
  EXPECT_EQ(bob->rec->count("ringing"), 1u);

  get_within(in->accept());
  EXPECT_TRUE(alice->rec->wait_for("connected"));
  EXPECT_TRUE(bob->rec->wait_for("connected"));
}

TEST_F(sdk_calls, a_callee_that_reconnects_within_the_grace_keeps_the_call) {
  auto alice = make_device("alice");
  auto bob = make_device("bob");
  auto [out, in] = connected_call(*alice, *bob);

  bob->c->disconnect_websocket();
  EXPECT_TRUE(alice->rec->wait_for("reconnecting"));
  get_within(bob->c->connect_websocket());
  EXPECT_TRUE(alice->rec->wait_for("reconnected"));
  ASSERT_EQ(bob->c->ongoing_calls().size(), 1u);
  EXPECT_EQ(bob->c->ongoing_calls().front(), in);

  // The rebound connection carries the call again.
  EXPECT_TRUE(get_within(in->set_media_state(true, false)));
  EXPECT_TRUE(alice->rec->wait_for("media_state"));
  get_within(out->end());
  auto b = bob->rec->wait_for("ended");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->detail, "completed");
}

TEST_F(sdk_calls, the_call_log_pages_newest_first) {
  auto alice = make_device("alice");
  auto bob = make_device("bob");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto out = get_within(alice->c->dial({.callee_id = "bob"}));
    get_within(out->end());
    ids.push_back(out->id());
  }
  auto first = get_within(alice->c->call_log({.limit = 2}));
  ASSERT_EQ(first.calls.size(), 2u);
  ASSERT_TRUE(first.next);
  auto second = get_within(alice->c->call_log({.limit = 2, .next = first.next}));
  ASSERT_EQ(second.calls.size(), 1u);
  EXPECT_FALSE(second.next);
  std::set<std::string> listed{first.calls[0].call_id, first.calls[1].call_id,
                               second.calls[0].call_id};
  EXPECT_EQ(listed, std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_GE(first.calls[0].created_at, first.calls[1].created_at);
  EXPECT_GE(first.calls[1].created_at, second.calls[0].created_at);
  EXPECT_EQ(second.calls[0].end_result, "canceled");

  // The callee sees the same calls.
  EXPECT_EQ(get_within(bob->c->call_log({.limit = 100})).calls.size(), 3u);
  auto bad = error_of(alice->c->call_log({.limit = 0}));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->code(), error_code::invalid_request);
}

TEST_F(sdk_calls, a_call_outlives_its_client_and_then_fails_with_network_error) {
  std::shared_ptr<call> kept;
  {
    auto alice = make_device("alice");
    auto bob = make_device("bob");
    kept = get_within(alice->c->dial({.callee_id = "bob", .listener = alice->rec}));
    ASSERT_TRUE(ringing_on(*bob, kept->id()));
  }
  EXPECT_FALSE(kept->id().empty());
  auto e = error_of(kept->end());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::network_error);
  auto s = error_of(kept->send_signal("{}"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->code(), error_code::network_error);
}

TEST_F(sdk_calls, without_its_client_a_callback_form_fails_at_once_as_its_future_form_does) {
  std::shared_ptr<call> kept;
  {
    auto alice = make_device("alice");
    auto bob = make_device("bob");
    kept = get_within(alice->c->dial({.callee_id = "bob", .listener = alice->rec}));
    ASSERT_TRUE(ringing_on(*bob, kept->id()));
  }
  // Each callback form answers before it returns, on this thread (there is no io thread left).
  auto caller = std::this_thread::get_id();
  std::vector<error_code> codes;
  auto record = [&](const auto& outcome) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    EXPECT_FALSE(outcome.ok());
    if (!outcome.ok()) codes.push_back(outcome.err().code());
  };
  kept->accept([&](result<void> r) { record(r); });
  kept->decline([&](result<void> r) { record(r); });
  kept->end([&](result<void> r) { record(r); });
  kept->report_media_connected([&](result<void> r) { record(r); });
  kept->send_signal("{}", [&](result<bool> r) { record(r); });
  kept->set_media_state(true, false, [&](result<bool> r) { record(r); });
  EXPECT_EQ(codes, std::vector<error_code>(6, error_code::network_error));
  // The future forms see the same error.
  std::vector<std::optional<error>> futures{error_of(kept->accept()), error_of(kept->decline()),
                                            error_of(kept->report_media_connected()),
                                            error_of(kept->set_media_state(true, false))};
  for (const auto& e : futures) {
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), error_code::network_error);
  }
  // A bad signal is refused before the client is looked for, in both forms.
  std::optional<error> bad;
  kept->send_signal("not json", [&](result<bool> r) {
    if (!r) bad = r.err();
  });
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->code(), error_code::invalid_request);
  auto bad_future = error_of(kept->send_signal("not json"));
  ASSERT_TRUE(bad_future);
  EXPECT_EQ(bad_future->code(), error_code::invalid_request);
}

}  // namespace
}  // namespace parley
