// The call machine, transition by transition: every legal move, every end result, and every
// illegal request with its error.
#include "services/call_machine.hpp"

#include <gtest/gtest.h>

namespace parley::services::calls {
namespace {

constexpr millis t0 = 1'000'000;
constexpr millis ring = 60'000, connect = 30'000, grace = 10'000;

call_record ringing_call() {
  return dial("11111111-1111-4111-8111-111111111111", "app", "alice", "bob", true, {},
              {"conn-a", "dev-a", std::nullopt}, ring, connect, grace, t0);
}

outcome must(const result<outcome>& r) {
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : outcome{};
}

call_record accepted_call(millis at = t0 + 1000) {
  return must(apply(ringing_call(), accept_event{"bob", "conn-b", "dev-b"}, at)).next;
}

call_record connected_call(millis at = t0 + 2000) {
  return must(apply(accepted_call(), media_connected_event{"conn-a"}, at)).next;
}

bool has_effect(const outcome& o, audience to, const std::string& type) {
  for (const auto& e : o.effects)
    if (e.to == to && parley::to_string(e.type) == type) return true;
  return false;
}

errc error_of(const result<outcome>& r) {
  EXPECT_FALSE(r);
  return r ? errc::internal : r.error().code;
}

TEST(call_machine, dial_rings_every_callee_device_and_sets_the_ringing_deadline) {
  auto c = ringing_call();
  EXPECT_EQ(c.state, call_state::ringing);
  EXPECT_EQ(c.deadline, t0 + ring);
  EXPECT_EQ(c.version, 1);
  auto effects = dial_effects();
  ASSERT_EQ(effects.size(), 1u);
  EXPECT_EQ(effects[0].to, audience::callee_all);
  EXPECT_EQ(effects[0].type, effect_type::ringing);
}

TEST(call_machine, accept_binds_the_callee_and_tells_caller_and_other_devices) {
  auto o = must(apply(ringing_call(), accept_event{"bob", "conn-b", "dev-b"}, t0 + 5));
  EXPECT_EQ(o.next.state, call_state::accepted);
  EXPECT_EQ(o.next.accepted_at, t0 + 5);
  EXPECT_EQ(o.next.callee.connection_id, "conn-b");
  EXPECT_EQ(o.next.deadline, t0 + 5 + connect);
  EXPECT_EQ(o.next.version, 2);
  EXPECT_TRUE(has_effect(o, audience::caller_bound, "accepted"));
  ASSERT_TRUE(has_effect(o, audience::callee_others, "ended"));
  for (const auto& e : o.effects)
    if (e.to == audience::callee_others) {
      EXPECT_TRUE(e.other_device_copy);
      EXPECT_EQ(e.except_connection, "conn-b");
    }
}

TEST(call_machine, accept_by_anyone_but_the_callee_is_forbidden) {
  EXPECT_EQ(error_of(apply(ringing_call(), accept_event{"alice", "conn-a", "dev-a"}, t0)),
            errc::forbidden);
  EXPECT_EQ(error_of(apply(ringing_call(), accept_event{"eve", "conn-e", "dev-e"}, t0)),
            errc::forbidden);
}

TEST(call_machine, accept_after_other_device_accepted_fails) {
  EXPECT_EQ(error_of(apply(accepted_call(), accept_event{"bob", "conn-b2", "dev-b2"}, t0 + 2)),
            errc::invalid_call_state);
}

TEST(call_machine, decline_ends_declined_for_everyone) {
  auto o = must(apply(ringing_call(), decline_event{"bob"}, t0 + 3));
  EXPECT_EQ(o.next.state, call_state::ended);
  EXPECT_EQ(o.next.result, end_result::declined);
  EXPECT_EQ(o.next.ended_by, "bob");
  EXPECT_EQ(o.next.ended_at, t0 + 3);
  EXPECT_FALSE(o.next.deadline);
  EXPECT_TRUE(has_effect(o, audience::both_all, "ended"));
}

TEST(call_machine, decline_by_caller_is_forbidden_and_after_accept_is_invalid_state) {
  EXPECT_EQ(error_of(apply(ringing_call(), decline_event{"alice"}, t0)), errc::forbidden);
  EXPECT_EQ(error_of(apply(accepted_call(), decline_event{"bob"}, t0 + 2)),
            errc::invalid_call_state);
}

TEST(call_machine, caller_ending_a_ringing_call_cancels_it) {
  auto o = must(apply(ringing_call(), end_event{"alice"}, t0 + 1));
  EXPECT_EQ(o.next.result, end_result::canceled);
  EXPECT_EQ(o.next.ended_by, "alice");
}

TEST(call_machine, callee_ending_a_ringing_call_declines_it) {
  EXPECT_EQ(must(apply(ringing_call(), end_event{"bob"}, t0 + 1)).next.result,
            end_result::declined);
}

TEST(call_machine, ending_an_accepted_or_connected_call_completes_it) {
  EXPECT_EQ(must(apply(accepted_call(), end_event{"alice"}, t0 + 3)).next.result,
            end_result::completed);
  auto o = must(apply(connected_call(), end_event{"bob"}, t0 + 90'000));
  EXPECT_EQ(o.next.result, end_result::completed);
  EXPECT_EQ(o.next.ended_by, "bob");
  EXPECT_EQ(o.next.ended_at, t0 + 90'000);
}

TEST(call_machine, end_by_a_stranger_is_forbidden_and_end_after_end_is_invalid_state) {
  EXPECT_EQ(error_of(apply(ringing_call(), end_event{"eve"}, t0)), errc::forbidden);
  auto ended = must(apply(ringing_call(), end_event{"alice"}, t0)).next;
  EXPECT_EQ(error_of(apply(ended, end_event{"alice"}, t0 + 1)), errc::invalid_call_state);
}

TEST(call_machine, media_connected_starts_billing_once) {
  auto o = must(apply(accepted_call(), media_connected_event{"conn-b"}, t0 + 1500));
  EXPECT_EQ(o.next.state, call_state::connected);
  EXPECT_EQ(o.next.connected_at, t0 + 1500);
  EXPECT_FALSE(o.next.deadline);
  EXPECT_TRUE(has_effect(o, audience::caller_bound, "connected"));
  EXPECT_TRUE(has_effect(o, audience::callee_bound, "connected"));
  auto again = must(apply(o.next, media_connected_event{"conn-a"}, t0 + 9000));
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.next.connected_at, t0 + 1500);
}

TEST(call_machine, media_connected_needs_a_bound_connection_and_an_accepted_call) {
  EXPECT_EQ(error_of(apply(accepted_call(), media_connected_event{"conn-x"}, t0)), errc::forbidden);
  EXPECT_EQ(error_of(apply(ringing_call(), media_connected_event{"conn-a"}, t0)),
            errc::invalid_call_state);
}

TEST(call_machine, relay_goes_only_between_the_bound_connections) {
  auto c = accepted_call();
  EXPECT_EQ(*relay_target(c, "conn-a"), "conn-b");
  EXPECT_EQ(*relay_target(c, "conn-b"), "conn-a");
  EXPECT_EQ(relay_target(c, "conn-b2").error().code, errc::forbidden);
  EXPECT_EQ(relay_target(c, "").error().code, errc::forbidden);
  EXPECT_EQ(relay_target(ringing_call(), "conn-a").error().code, errc::invalid_call_state);
}

TEST(call_machine, ringing_timeout_ends_no_answer_and_not_before) {
  auto early = must(apply(ringing_call(), timer_event{}, t0 + ring - 1));
  EXPECT_FALSE(early.changed);
  auto o = must(apply(ringing_call(), timer_event{}, t0 + ring));
  EXPECT_EQ(o.next.result, end_result::no_answer);
  EXPECT_FALSE(o.next.ended_by);
}

TEST(call_machine, connection_timeout_ends_timed_out) {
  auto c = accepted_call(t0 + 1000);
  EXPECT_FALSE(must(apply(c, timer_event{}, t0 + 1000 + connect - 1)).changed);
  auto o = must(apply(c, timer_event{}, t0 + 1000 + connect));
  EXPECT_EQ(o.next.result, end_result::timed_out);
}

TEST(call_machine, a_connected_call_has_no_timer) {
  auto c = connected_call();
  EXPECT_FALSE(c.deadline);
  EXPECT_FALSE(must(apply(c, timer_event{}, t0 + 10'000'000)).changed);
}

TEST(call_machine, a_dropped_bound_connection_holds_the_call_for_the_grace) {
  auto o = must(apply(connected_call(), connection_lost_event{"conn-a"}, t0 + 5000));
  EXPECT_EQ(o.next.state, call_state::connected);
  EXPECT_EQ(o.next.caller.lost_at, t0 + 5000);
  EXPECT_EQ(o.next.deadline, t0 + 5000 + grace);
  EXPECT_TRUE(has_effect(o, audience::callee_bound, "peer_reconnecting"));
  EXPECT_FALSE(must(apply(o.next, timer_event{}, t0 + 5000 + grace - 1)).changed);
  auto lost = must(apply(o.next, timer_event{}, t0 + 5000 + grace));
  EXPECT_EQ(lost.next.result, end_result::connection_lost);
  EXPECT_FALSE(lost.next.ended_by);
}

TEST(call_machine, the_same_device_coming_back_rebinds_the_call) {
  auto dropped = must(apply(connected_call(), connection_lost_event{"conn-b"}, t0 + 5000)).next;
  auto o = must(apply(dropped, rebind_event{"bob", "dev-b", "conn-b-new"}, t0 + 6000));
  EXPECT_EQ(o.next.callee.connection_id, "conn-b-new");
  EXPECT_FALSE(o.next.callee.lost_at);
  EXPECT_FALSE(o.next.deadline);
  EXPECT_TRUE(has_effect(o, audience::caller_bound, "peer_reconnected"));
  EXPECT_EQ(*relay_target(o.next, "conn-a"), "conn-b-new");
}

TEST(call_machine, another_device_of_the_user_does_not_rebind) {
  auto dropped = must(apply(connected_call(), connection_lost_event{"conn-b"}, t0 + 5000)).next;
  EXPECT_FALSE(must(apply(dropped, rebind_event{"bob", "dev-other", "c"}, t0 + 6000)).changed);
  EXPECT_FALSE(must(apply(dropped, rebind_event{"alice", "dev-b", "c"}, t0 + 6000)).changed);
}

TEST(call_machine, a_replacing_connection_takes_the_binding_so_the_old_close_is_ignored) {
  auto c = connected_call();
  auto o = must(apply(c, rebind_event{"alice", "dev-a", "conn-a2"}, t0 + 3000));
  EXPECT_EQ(o.next.caller.connection_id, "conn-a2");
  EXPECT_TRUE(o.effects.empty());
  EXPECT_FALSE(must(apply(o.next, connection_lost_event{"conn-a"}, t0 + 3001)).changed);
}

TEST(call_machine, zero_grace_ends_at_once) {
  auto c = connected_call();
  c.grace_ms = 0;
  auto o = must(apply(c, connection_lost_event{"conn-a"}, t0 + 5000));
  EXPECT_EQ(o.next.result, end_result::connection_lost);
}

TEST(call_machine, an_unbound_connection_dropping_changes_nothing) {
  EXPECT_FALSE(must(apply(ringing_call(), connection_lost_event{"conn-b"}, t0)).changed);
}

TEST(call_machine, a_removed_party_ends_the_call_connection_lost) {
  auto o = must(apply(connected_call(), party_removed_event{"bob"}, t0 + 4000));
  EXPECT_EQ(o.next.result, end_result::connection_lost);
  EXPECT_FALSE(must(apply(connected_call(), party_removed_event{"eve"}, t0)).changed);
}

TEST(call_machine, restart_ends_every_unfinished_call_unknown) {
  for (auto c : {ringing_call(), accepted_call(), connected_call()}) {
    auto o = must(apply(c, restart_event{}, t0 + 7000));
    EXPECT_EQ(o.next.result, end_result::unknown);
    EXPECT_FALSE(o.next.ended_by);
  }
  auto ended = must(apply(ringing_call(), end_event{"alice"}, t0)).next;
  EXPECT_FALSE(must(apply(ended, restart_event{}, t0 + 1)).changed);
}

TEST(call_machine, nothing_moves_an_ended_call) {
  auto ended = must(apply(connected_call(), end_event{"alice"}, t0 + 3000)).next;
  std::vector<event> events{accept_event{"bob", "c", "d"}, decline_event{"bob"}, end_event{"bob"},
                            media_connected_event{"conn-a"}};
  for (const auto& ev : events)
    EXPECT_EQ(error_of(apply(ended, ev, t0 + 4000)), errc::invalid_call_state);
  for (const auto& ev : std::vector<event>{timer_event{}, connection_lost_event{"conn-a"},
                                           rebind_event{"alice", "dev-a", "x"},
                                           party_removed_event{"alice"}, restart_event{}})
    EXPECT_FALSE(must(apply(ended, ev, t0 + 4000)).changed);
}

// Every reachable state × every event: apply never crashes, a change always bumps the version
// by one, and an ended call always has ended_at, a result and no deadline.
TEST(call_machine, invariants_hold_over_all_states_and_events) {
  std::vector<call_record> states{ringing_call(), accepted_call(), connected_call()};
  states.push_back(must(apply(states[2], connection_lost_event{"conn-a"}, t0 + 3000)).next);
  states.push_back(must(apply(states[0], end_event{"alice"}, t0 + 1)).next);
  std::vector<std::string> users{"alice", "bob", "eve"};
  std::vector<std::string> conns{"conn-a", "conn-b", "conn-x", ""};
  for (const auto& s : states) {
    std::vector<event> events{timer_event{}, restart_event{}};
    for (const auto& u : users) {
      events.push_back(decline_event{u});
      events.push_back(end_event{u});
      events.push_back(party_removed_event{u});
      for (const auto& c : conns) {
        events.push_back(accept_event{u, c, "dev-" + c});
        events.push_back(rebind_event{u, "dev-a", c});
      }
    }
    for (const auto& c : conns) {
      events.push_back(media_connected_event{c});
      events.push_back(connection_lost_event{c});
    }
    for (millis now : {t0, t0 + 20'000, t0 + 200'000}) {
      for (const auto& ev : events) {
        auto r = apply(s, ev, now);
        if (!r) continue;
        if (r->changed) {
          EXPECT_EQ(r->next.version, s.version + 1);
        }
        if (r->next.state == call_state::ended) {
          EXPECT_TRUE(r->next.ended_at);
          EXPECT_NE(r->next.result, end_result::none);
          EXPECT_FALSE(r->next.deadline);
        } else {
          EXPECT_TRUE(r->next.deadline || r->next.state == call_state::connected);
        }
      }
    }
  }
}

}  // namespace
}  // namespace parley::services::calls
