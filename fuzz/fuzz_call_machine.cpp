// The direct-call state machine (services/call_machine), pure: an input is a random sequence
// of events with times, applied to one dialed call. Bytes: three for the call's ringing,
// connection and reconnect-grace timeouts (seconds), then three per event: the kind, its
// argument (which user, device or connection) and how far the clock moves before it.
// Events: accept from one of four callee devices (or from the caller), decline, end from
// either party or a stranger, media_connected, a timer, a dropped connection, a rebind, a
// party removed, a restart, and relay_target queries.
//
// Invariants (a hard abort on violation):
// - exactly one accept wins: at most one accept succeeds, and the callee's binding is the
//   winner's until the same device rebinds;
// - every call ends once: at most one change into `ended`, with a valid end result for the
//   state it ended from, ended_at set and no deadline left;
// - no event takes effect after `ended`;
// - versions only grow, by one per change; an unchanged outcome is the same call;
// - states only move forward (ringing, accepted, connected, ended);
// - a timer at or past the deadline always changes the call, and the stored deadline is
//   next_deadline() of the call;
// - refusals are forbidden or invalid_call_state and change nothing;
// - relay_target answers only the two bound connections of an accepted or connected call.
#include "services/call_machine.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

namespace calls = parley::services::calls;
using calls::call_state;
using calls::end_result;
using parley::errc;
using parley::millis;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_call_machine invariant violated: %s\n", what);
  std::abort();
}

class reader {
 public:
  reader(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  bool more() const { return i_ < n_; }
  std::uint8_t next() { return i_ < n_ ? d_[i_++] : 0; }

 private:
  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t i_ = 0;
};

const std::string caller = "caller";
const std::string callee = "callee";
const std::string users[] = {caller, callee, "stranger"};
const std::string devices[] = {"d0", "d1", "d2", "d3"};
const std::string connections[] = {"cc", "c0", "c1", "c2", "c3", "n0", "n1", "n2", "n3", ""};

bool valid_result(call_state from, end_result r) {
  switch (from) {
    case call_state::ringing:
      return r == end_result::canceled || r == end_result::declined || r == end_result::no_answer ||
             r == end_result::connection_lost || r == end_result::unknown;
    case call_state::accepted:
      return r == end_result::completed || r == end_result::timed_out ||
             r == end_result::connection_lost || r == end_result::unknown;
    case call_state::connected:
      return r == end_result::completed || r == end_result::connection_lost ||
             r == end_result::unknown;
    case call_state::ended:
      return false;
  }
  return false;
}

bool same(const calls::call_record& a, const calls::call_record& b) {
  return a.state == b.state && a.version == b.version && a.result == b.result &&
         a.accepted_at == b.accepted_at && a.connected_at == b.connected_at &&
         a.ended_at == b.ended_at && a.ended_by == b.ended_by && a.deadline == b.deadline &&
         a.caller.connection_id == b.caller.connection_id &&
         a.callee.connection_id == b.callee.connection_id && a.caller.lost_at == b.caller.lost_at &&
         a.callee.lost_at == b.callee.lost_at;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  reader in(data, size);
  millis now = 1'700'000'000'000;
  millis ringing = (in.next() % 120 + 1) * 1000LL;
  millis connecting = (in.next() % 120 + 1) * 1000LL;
  millis grace = (in.next() % 61) * 1000LL;  // 0: no reconnect grace
  auto call = calls::dial("call-1", "app", caller, callee, false, {}, {"cc", "dc", std::nullopt},
                          ringing, connecting, grace, now);
  check(call.state == call_state::ringing && call.version == 1, "dial: a ringing call, version 1");
  check(call.deadline == calls::next_deadline(call), "dial: deadline");

  int accepts = 0, ends = 0;
  std::string winner_device;
  for (int steps = 0; in.more() && steps < 256; ++steps) {
    auto kind = in.next() % 10;
    auto arg = in.next();
    // Mostly small steps, sometimes past every timeout.
    auto dt = in.next();
    now += dt < 200 ? dt * 100LL : (dt - 199) * 10'000LL;

    if (kind == 9) {
      const auto& conn = connections[arg % std::size(connections)];
      auto r = calls::relay_target(call, conn);
      if (r) {
        check(call.state == call_state::accepted || call.state == call_state::connected,
              "relay_target answered for a call neither accepted nor connected");
        check(!conn.empty() &&
                  (conn == call.caller.connection_id || conn == call.callee.connection_id),
              "relay_target answered an unbound connection");
        check(*r == (conn == call.caller.connection_id ? call.callee.connection_id
                                                       : call.caller.connection_id),
              "relay_target named the wrong peer");
      }
      continue;
    }

    calls::event ev;
    switch (kind) {
      case 0: {
        auto d = arg % 4;
        ev = calls::accept_event{arg & 0x80 ? caller : callee, connections[1 + d], devices[d]};
        break;
      }
      case 1:
        ev = calls::decline_event{users[arg % 3]};
        break;
      case 2:
        ev = calls::end_event{users[arg % 3]};
        break;
      case 3:
        ev = calls::media_connected_event{connections[arg % std::size(connections)]};
        break;
      case 4:
        ev = calls::timer_event{};
        break;
      case 5:
        ev = calls::connection_lost_event{connections[arg % std::size(connections)]};
        break;
      case 6: {
        // The same user and device on a new connection ("n0".."n3"), or a mismatch.
        bool caller_side = arg & 0x80;
        auto d = arg % 4;
        ev = calls::rebind_event{caller_side ? caller : callee,
                                 caller_side ? (arg & 0x40 ? "dc" : "dx") : devices[d],
                                 connections[5 + (arg >> 2) % 4]};
        break;
      }
      case 7:
        ev = calls::party_removed_event{users[arg % 3]};
        break;
      default:
        ev = calls::restart_event{};
        break;
    }

    auto r = calls::apply(call, ev, now);
    if (!r) {
      check(r.error().code == errc::forbidden || r.error().code == errc::invalid_call_state,
            "a refusal with a code other than forbidden or invalid_call_state");
      continue;
    }
    const auto& next = r->next;
    if (std::holds_alternative<calls::timer_event>(ev) && call.state != call_state::ended &&
        call.deadline && now >= *call.deadline)
      check(r->changed, "a timer past the deadline changed nothing");
    if (!r->changed) {
      check(same(next, call), "an unchanged outcome differs from the call");
      check(r->effects.empty(), "an unchanged outcome has effects");
      continue;
    }
    check(call.state != call_state::ended, "an event took effect after ended");
    check(next.version == call.version + 1, "a change did not bump the version by one");
    check(static_cast<int>(next.state) >= static_cast<int>(call.state), "a state went backwards");
    check(next.deadline == calls::next_deadline(next), "the deadline is not next_deadline()");
    if (call.state == call_state::ringing && next.state == call_state::accepted) {
      check(++accepts == 1, "a second accept won");
      check(std::holds_alternative<calls::accept_event>(ev), "accepted without an accept");
      winner_device = next.callee.device_id;
    }
    if (accepts == 1 && next.state != call_state::ended)
      check(next.callee.device_id == winner_device,
            "the callee's binding moved to another device than the one that accepted");
    if (next.state == call_state::connected)
      check(next.connected_at.has_value() && next.accepted_at.has_value(),
            "connected without accepted_at and connected_at");
    if (next.state == call_state::ended) {
      check(++ends == 1, "a call ended twice");
      check(valid_result(call.state, next.result), "an end result invalid for the state");
      check(next.ended_at == now && !next.deadline, "ended without ended_at or with a deadline");
      bool told = false;
      for (const auto& e : r->effects)
        told = told || (e.to == calls::audience::both_all && e.type == calls::effect_type::ended);
      check(told, "ended without telling both users");
    }
    call = next;
  }
  return 0;
}
