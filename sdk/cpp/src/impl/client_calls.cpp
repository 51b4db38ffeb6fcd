// Direct calls in the client: the call objects, the call events of the WebSocket, and the media
// flow that drives a media_engine over the call's `signal` relay.
//
// Everything here runs on the io thread, except the public entry points (which post) and the
// snapshot getters (which lock mu_). A call object is found by id in calls_ while it has not
// ended; events of calls this client does not know are ignored, except `ringing` (a new call) and
// `accepted` (which may overtake the dial's ack).

#include "impl/client_impl.hpp"

#include "impl/url.hpp"

#include <boost/json/serialize.hpp>

namespace parley::detail {

namespace {

error gone_error() {
  return error(error_code::network_error, "the client is shutting down");
}

// The signals of the SDK's media flow: {"media": "offer"|"answer"|"candidate", "sdp"|"candidate"}.
constexpr const char* media_key = "media";

class engine_observer : public media_engine_observer {
 public:
  engine_observer(std::weak_ptr<client_impl> owner, std::string call_id)
      : owner_(std::move(owner)), call_id_(std::move(call_id)) {}
  void on_local_candidate(std::string candidate) override {
    if (auto o = owner_.lock()) o->media_candidate(call_id_, std::move(candidate));
  }
  void on_media_connected() override {
    if (auto o = owner_.lock()) o->media_connected(call_id_);
  }
  void on_media_failed(std::string reason) override {
    if (auto o = owner_.lock()) o->media_failed(call_id_, reason);
  }

 private:
  std::weak_ptr<client_impl> owner_;
  std::string call_id_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public entry points

void client_impl::dial(dial_params params,
                       std::function<void(result<std::shared_ptr<call>>)> done) {
  post([params = std::move(params), done = std::move(done)](client_impl& self) mutable {
    if (params.callee_id.empty())
      return done(error(error_code::invalid_request, "the callee id is empty"));
    json::object items;
    for (const auto& [k, v] : params.custom_items) items[k] = v;
    json::object request{{"type", "dial"},
                         {"callee_id", params.callee_id},
                         {"is_video", params.is_video},
                         {"custom_items", std::move(items)}};
    self.ws_request(
        std::move(request), [weak = self.weak_from_this(), listener = std::move(params.listener),
                             done](result<json::object> answer) {
          auto alive = weak.lock();
          if (!alive) return done(gone_error());
          if (!answer) return done(answer.err());
          const auto* call_json = get_object(answer.value(), "call");
          auto info = call_json ? call_from_json(*call_json) : std::nullopt;
          if (!info) return done(error(error_code::invalid_response, "dial: the ack has no call"));
          auto c = alive->adopt_call(*info);
          if (listener) {
            std::lock_guard lock(c->impl_->mu);
            if (!c->impl_->listener) c->impl_->listener = listener;
          }
          done(c);
        });
  });
}

void client_impl::call_log(call_log_query query, std::function<void(result<call_log_page>)> done) {
  post([query = std::move(query), done = std::move(done)](client_impl& self) {
    if (auto failure = self.precondition(true)) return done(*failure);
    if (query.limit < 1 || query.limit > 100)
      return done(error(error_code::invalid_request, "limit must be 1..100").with_field("limit"));
    auto target = "/v1/me/direct_calls?limit=" + std::to_string(query.limit);
    if (query.next) target += "&next=" + encode_path_segment(*query.next);
    self.api_call(
        "GET", std::move(target), std::nullopt, *self.st_.session_key,
        [done](result<json::value> answer) {
          if (!answer) return done(answer.err());
          const auto& v = answer.value();
          const auto* calls = v.is_object() ? get_array(v.get_object(), "calls") : nullptr;
          if (!calls) return done(error(error_code::invalid_response, "call log: no calls", 200));
          call_log_page page;
          for (const auto& c : *calls) {
            auto info = call_from_json(c);
            if (!info)
              return done(error(error_code::invalid_response, "call log: a bad call", 200));
            page.calls.push_back(std::move(*info));
          }
          page.next = get_string(v.get_object(), "next");
          done(std::move(page));
        });
  });
}

std::uint64_t client_impl::add_incoming_call_listener(
    std::shared_ptr<incoming_call_listener> listener) {
  std::lock_guard lock(mu_);
  auto id = next_listener_id_++;
  if (listener) incoming_listeners_[id] = std::move(listener);
  return id;
}

void client_impl::remove_incoming_call_listener(std::uint64_t id) {
  std::lock_guard lock(mu_);
  incoming_listeners_.erase(id);
}

void client_impl::set_media_engine_factory(media_engine_factory factory) {
  std::lock_guard lock(mu_);
  media_factory_ = std::move(factory);
}

std::vector<std::shared_ptr<call>> client_impl::ongoing_calls() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<call>> out;
  for (const auto& [id, c] : calls_) out.push_back(c);
  return out;
}

void client_impl::call_command(std::shared_ptr<call> c, std::string type, json::object fields,
                               std::function<void(result<json::object>)> done) {
  post([c = std::move(c), type = std::move(type), fields = std::move(fields),
        done = std::move(done)](client_impl& self) mutable {
    self.run_call_command(std::move(c), std::move(type), std::move(fields), std::move(done));
  });
}

void client_impl::run_call_command(std::shared_ptr<call> c, std::string type, json::object fields,
                                   std::function<void(result<json::object>)> done) {
  auto& io = c->impl_->io;
  bool holdable = type == "accept" || type == "decline" || type == "end";
  // A call that ended here is over for this device: even when the server's call goes on (another
  // device accepted it), an `end` from here must not hang up that device's conversation.
  if (holdable && io.ended_notified) {
    auto ended_as = c->end_result().value_or(call_end_result::unknown);
    return done(error(error_code::invalid_call_state,
                      "the call has ended (" + std::string(to_string(ended_as)) + ")"));
  }
  // A call from a push may be answered before the client has a session or a connection (the
  // native call screen shows at once): its accept, decline and end wait for the welcome, in
  // order. Once the server listed the call it is like any other.
  if (holdable && io.from_push && !io.confirmed && !welcomed()) {
    if (auto failure = precondition(false)) return done(*failure);
    log(log_level::info, "call " + c->id() + ": " + type + " held until the WebSocket is welcomed");
    held_.push_back({std::move(c), std::move(type), std::move(fields), std::move(done)});
    return;
  }
  send_call_command(std::move(c), std::move(type), std::move(fields), std::move(done));
}

void client_impl::send_call_command(std::shared_ptr<call> c, std::string type, json::object fields,
                                    std::function<void(result<json::object>)> done) {
  fields["type"] = type;
  fields["call_id"] = c->id();
  // An accept under way makes a cancel push with other_device_accepted this device's own.
  if (type == "accept") ++c->impl_->io.accepts_in_flight;
  ws_request(std::move(fields),
             [weak = weak_from_this(), c, type, done](result<json::object> answer) {
               auto alive = weak.lock();
               if (!alive) return done(gone_error());
               auto& io = c->impl_->io;
               if (type == "accept") --io.accepts_in_flight;
               if (!answer) {
                 // A push call the server will not act on has ended (or was never this user's): end
                 // it with the server's end result first, then report the server's error.
                 auto code = answer.err().code();
                 if (io.from_push && !io.confirmed && !io.ended_notified &&
                     (code == error_code::invalid_call_state || code == error_code::not_found ||
                      code == error_code::forbidden))
                   return alive->resolve_end(c, [done, answer] { done(answer); });
                 return done(answer);
               }
               if (io.from_push) io.confirmed = true;
               // Acks with the call after the request: take it, and act on what it says.
               if (const auto* call_json = get_object(answer.value(), "call")) {
                 if (auto info = call_from_json(*call_json)) {
                   if (info->state == "ended") {
                     alive->call_ended(c, *info);
                   } else {
                     alive->update_call(c, *info);
                     if (type == "accept") {
                       alive->call_accepted(c);
                       alive->start_media(c, false);
                     }
                   }
                 }
               }
               done(std::move(answer));
             });
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping

std::string client_impl::my_user_id() const {
  std::lock_guard lock(mu_);
  return st_.current_user ? st_.current_user->user_id : std::string();
}

std::shared_ptr<call> client_impl::find_call(const std::string& call_id) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : it->second;
}

std::shared_ptr<call> client_impl::adopt_call(const call_info& info, bool* created) {
  if (auto c = find_call(info.call_id)) {
    update_call(c, info);
    if (created) *created = false;
    return c;
  }
  bool outgoing = info.caller_id == my_user_id();
  auto c = std::shared_ptr<call>(new call(weak_from_this(), info, outgoing));
  if (info.state != "ended") {
    std::lock_guard lock(mu_);
    calls_[info.call_id] = c;
  }
  if (created) *created = true;
  return c;
}

void client_impl::merge_info(call_info& into, const call_info& info) {
  auto nickname = std::move(into.caller_nickname);
  auto deadline = into.ringing_deadline;
  into = info;
  if (!into.caller_nickname) into.caller_nickname = std::move(nickname);
  if (!into.ringing_deadline) into.ringing_deadline = deadline;
}

void client_impl::update_call(const std::shared_ptr<call>& c, const call_info& info) {
  std::lock_guard lock(c->impl_->mu);
  if (c->impl_->info.state == "ended") return;
  merge_info(c->impl_->info, info);
}

void client_impl::fire(const std::shared_ptr<call>& c,
                       const std::function<void(call_listener&)>& f) {
  if (shutting_down_) return;
  std::shared_ptr<call_listener> listener;
  {
    std::lock_guard lock(c->impl_->mu);
    listener = c->impl_->listener;
  }
  if (!listener) return;
  // A throwing listener must not break the SDK's bookkeeping of the call.
  try {
    f(*listener);
  } catch (const std::exception& e) {
    log(log_level::error, std::string("a call listener threw: ") + e.what());
  } catch (...) {
    log(log_level::error, "a call listener threw");
  }
}

void client_impl::ring(const std::shared_ptr<call>& c) {
  if (shutting_down_ || !rung_.insert(c->id()).second) return;
  std::vector<std::shared_ptr<incoming_call_listener>> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, l] : incoming_listeners_) targets.push_back(l);
  }
  log(log_level::info, "call " + c->id() + " rings");
  for (auto& l : targets) {
    try {
      l->on_ringing(c);
    } catch (const std::exception& e) {
      log(log_level::error, std::string("an incoming call listener threw: ") + e.what());
    } catch (...) {
      log(log_level::error, "an incoming call listener threw");
    }
  }
}

void client_impl::call_accepted(const std::shared_ptr<call>& c) {
  if (c->impl_->io.accepted_notified || c->impl_->io.ended_notified) return;
  c->impl_->io.accepted_notified = true;
  fire(c, [&c](call_listener& l) { l.on_accepted(c); });
}

void client_impl::call_ended(const std::shared_ptr<call>& c, const call_info& info) {
  if (c->impl_->io.ended_notified) return;
  c->impl_->io.ended_notified = true;
  auto result = call_end_result_from_string(info.end_result.value_or(""));
  {
    std::lock_guard lock(c->impl_->mu);
    merge_info(c->impl_->info, info);
    c->impl_->info.state = "ended";
    c->impl_->end_result = result;
  }
  {
    std::lock_guard lock(mu_);
    calls_.erase(c->id());
  }
  ended_ids_.insert(c->id());
  push_timers_.erase(c->id());
  if (auto engine = std::move(c->impl_->io.engine)) engine->close();
  c->impl_->io.engine.reset();
  c->impl_->io.pending_candidates.clear();
  log(log_level::info, "call " + c->id() + " ended: " + std::string(to_string(result)));
  fire(c, [&c, result](call_listener& l) { l.on_ended(c, result); });
}

void client_impl::drop_calls() {
  std::map<std::string, std::shared_ptr<call>> calls;
  {
    std::lock_guard lock(mu_);
    calls.swap(calls_);
  }
  for (auto& [id, c] : calls) {
    if (auto engine = std::move(c->impl_->io.engine)) engine->close();
    c->impl_->io.engine.reset();
  }
}

// ---------------------------------------------------------------------------------------------
// Events

void client_impl::register_call_handlers() {
  std::weak_ptr<client_impl> weak = weak_from_this();
  on_event("welcome", [weak](const json::object& m) {
    if (auto self = weak.lock()) self->on_calls_welcome(m);
  });
  for (const char* type : {"ringing", "accepted", "ended", "connected", "remote_media_state",
                           "peer_reconnecting", "peer_reconnected"}) {
    on_event(type, [weak, type = std::string(type)](const json::object& m) {
      if (auto self = weak.lock()) self->on_call_event(type, m);
    });
  }
  on_event("signal", [weak](const json::object& m) {
    if (auto self = weak.lock()) self->on_signal_event(m);
  });
}

void client_impl::on_calls_welcome(const json::object& welcome) {
  const auto* calls = get_array(welcome, "ongoing_calls");
  if (!calls) return;
  auto me = my_user_id();
  std::set<std::string> listed;
  for (const auto& v : *calls) {
    auto info = call_from_json(v);
    if (!info || info->state == "ended") continue;
    listed.insert(info->call_id);
    auto known = find_call(info->call_id);
    bool push_pending = known && known->impl_->io.from_push && !known->impl_->io.confirmed;
    auto c = adopt_call(*info);
    if (push_pending) {
      // The call a push announced: the same object, and it does not ring again.
      c->impl_->io.confirmed = true;
      if (info->state != "ringing" && info->callee_id == me) {
        // Taken on another device before this one connected: over for this one, as the
        // server's `ended` copy would have said.
        auto ended = *info;
        ended.state = "ended";
        ended.end_result = "other_device_accepted";
        ended.ended_by = info->callee_id;
        ended.ended_at = info->accepted_at;
        call_ended(c, ended);
        continue;
      }
    }
    // A device that connects while a call rings for it (after a push, or a dropped connection)
    // learns of it here.
    if (info->state == "ringing" && info->callee_id == me) ring(c);
  }
  // Calls this client knew that the server no longer lists ended while it was away; how they
  // ended is in the call log.
  std::vector<std::shared_ptr<call>> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, c] : calls_)
      if (!listed.count(id)) gone.push_back(c);
  }
  for (auto& c : gone) {
    if (c->impl_->io.from_push && !c->impl_->io.confirmed) {
      // A push call the server does not list: it ended before this connection (its held
      // actions, sent below, will hear so from the server), or it was dialed after the welcome
      // was made. The call log tells which, and how it ended.
      if (!has_held(c)) resolve_end(c, {});
      continue;
    }
    auto info = c->info();
    info.state = "ended";
    info.end_result = "unknown";
    call_ended(c, info);
  }
  flush_held();
}

void client_impl::on_call_event(const std::string& type, const json::object& message) {
  std::shared_ptr<call> c;
  std::optional<call_info> info;
  if (const auto* call_json = get_object(message, "call")) {
    info = call_from_json(*call_json);
    if (!info) {
      log(log_level::warning, "a " + type + " event with a bad call");
      return;
    }
    c = find_call(info->call_id);
  } else if (auto id = get_string(message, "call_id")) {
    c = find_call(*id);
  }

  if (type == "ringing") {
    if (!info || info->callee_id != my_user_id()) return;
    if (c) {
      // Already known from a push: the same call, now with the server's view.
      update_call(c, *info);
      c->impl_->io.confirmed = true;
    } else {
      c = adopt_call(*info);
    }
    ring(c);
    return;
  }
  if (type == "accepted" && info && !c && info->caller_id == my_user_id())
    c = adopt_call(*info);  // the accept overtook the dial's ack
  if (!c) return;

  if (type == "ended") {
    if (info) call_ended(c, *info);
  } else if (type == "accepted") {
    if (info) update_call(c, *info);
    call_accepted(c);
    start_media(c, true);
  } else if (type == "connected") {
    if (info) update_call(c, *info);
    fire(c, [&c](call_listener& l) { l.on_connected(c); });
  } else if (type == "remote_media_state") {
    bool audio = get_bool(message, "audio").value_or(false);
    bool video = get_bool(message, "video").value_or(false);
    fire(c, [&c, audio, video](call_listener& l) { l.on_remote_media_state(c, audio, video); });
  } else if (type == "peer_reconnecting") {
    fire(c, [&c](call_listener& l) { l.on_reconnecting(c); });
  } else if (type == "peer_reconnected") {
    fire(c, [&c](call_listener& l) { l.on_reconnected(c); });
  }
}

void client_impl::on_signal_event(const json::object& message) {
  auto id = get_string(message, "call_id");
  auto c = id ? find_call(*id) : nullptr;
  if (!c) return;
  auto it = message.find("data");
  if (it == message.end()) return;
  const auto& data = it->value();

  // The SDK's media flow takes its own signals when a media engine runs (or may run) the call.
  const auto* o = data.is_object() ? &data.get_object() : nullptr;
  auto kind = o ? get_string(*o, media_key) : std::nullopt;
  if (kind && *kind == "offer" && !c->is_outgoing()) start_media(c, false);
  auto& io = c->impl_->io;
  if (kind && io.engine) {
    if (*kind == "offer") {
      auto sdp = get_string(*o, "sdp").value_or("");
      io.engine->apply_offer(sdp, [weak = weak_from_this(), c](result<std::string> answer) {
        auto self = weak.lock();
        if (!self) return;
        self->post([c, answer = std::move(answer)](client_impl& s) {
          if (!answer) {
            s.log(log_level::warning,
                  std::string("the media engine refused the offer: ") + answer.err().what());
            return;
          }
          s.send_media_signal(c, {{media_key, "answer"}, {"sdp", answer.value()}});
          s.remote_description_applied(c);
        });
      });
      return;
    }
    if (*kind == "answer") {
      io.engine->apply_answer(get_string(*o, "sdp").value_or(""));
      remote_description_applied(c);
      return;
    }
    if (*kind == "candidate") {
      auto candidate = get_string(*o, "candidate").value_or("");
      if (io.remote_description_set)
        io.engine->add_remote_candidate(std::move(candidate));
      else
        io.pending_candidates.push_back(std::move(candidate));
      return;
    }
  }
  auto text = json::serialize(data);
  fire(c, [&c, &text](call_listener& l) { l.on_signal(c, text); });
}

// ---------------------------------------------------------------------------------------------
// Media flow

void client_impl::start_media(const std::shared_ptr<call>& c, bool as_caller) {
  auto& io = c->impl_->io;
  if (io.media_started || io.ended_notified || shutting_down_) return;
  io.media_started = true;
  media_engine_factory factory;
  std::vector<ice_server> ice;
  {
    std::lock_guard lock(mu_);
    factory = media_factory_;
    ice = st_.ice_servers;
  }
  if (!factory) return;
  try {
    io.engine = factory(c->info(), ice);
  } catch (const std::exception& e) {
    log(log_level::error, std::string("the media engine factory threw: ") + e.what());
  }
  if (!io.engine) return;
  io.engine->start(std::make_shared<engine_observer>(weak_from_this(), c->id()));
  if (!as_caller) return;
  io.engine->create_offer([weak = weak_from_this(), c](result<std::string> offer) {
    auto self = weak.lock();
    if (!self) return;
    self->post([c, offer = std::move(offer)](client_impl& s) {
      if (!offer) {
        s.log(log_level::warning,
              std::string("the media engine made no offer: ") + offer.err().what());
        return;
      }
      s.send_media_signal(c, {{media_key, "offer"}, {"sdp", offer.value()}});
    });
  });
}

void client_impl::remote_description_applied(const std::shared_ptr<call>& c) {
  auto& io = c->impl_->io;
  if (!io.engine) return;
  io.remote_description_set = true;
  auto pending = std::move(io.pending_candidates);
  io.pending_candidates.clear();
  for (auto& candidate : pending) io.engine->add_remote_candidate(std::move(candidate));
}

void client_impl::send_media_signal(const std::shared_ptr<call>& c, json::object data) {
  if (c->impl_->io.ended_notified) return;
  json::object request{{"type", "signal"}, {"call_id", c->id()}, {"data", std::move(data)}};
  ws_request(std::move(request), [weak = weak_from_this(), id = c->id()](result<json::object> a) {
    auto self = weak.lock();
    if (!self) return;
    if (!a)
      self->log(log_level::warning,
                "call " + id + ": a media signal was not sent: " + std::string(a.err().what()));
    else if (!get_bool(a.value(), "delivered").value_or(false))
      self->log(log_level::warning, "call " + id + ": a media signal was not delivered");
  });
}

void client_impl::media_candidate(const std::string& call_id, std::string candidate) {
  post([call_id, candidate = std::move(candidate)](client_impl& self) {
    if (auto c = self.find_call(call_id); c && c->impl_->io.engine)
      self.send_media_signal(c, {{media_key, "candidate"}, {"candidate", candidate}});
  });
}

void client_impl::media_connected(const std::string& call_id) {
  post([call_id](client_impl& self) {
    auto c = self.find_call(call_id);
    if (!c || c->impl_->io.media_connected_sent) return;
    c->impl_->io.media_connected_sent = true;
    self.log(log_level::info, "call " + call_id + ": media connected");
    self.call_command(c, "media_connected", {}, [weak = self.weak_from_this(), call_id](auto a) {
      auto s = weak.lock();
      if (s && !a)
        s->log(log_level::warning,
               "call " + call_id + ": media_connected failed: " + std::string(a.err().what()));
    });
  });
}

void client_impl::media_failed(const std::string& call_id, const std::string& reason) {
  post([call_id, reason](client_impl& self) {
    self.log(log_level::warning, "call " + call_id + ": media failed: " + reason);
  });
}

}  // namespace parley::detail
