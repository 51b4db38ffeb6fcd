#include "services/call_machine.hpp"

#include <algorithm>

namespace parley::services::calls {

namespace {

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

failure forbidden(std::string why) {
  return fail(errc::forbidden, std::move(why));
}
failure wrong_state(const call_record& c) {
  return fail(errc::invalid_call_state, "the call is " + std::string(to_string(c.state)));
}

outcome unchanged(const call_record& c) {
  return outcome{c, {}, false};
}

// Ends the call: every connection of both users hears `ended`.
outcome finish(call_record c, end_result r, std::optional<std::string> by, millis now) {
  c.state = call_state::ended;
  c.result = r;
  c.ended_by = std::move(by);
  c.ended_at = now;
  c.deadline.reset();
  c.caller.lost_at.reset();
  c.callee.lost_at.reset();
  return outcome{std::move(c), {{audience::both_all, effect_type::ended}}, true};
}

audience bound_of(bool caller_side) {
  return caller_side ? audience::caller_bound : audience::callee_bound;
}

bool is_party(const call_record& c, const std::string& user) {
  return user == c.caller_id || user == c.callee_id;
}

}  // namespace

call_record dial(std::string call_id, std::string app_id, std::string caller_id,
                 std::string callee_id, bool is_video, store::string_map custom_items,
                 store::call_binding caller, millis ringing_timeout_ms,
                 millis connection_timeout_ms, millis grace_ms, millis now) {
  call_record c;
  c.call_id = std::move(call_id);
  c.app_id = std::move(app_id);
  c.caller_id = std::move(caller_id);
  c.callee_id = std::move(callee_id);
  c.is_video = is_video;
  c.state = call_state::ringing;
  c.created_at = now;
  c.custom_items = std::move(custom_items);
  c.caller = std::move(caller);
  c.ringing_timeout_ms = ringing_timeout_ms;
  c.connection_timeout_ms = connection_timeout_ms;
  c.grace_ms = grace_ms;
  c.deadline = next_deadline(c);
  c.version = 1;
  return c;
}

std::vector<effect> dial_effects() {
  return {{audience::callee_all, effect_type::ringing}};
}

std::optional<millis> next_deadline(const call_record& c) {
  if (c.state == call_state::ended) return std::nullopt;
  std::optional<millis> d;
  auto consider = [&](millis t) { d = d ? std::min(*d, t) : t; };
  if (c.state == call_state::ringing) consider(c.created_at + c.ringing_timeout_ms);
  if (c.state == call_state::accepted && c.accepted_at)
    consider(*c.accepted_at + c.connection_timeout_ms);
  if (c.caller.lost_at) consider(*c.caller.lost_at + c.grace_ms);
  if (c.callee.lost_at) consider(*c.callee.lost_at + c.grace_ms);
  return d;
}

result<std::string> relay_target(const call_record& c, const std::string& connection_id) {
  bool from_caller = !connection_id.empty() && c.caller.connection_id == connection_id;
  bool from_callee = !connection_id.empty() && c.callee.connection_id == connection_id;
  if (!from_caller && !from_callee)
    return forbidden("only the two connections bound to the call may do this");
  if (c.state != call_state::accepted && c.state != call_state::connected) return wrong_state(c);
  return from_caller ? c.callee.connection_id : c.caller.connection_id;
}

result<outcome> apply(const call_record& call, const event& ev, millis now) {
  auto r = std::visit(
      overloaded{
          [&](const accept_event& e) -> result<outcome> {
            if (e.user_id != call.callee_id) return forbidden("only the callee may accept");
            if (call.state != call_state::ringing) return wrong_state(call);
            auto c = call;
            c.state = call_state::accepted;
            c.accepted_at = now;
            c.callee = {e.connection_id, e.device_id, std::nullopt};
            return outcome{std::move(c),
                           {{audience::caller_bound, effect_type::accepted},
                            {audience::callee_others, effect_type::ended, true, e.connection_id}},
                           true};
          },
          [&](const decline_event& e) -> result<outcome> {
            if (e.user_id != call.callee_id) return forbidden("only the callee may decline");
            if (call.state != call_state::ringing) return wrong_state(call);
            return finish(call, end_result::declined, e.user_id, now);
          },
          [&](const end_event& e) -> result<outcome> {
            if (!is_party(call, e.user_id)) return forbidden("not a party to this call");
            if (call.state == call_state::ended) return wrong_state(call);
            end_result res = end_result::completed;
            if (call.state == call_state::ringing)
              res = e.user_id == call.caller_id ? end_result::canceled : end_result::declined;
            return finish(call, res, e.user_id, now);
          },
          [&](const media_connected_event& e) -> result<outcome> {
            bool bound =
                !e.connection_id.empty() && (call.caller.connection_id == e.connection_id ||
                                             call.callee.connection_id == e.connection_id);
            if (!bound) return forbidden("only the two connections bound to the call may do this");
            if (call.state == call_state::connected) return unchanged(call);
            if (call.state != call_state::accepted) return wrong_state(call);
            auto c = call;
            c.state = call_state::connected;
            c.connected_at = now;
            return outcome{std::move(c),
                           {{audience::caller_bound, effect_type::connected},
                            {audience::callee_bound, effect_type::connected}},
                           true};
          },
          [&](const timer_event&) -> result<outcome> {
            if (call.state == call_state::ended) return unchanged(call);
            auto grace_over = [&](const store::call_binding& b) {
              return b.lost_at && *b.lost_at + call.grace_ms <= now;
            };
            if (grace_over(call.caller) || grace_over(call.callee))
              return finish(call, end_result::connection_lost, std::nullopt, now);
            if (call.state == call_state::ringing &&
                call.created_at + call.ringing_timeout_ms <= now)
              return finish(call, end_result::no_answer, std::nullopt, now);
            if (call.state == call_state::accepted && call.accepted_at &&
                *call.accepted_at + call.connection_timeout_ms <= now)
              return finish(call, end_result::timed_out, std::nullopt, now);
            return unchanged(call);
          },
          [&](const connection_lost_event& e) -> result<outcome> {
            if (call.state == call_state::ended || e.connection_id.empty()) return unchanged(call);
            bool caller_side = call.caller.connection_id == e.connection_id;
            bool callee_side = call.callee.connection_id == e.connection_id;
            if (!caller_side && !callee_side) return unchanged(call);
            auto& side = caller_side ? call.caller : call.callee;
            if (side.lost_at) return unchanged(call);
            if (call.grace_ms <= 0)
              return finish(call, end_result::connection_lost, std::nullopt, now);
            auto c = call;
            (caller_side ? c.caller : c.callee).lost_at = now;
            return outcome{
                std::move(c), {{bound_of(!caller_side), effect_type::peer_reconnecting}}, true};
          },
          [&](const rebind_event& e) -> result<outcome> {
            if (call.state == call_state::ended || e.device_id.empty()) return unchanged(call);
            // The same user and device on a new connection takes the binding over: after a
            // drop (within the grace), or when it replaced the old connection (4004), in which
            // case the old one's close must no longer count.
            auto matches = [&](const store::call_binding& b, const std::string& user) {
              return e.user_id == user && b.device_id == e.device_id &&
                     b.connection_id != e.connection_id;
            };
            bool caller_side = matches(call.caller, call.caller_id);
            bool callee_side = !caller_side && matches(call.callee, call.callee_id);
            if (!caller_side && !callee_side) return unchanged(call);
            auto c = call;
            auto& side = caller_side ? c.caller : c.callee;
            bool was_lost = side.lost_at.has_value();
            side.connection_id = e.connection_id;
            side.lost_at.reset();
            outcome o{std::move(c), {}, true};
            if (was_lost)
              o.effects.push_back({bound_of(!caller_side), effect_type::peer_reconnected});
            return o;
          },
          [&](const party_removed_event& e) -> result<outcome> {
            if (call.state == call_state::ended || !is_party(call, e.user_id))
              return unchanged(call);
            return finish(call, end_result::connection_lost, std::nullopt, now);
          },
          [&](const restart_event&) -> result<outcome> {
            if (call.state == call_state::ended) return unchanged(call);
            return finish(call, end_result::unknown, std::nullopt, now);
          },
      },
      ev);
  if (r && r->changed) {
    r->next.deadline = next_deadline(r->next);
    r->next.version = call.version + 1;
  }
  return r;
}

}  // namespace parley::services::calls
