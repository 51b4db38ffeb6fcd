// Calls from a push: the `parley` object of an incoming-call or cancel push (docs/protocol.md,
// "Push notifications"), the ringing call it makes before the client has a session or a
// connection, and the accept/decline/end held for such a call until the WebSocket is welcomed
// (docs/sdk-cpp.md, "Calls from a push").
//
// Everything here runs on the io thread, except the two public entry points.

#include "impl/client_impl.hpp"

#include <algorithm>
#include <chrono>

namespace parley::detail {

namespace {

// How long after a push call's ringing deadline the SDK ends it by itself when the server has not
// listed it to this client: the server's timer sweep and its `ended` get this long to arrive.
constexpr std::chrono::milliseconds deadline_grace{2'000};

// How much of the call log is searched for the end of a push call the server no longer lists.
// The call is recent (its push arrived before its ringing deadline), so it is on this page.
constexpr int resolve_log_limit = 100;

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

error bad_push(std::string field, std::string message) {
  return error(error_code::invalid_request, "push payload: " + std::move(message))
      .with_field(std::move(field));
}

// A required non-empty string member.
std::optional<std::string> required_string(const json::object& o, std::string_view key) {
  auto v = get_string(o, key);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public entry points

result<std::shared_ptr<call>> client_impl::handle_push_payload(std::string_view payload) {
  std::optional<result<std::shared_ptr<call>>> out;
  // On the io thread, like every state change; inline when called there (from a listener).
  loop_.run_sync([&] { out.emplace(on_push(payload)); });
  return std::move(*out);
}

void client_impl::handle_push_payload(std::string payload,
                                      std::function<void(result<std::shared_ptr<call>>)> done) {
  post([payload = std::move(payload), done = std::move(done)](client_impl& self) {
    done(self.on_push(payload));
  });
}

// ---------------------------------------------------------------------------------------------
// Reading a push

result<std::shared_ptr<call>> client_impl::on_push(std::string_view payload) {
  if (auto failure = precondition(false)) return *failure;
  // Whatever an app hands in, malformed text must end in invalid_request, never in a crash.
  auto v = parse_json(payload);
  if (!v || !v->is_object()) return bad_push("", "not a JSON object");

  // The provider's payload ({"parley": {...}} from APNs, {"parley": "<JSON text>"} as an FCM data
  // message), or the parley object itself.
  const json::object* p = &v->get_object();
  std::optional<json::value> inner;
  if (auto it = p->find("parley"); it != p->end()) {
    if (it->value().is_object()) {
      p = &it->value().get_object();
    } else if (it->value().is_string()) {
      const auto& text = it->value().get_string();
      inner = parse_json(std::string_view(text.data(), text.size()));
      if (!inner || !inner->is_object())
        return bad_push("parley", "the parley member is not a JSON object");
      p = &inner->get_object();
    } else {
      return bad_push("parley", "the parley member is neither an object nor JSON text");
    }
  }

  auto type = get_string(*p, "type");
  if (!type) return bad_push("type", "no type");
  auto app = get_string(*p, "app_id");
  if (!app) return bad_push("app_id", "no app_id");
  if (*app != st_.app_id) return bad_push("app_id", "the push is for another app");
  if (*type == "incoming_call") return push_incoming(*p);
  if (*type == "call_cancel") return push_cancel(*p);
  return bad_push("type", "unknown type \"" + *type + "\"");
}

result<std::shared_ptr<call>> client_impl::push_incoming(const json::object& p) {
  auto call_id = required_string(p, "call_id");
  if (!call_id) return bad_push("call_id", "no call_id");
  const auto* caller = get_object(p, "caller");
  if (!caller) return bad_push("caller", "no caller");
  auto caller_id = required_string(*caller, "user_id");
  if (!caller_id) return bad_push("caller.user_id", "no caller user_id");
  auto callee_id = required_string(p, "callee_id");
  if (!callee_id) return bad_push("callee_id", "no callee_id");
  auto is_video = get_bool(p, "is_video");
  if (!is_video) return bad_push("is_video", "no is_video");
  auto created_at = get_int(p, "created_at");
  if (!created_at) return bad_push("created_at", "no created_at");
  auto deadline = get_int(p, "ringing_deadline");
  if (!deadline) return bad_push("ringing_deadline", "no ringing_deadline");

  auto me = my_user_id();
  if (!me.empty() && *callee_id != me)
    return bad_push("callee_id", "the push is for another user than the signed-in one");
  // A push that arrives after the call stopped ringing (a late delivery, an app woken late) must
  // not show a call screen for a call nobody can answer. The device's clock decides.
  if (*deadline <= unix_now_ms())
    return bad_push("ringing_deadline", "the call stopped ringing (its ringing deadline passed)");

  // Pushes are delivered at least once, and the same call comes by WebSocket too: one call
  // object per call id.
  if (auto known = find_call(*call_id)) {
    std::lock_guard lock(known->impl_->mu);
    if (!known->impl_->info.caller_nickname)
      known->impl_->info.caller_nickname = get_string(*caller, "nickname").value_or("");
    if (!known->impl_->info.ringing_deadline) known->impl_->info.ringing_deadline = deadline;
    return known;
  }
  if (ended_ids_.count(*call_id) || rung_.count(*call_id))
    return error(error_code::invalid_call_state, "call " + *call_id + " already ended here");

  call_info info;
  info.call_id = *call_id;
  info.caller_id = *caller_id;
  info.callee_id = *callee_id;
  info.is_video = *is_video;
  info.state = "ringing";
  info.created_at = *created_at;
  info.caller_nickname = get_string(*caller, "nickname").value_or("");
  info.ringing_deadline = deadline;
  auto c = std::shared_ptr<call>(new call(weak_from_this(), std::move(info), false));
  c->impl_->io.from_push = true;
  {
    std::lock_guard lock(mu_);
    calls_[*call_id] = c;
  }
  arm_push_deadline(c);
  log(log_level::info, "call " + *call_id + " came by push");
  ring(c);
  return c;
}

result<std::shared_ptr<call>> client_impl::push_cancel(const json::object& p) {
  auto call_id = required_string(p, "call_id");
  if (!call_id) return bad_push("call_id", "no call_id");
  auto callee_id = required_string(p, "callee_id");
  if (!callee_id) return bad_push("callee_id", "no callee_id");
  auto reason = required_string(p, "reason");
  if (!reason) return bad_push("reason", "no reason");

  auto c = find_call(*call_id);
  if (!c) {
    // Nothing rings here. Pushes may arrive out of order: a late incoming-call push of this
    // call must not ring afterwards.
    ended_ids_.insert(*call_id);
    return std::shared_ptr<call>();
  }
  auto& io = c->impl_->io;
  // A cancel push is for the callee's devices; the device that accepted ignores it (its reason is
  // other_device_accepted, about the others), also while its accept is still under way.
  if (c->is_outgoing() || io.accepted_notified) return c;
  if (*reason == "other_device_accepted" && io.accepts_in_flight > 0) return c;

  auto info = c->info();
  info.state = "ended";
  info.end_result = *reason;
  call_ended(c, info);
  fail_held(c, error(error_code::invalid_call_state, "the call has ended (" + *reason + ")"));
  return c;
}

// ---------------------------------------------------------------------------------------------
// The ringing deadline of a push call

void client_impl::arm_push_deadline(const std::shared_ptr<call>& c) {
  auto deadline = c->info().ringing_deadline.value_or(0);
  auto delay = std::chrono::milliseconds(std::max<std::int64_t>(0, deadline - unix_now_ms())) +
               deadline_grace;
  auto t = std::make_unique<transport::timer>(loop_);
  t->start(delay, [weak = weak_from_this(), id = c->id()] {
    if (auto self = weak.lock()) self->push_deadline_passed(id);
  });
  push_timers_[c->id()] = std::move(t);
}

void client_impl::push_deadline_passed(const std::string& call_id) {
  push_timers_.erase(call_id);
  auto c = find_call(call_id);
  if (!c) return;
  auto& io = c->impl_->io;
  // A call the server listed ends by the server's word (`ended`, or the next welcome).
  if (io.ended_notified || io.confirmed || io.resolving) return;
  if (welcomed()) return resolve_end(c, {});
  // No connection in time: nobody answered here, and the server has given up ringing by now.
  auto info = c->info();
  info.state = "ended";
  info.end_result = "no_answer";
  call_ended(c, info);
  fail_held(c, error(error_code::invalid_call_state,
                     "the call stopped ringing before the client was connected"));
}

// ---------------------------------------------------------------------------------------------
// Held actions

bool client_impl::has_held(const std::shared_ptr<call>& c) const {
  return std::any_of(held_.begin(), held_.end(), [&c](const held_action& h) { return h.c == c; });
}

void client_impl::flush_held() {
  auto held = std::move(held_);
  held_.clear();
  if (!held.empty())
    log(log_level::info, "sending " + std::to_string(held.size()) + " held call action(s)");
  for (auto& h : held) {
    if (h.c->impl_->io.ended_notified) {
      auto ended_as = h.c->end_result().value_or(call_end_result::unknown);
      h.done(error(error_code::invalid_call_state,
                   "the call has ended (" + std::string(to_string(ended_as)) + ")"));
      continue;
    }
    send_call_command(std::move(h.c), std::move(h.type), std::move(h.fields), std::move(h.done));
  }
}

void client_impl::fail_held(const std::shared_ptr<call>& c, const error& err) {
  std::vector<held_action> failing;
  std::vector<held_action> kept;
  for (auto& h : held_) (c && h.c != c ? kept : failing).push_back(std::move(h));
  held_ = std::move(kept);
  for (auto& h : failing) h.done(err);
}

// ---------------------------------------------------------------------------------------------
// How a push call ended, from the call log

void client_impl::resolve_end(const std::shared_ptr<call>& c, std::function<void()> then) {
  auto& io = c->impl_->io;
  if (io.ended_notified) {
    if (then) then();
    return;
  }
  if (then) io.after_resolve.push_back(std::move(then));
  if (io.resolving) return;
  io.resolving = true;
  if (!st_.session_key) return finish_resolve(c, std::nullopt);
  api_call("GET", "/v1/me/direct_calls?limit=" + std::to_string(resolve_log_limit), std::nullopt,
           *st_.session_key, [weak = weak_from_this(), c](result<json::value> answer) {
             auto self = weak.lock();
             if (!self) return;
             std::optional<call_info> logged;
             if (answer && answer.value().is_object()) {
               if (const auto* calls = get_array(answer.value().get_object(), "calls")) {
                 for (const auto& v : *calls) {
                   auto info = call_from_json(v);
                   if (info && info->call_id == c->id()) {
                     logged = std::move(info);
                     break;
                   }
                 }
               }
             }
             self->finish_resolve(c, std::move(logged));
           });
}

void client_impl::finish_resolve(const std::shared_ptr<call>& c, std::optional<call_info> logged) {
  auto& io = c->impl_->io;
  io.resolving = false;
  if (!io.ended_notified) {
    if (!logged) {
      // Not this user's call, or not found: how it ended is not known here.
      auto info = c->info();
      info.state = "ended";
      info.end_result = "unknown";
      call_ended(c, info);
    } else if (logged->state == "ended") {
      call_ended(c, *logged);
    } else if (logged->state == "ringing") {
      // Dialed after the welcome was made: the server knows it, its events come to this
      // connection.
      io.confirmed = true;
      update_call(c, *logged);
    } else {
      // Accepted by another device of the callee.
      auto info = *logged;
      info.state = "ended";
      info.end_result = "other_device_accepted";
      info.ended_by = logged->callee_id;
      info.ended_at = logged->accepted_at;
      call_ended(c, info);
    }
  }
  auto waiting = std::move(io.after_resolve);
  io.after_resolve.clear();
  for (auto& then : waiting) then();
}

}  // namespace parley::detail
