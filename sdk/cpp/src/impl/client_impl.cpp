#include "impl/client_impl.hpp"

#include "impl/random.hpp"
#include "impl/url.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>

namespace parley::detail {

namespace {

// Close codes after which the SDK does not reconnect (docs/protocol.md, "Close codes").
constexpr int close_deauthenticated = 4000;
constexpr int close_session_invalid = 4001;
constexpr int close_user_deleted = 4003;
constexpr int close_replaced = 4004;

error shut_down_error() {
  return error(error_code::network_error, "the client is shutting down");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Plumbing

void client_impl::post(std::function<void(client_impl&)> f) {
  loop_.post([weak = weak_from_this(), f = std::move(f)] {
    if (auto self = weak.lock()) f(*self);
  });
}

void client_impl::log(log_level level, const std::string& text) const {
  if (options_.logger) options_.logger(level, text);
}

std::optional<error> client_impl::precondition(bool needs_session) const {
  if (shutting_down_) return shut_down_error();
  if (!initialized_) return error(error_code::not_initialized, "call init() before this");
  if (needs_session && !st_.session_key)
    return error(error_code::not_authenticated, "authenticate a user before this");
  return std::nullopt;
}

void client_impl::persist() {
  if (!store_) return;
  stored_state copy;
  {
    std::lock_guard lock(mu_);
    copy = st_;
  }
  if (auto failure = store_->save(copy)) log(log_level::error, *failure);
}

void client_impl::notify(const std::function<void(connection_listener&)>& call) {
  if (shutting_down_) return;
  std::vector<std::shared_ptr<connection_listener>> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, listener] : listeners_) targets.push_back(listener);
  }
  for (auto& listener : targets) {
    // A throwing listener must not stop the others, nor the SDK's own bookkeeping.
    try {
      call(*listener);
    } catch (const std::exception& e) {
      log(log_level::error, std::string("a connection listener threw: ") + e.what());
    } catch (...) {
      log(log_level::error, "a connection listener threw");
    }
  }
}

void client_impl::set_state(connection_state state) {
  std::lock_guard lock(mu_);
  conn_state_ = state;
}

void client_impl::api_call(const char* method, std::string target, std::optional<json::object> body,
                           std::optional<std::string> bearer,
                           std::function<void(result<json::value>)> done) {
  transport::http_request request;
  request.method = method;
  request.target = std::move(target);
  request.timeout = options_.request_timeout;
  if (body) request.body = json::serialize(*body);
  if (bearer) request.headers.emplace_back("Authorization", "Bearer " + *bearer);
  // Push tokens identify a device: the log names the route, not the token.
  auto shown = request.target;
  if (auto at = shown.find("/push_tokens/"); at != std::string::npos) {
    auto type_end = shown.find('/', at + 13);
    if (type_end != std::string::npos) shown = shown.substr(0, type_end) + "/...";
  }
  log(log_level::debug, std::string(method) + " " + shown);
  http_->send(std::move(request), [done = std::move(done)](
                                      std::optional<transport::transport_failure> failure,
                                      transport::http_response response) {
    if (failure) return done(error(error_code::network_error, failure->message));
    if (response.status < 200 || response.status >= 300) {
      auto retry_after = response.headers.find("retry-after");
      return done(error_from_http(
          response.status, response.body,
          retry_after == response.headers.end() ? std::string_view{} : retry_after->second));
    }
    if (response.body.empty()) return done(json::value(nullptr));
    auto v = parse_json(response.body);
    if (!v)
      return done(
          error(error_code::invalid_response, "the server's answer is not JSON", response.status));
    done(std::move(*v));
  });
}

// ---------------------------------------------------------------------------------------------
// Life cycle

void client_impl::shutdown() {
  assert(!loop_.in_loop_thread() && "a parley::client must not be destroyed on its io thread");
  loop_.run_sync([this] {
    shutting_down_ = true;
    reconnect_timer_.cancel();
    ++ws_generation_;
    if (ws_) {
      ws_->abandon(1000);
      ws_.reset();
    }
    auto waiters = std::move(connect_waiters_);
    connect_waiters_.clear();
    for (auto& waiter : waiters) waiter(shut_down_error());
    // Their callbacks run on the io thread before it ends, with network_error.
    if (http_) http_->cancel_all();
    set_state(connection_state::disconnected);
    fail_held(nullptr, shut_down_error());
    push_timers_.clear();
    drop_calls();
  });
  loop_.shutdown();
}

void client_impl::init(std::string app_id, client_options options) {
  // Check everything that can be checked before touching the current binding.
  if (app_id.empty()) throw error(error_code::invalid_request, "the app id is empty");
  auto ep = parse_api_url(options.api_url);
  if (!ep)
    throw error(error_code::invalid_request,
                "api_url must look like http://host[:port][/prefix] or https://...");
  if (options.data_dir.empty()) throw error(error_code::invalid_request, "data_dir is empty");
  std::shared_ptr<transport::tls_context> tls;
  if (ep->tls) {
    try {
      tls = transport::make_tls_context({options.tls_verify_peer, options.tls_ca_file});
    } catch (const std::exception& e) {
      throw error(error_code::invalid_request, e.what());
    }
  }
  state_store store(options.data_dir);
  if (auto failure = store.prepare()) throw error(error_code::invalid_request, *failure);

  std::optional<error> failure;
  loop_.run_sync([&] {
    if (shutting_down_) {
      failure = shut_down_error();
      return;
    }
    // Leave the previous binding: its connection and requests belong to the old app or server.
    if (initialized_) {
      if (ws_ || conn_state_ != connection_state::disconnected)
        close_locally(disconnect_reason::closed_by_client, "the client was initialised again");
      if (http_) http_->cancel_all();
      fail_held(nullptr,
                error(error_code::network_error, "the client was initialised again meanwhile"));
    }
    ++epoch_;

    std::string warning;
    auto loaded = store.load(warning);
    if (!warning.empty()) log(log_level::warning, warning);
    adopt_app(loaded, app_id);
    if (auto save_failure = store.save(loaded)) {
      std::lock_guard lock(mu_);
      initialized_ = false;
      failure = error(error_code::invalid_request, *save_failure);
      return;
    }
    options_ = std::move(options);
    endpoint_ = *ep;
    tls_ = tls;
    http_ = std::make_unique<transport::http_client>(loop_, endpoint_, tls_);
    store_ = store;
    {
      std::lock_guard lock(mu_);
      st_ = std::move(loaded);
      initialized_ = true;
    }
    register_call_handlers();
    log(log_level::info, "initialised for app " + app_id + " at " + options_.api_url);
  });
  if (failure) throw *failure;
}

// ---------------------------------------------------------------------------------------------
// Authentication

void client_impl::authenticate(auth_params params, std::function<void(result<user>)> done) {
  post([params = std::move(params), done = std::move(done)](client_impl& self) {
    if (auto failure = self.precondition(false)) return done(*failure);
    int credentials = int(params.access_token.has_value()) + int(params.session_token.has_value()) +
                      int(params.jwt.has_value());
    if (params.user_id.empty() || credentials != 1)
      return done(error(error_code::invalid_request,
                        "give a user id and exactly one of access_token, session_token, jwt"));

    json::object body{{"user_id", params.user_id}, {"device_id", self.st_.device_id}};
    credential_kind kind;
    if (params.access_token) {
      body["access_token"] = *params.access_token;
      kind = credential_kind::access_token;
    } else if (params.session_token) {
      body["session_token"] = *params.session_token;
      kind = credential_kind::session_token;
    } else {
      body["jwt"] = *params.jwt;
      kind = credential_kind::jwt;
    }
    auto target = "/v1/apps/" + encode_path_segment(self.st_.app_id) + "/auth";
    self.api_call("POST", std::move(target), std::move(body), std::nullopt,
                  [weak = self.weak_from_this(), epoch = self.epoch_, kind,
                   done](result<json::value> answer) {
                    auto alive = weak.lock();
                    if (!alive) return done(shut_down_error());
                    alive->finish_authenticate(epoch, kind, std::move(answer), done);
                  });
  });
}

void client_impl::finish_authenticate(std::uint64_t epoch, credential_kind kind,
                                      result<json::value> answer,
                                      const std::function<void(result<user>)>& done) {
  if (!answer) {
    // The server refused the session that held actions of push calls were waiting for: they
    // cannot be sent. A network failure leaves them waiting (the app may try again).
    if (epoch == epoch_ && answer.err().code() != error_code::network_error)
      fail_held(nullptr, answer.err());
    return done(answer.err());
  }
  if (epoch != epoch_ || shutting_down_)
    return done(error(error_code::network_error, "the client was initialised again meanwhile"));

  const auto& v = answer.value();
  auto invalid = [&done](const char* what) {
    done(error(error_code::invalid_response, std::string("authentication answer: ") + what, 200));
  };
  if (!v.is_object()) return invalid("not an object");
  const auto& o = v.get_object();
  auto key = get_string(o, "session_key");
  if (!key || key->empty()) return invalid("no session_key");
  auto u = o.contains("user") ? user_from_json(o.at("user")) : std::nullopt;
  if (!u) return invalid("no valid user");
  std::optional<std::int64_t> expires_at = get_int(o, "session_expires_at");
  std::vector<ice_server> ice;
  if (auto it = o.find("ice_servers"); it != o.end()) {
    auto parsed = ice_servers_from_json(it->value());
    if (!parsed) return invalid("ice_servers is not a list of servers");
    ice = std::move(*parsed);
  }

  // A new session replaces the old one, and a WebSocket of the old one with it.
  if (ws_ || conn_state_ != connection_state::disconnected)
    close_locally(disconnect_reason::closed_by_client, "a new session was authenticated");
  {
    std::lock_guard lock(mu_);
    if (!st_.current_user || st_.current_user->user_id != u->user_id) {
      st_.calls.clear();
      st_.push_tokens.clear();  // registered for the previous user
    }
    st_.current_user = *u;
    st_.session_key = std::move(*key);
    st_.session_expires_at = expires_at;
    st_.credential = kind;
    st_.ice_servers = std::move(ice);
  }
  persist();
  log(log_level::info, "authenticated as " + u->user_id);
  done(std::move(*u));
}

void client_impl::deauthenticate(deauth_options options, void_callback done) {
  post([options, done = std::move(done)](client_impl& self) {
    if (auto failure = self.precondition(true)) return done(*failure);
    auto key = *self.st_.session_key;
    auto end_session = [weak = self.weak_from_this(), epoch = self.epoch_, key,
                        done](std::optional<error> token_failure) {
      auto owner = weak.lock();
      if (!owner) return done(shut_down_error());
      owner->api_call("DELETE", "/v1/session", std::nullopt, key,
                      [weak, epoch, key, token_failure, done](result<json::value> answer) {
                        auto alive = weak.lock();
                        if (!alive) return done(shut_down_error());
                        alive->finish_deauthenticate(epoch, key, std::move(answer), token_failure,
                                                     done);
                      });
    };
    // The tokens go first: once the session has ended, nothing can remove them any more but
    // the app's backend.
    std::vector<registered_push_token> tokens;
    if (options.unregister_push_tokens) {
      std::lock_guard lock(self.mu_);
      tokens = self.st_.push_tokens;
    }
    if (tokens.empty()) return end_session(std::nullopt);
    self.remove_push_tokens(std::move(tokens), 0, key, std::nullopt, std::move(end_session));
  });
}

void client_impl::remove_push_tokens(std::vector<registered_push_token> tokens, std::size_t next,
                                     std::string key, std::optional<error> failure,
                                     std::function<void(std::optional<error>)> then) {
  if (next >= tokens.size()) return then(std::move(failure));
  auto target = "/v1/me/push_tokens/" + std::string(to_string(tokens[next].type)) + "/" +
                encode_path_segment(tokens[next].token);
  api_call(
      "DELETE", std::move(target), std::nullopt, key,
      [weak = weak_from_this(), tokens = std::move(tokens), next, key, failure = std::move(failure),
       then = std::move(then)](result<json::value> answer) mutable {
        auto alive = weak.lock();
        if (!alive) return then(shut_down_error());
        // A token the server no longer has (the provider reported it dead, or it moved to
        // another user) is as removed as one deleted now.
        if (answer || answer.err().code() == error_code::not_found) {
          {
            std::lock_guard lock(alive->mu_);
            if (alive->st_.session_key == key)
              alive->st_.forget_push_tokens(tokens[next].type, tokens[next].token);
          }
          alive->persist();
        } else if (!failure) {
          failure = answer.err();
        }
        alive->remove_push_tokens(std::move(tokens), next + 1, std::move(key), std::move(failure),
                                  std::move(then));
      });
}

void client_impl::finish_deauthenticate(std::uint64_t epoch, const std::string& key,
                                        result<json::value> answer,
                                        std::optional<error> token_failure,
                                        const void_callback& done) {
  // Cleared locally whatever the server said: the user asked to sign out. Unless the session
  // changed meanwhile (a new authenticate, or init for another app): that one stays.
  if (epoch == epoch_ && st_.session_key == key) {
    if (ws_ || conn_state_ != connection_state::disconnected)
      close_locally(disconnect_reason::deauthenticated, "deauthenticated");
    {
      std::lock_guard lock(mu_);
      st_.clear_session();
    }
    persist();
    log(log_level::info, "deauthenticated");
    fail_held(nullptr, error(error_code::not_authenticated, "the session was deauthenticated"));
  }
  // A session the server no longer knows is as ended as one it just ended.
  if (!answer && answer.err().code() != error_code::unauthorized &&
      answer.err().code() != error_code::session_expired)
    return done(answer.err());
  if (token_failure) return done(*token_failure);
  done({});
}

void client_impl::push_token(bool register_it, std::optional<std::string> token,
                             push_token_type type, void_callback done) {
  post([register_it, token = std::move(token), type, done = std::move(done)](client_impl& self) {
    if (auto failure = self.precondition(true)) return done(*failure);
    if (token && token->empty())
      return done(error(error_code::invalid_request, "the push token is empty"));
    auto target = "/v1/me/push_tokens/" + std::string(to_string(type));
    if (token) target += "/" + encode_path_segment(*token);
    auto key = *self.st_.session_key;
    self.api_call(register_it ? "PUT" : "DELETE", std::move(target), std::nullopt, key,
                  [weak = self.weak_from_this(), register_it, token, type, key,
                   done](result<json::value> answer) {
                    if (!answer) return done(answer.err());
                    // Remembered for deauthenticate(unregister_push_tokens), in the session
                    // that registered it.
                    if (auto alive = weak.lock()) {
                      {
                        std::lock_guard lock(alive->mu_);
                        if (alive->st_.session_key == key) {
                          if (register_it)
                            alive->st_.remember_push_token(type, *token);
                          else
                            alive->st_.forget_push_tokens(type, token);
                        }
                      }
                      alive->persist();
                    }
                    done({});
                  });
  });
}

// ---------------------------------------------------------------------------------------------
// WebSocket

void client_impl::connect_websocket(void_callback done) {
  post([done = std::move(done)](client_impl& self) {
    if (auto failure = self.precondition(true)) return done(*failure);
    switch (self.conn_state_) {
      case connection_state::connected:
        return done({});
      case connection_state::connecting:
        self.connect_waiters_.push_back(done);
        return;
      case connection_state::reconnecting:
        self.connect_waiters_.push_back(done);
        // The app asks now: do not make it wait out the backoff.
        if (self.reconnect_timer_.pending()) {
          self.reconnect_timer_.cancel();
          self.start_connect(true);
        }
        return;
      case connection_state::disconnected:
        self.connect_waiters_.push_back(done);
        self.start_connect(false);
        return;
    }
  });
}

void client_impl::disconnect_websocket() {
  post([](client_impl& self) {
    if (self.ws_ || self.conn_state_ != connection_state::disconnected)
      self.close_locally(disconnect_reason::closed_by_client, "disconnect_websocket() was called");
  });
}

void client_impl::start_connect(bool reconnecting) {
  auto generation = ++ws_generation_;
  set_state(reconnecting ? connection_state::reconnecting : connection_state::connecting);

  ws_session::options opts;
  opts.connect_timeout = options_.connect_timeout;
  opts.request_timeout = options_.request_timeout;
  opts.log = options_.logger;
  ws_session::handlers h;
  std::weak_ptr<client_impl> weak = weak_from_this();
  h.on_welcome = [weak, generation](const json::object& welcome) {
    if (auto self = weak.lock()) self->on_welcome(generation, welcome);
  };
  h.on_message = [weak, generation](const std::string& type, const json::object& message) {
    if (auto self = weak.lock()) self->on_message(generation, type, message);
  };
  h.on_closed = [weak, generation](const ws_session::closed_info& info) {
    if (auto self = weak.lock()) self->on_closed(generation, info);
  };
  ws_ = std::make_shared<ws_session>(loop_, std::move(opts), std::move(h));
  json::object hello{
      {"type", "hello"}, {"session_key", *st_.session_key}, {"device_id", st_.device_id}};
  log(log_level::debug, reconnecting ? "reconnecting the WebSocket" : "connecting the WebSocket");
  ws_->open(endpoint_, tls_, std::move(hello));
}

void client_impl::on_welcome(std::uint64_t generation, const json::object& welcome) {
  if (generation != ws_generation_) return;
  reconnect_attempt_ = 0;
  {
    std::lock_guard lock(mu_);
    if (const auto* u = get_object(welcome, "user"))
      if (auto parsed = user_from_json(*u)) st_.current_user = std::move(*parsed);
    if (welcome.contains("session_expires_at"))
      st_.session_expires_at = get_int(welcome, "session_expires_at");
    if (auto it = welcome.find("ice_servers"); it != welcome.end())
      if (auto ice = ice_servers_from_json(it->value())) st_.ice_servers = std::move(*ice);
    if (const auto* calls = get_array(welcome, "ongoing_calls")) {
      // The server's list is the truth: calls it no longer reports have ended.
      st_.calls.clear();
      for (const auto& c : *calls)
        if (auto call = call_from_json(c)) st_.calls.push_back(std::move(*call));
    }
  }
  persist();
  if (auto heartbeat = get_int(welcome, "heartbeat_s"); heartbeat && *heartbeat > 0)
    ws_->set_heartbeat(std::chrono::seconds(*heartbeat));
  set_state(connection_state::connected);
  log(log_level::info, "WebSocket connected");

  auto waiters = std::move(connect_waiters_);
  connect_waiters_.clear();
  for (auto& waiter : waiters) waiter({});
  notify([](connection_listener& l) { l.on_connected(); });
  if (auto it = event_handlers_.find("welcome"); it != event_handlers_.end()) it->second(welcome);
}

void client_impl::on_message(std::uint64_t generation, const std::string& type,
                             const json::object& message) {
  if (generation != ws_generation_) return;
  if (type == "session_expiring") on_session_expiring(message);
  if (auto it = event_handlers_.find(type); it != event_handlers_.end()) {
    it->second(message);
    return;
  }
  if (type == "error") {
    auto err = error_from_frame(message);
    log(log_level::warning, std::string("server error without request: ") + err.what());
  } else if (type != "pong" && type != "session_expiring") {
    log(log_level::debug, "ignored a message of type " + type);
  }
}

void client_impl::on_closed(std::uint64_t generation, const ws_session::closed_info& info) {
  if (generation != ws_generation_) return;
  ws_.reset();

  // Which close is final: the server ended the session, the user, or this connection for good.
  int code = info.event.by_peer ? info.event.code : 0;
  std::optional<disconnect_reason> final_reason;
  if (info.refusal || code == close_session_invalid)
    final_reason = disconnect_reason::session_invalid;
  else if (code == close_deauthenticated)
    final_reason = disconnect_reason::deauthenticated;
  else if (code == close_user_deleted)
    final_reason = disconnect_reason::user_deleted;
  else if (code == close_replaced)
    final_reason = disconnect_reason::replaced;

  if (final_reason) {
    disconnect_info d{*final_reason, code,
                      info.refusal ? info.refusal->message() : info.event.reason};
    log(log_level::info, "WebSocket closed for good (" + std::string(to_string(*final_reason)) +
                             ", code " + std::to_string(code) + ")");
    // These closes end the session itself: it cannot be used again, so it is forgotten.
    if (*final_reason != disconnect_reason::replaced) {
      {
        std::lock_guard lock(mu_);
        st_.clear_session();
      }
      persist();
    }
    auto waiter_error = info.refusal ? *info.refusal
                                     : error(error_code::unauthorized,
                                             "the server closed the connection (" +
                                                 std::string(to_string(*final_reason)) + ")");
    // Held actions of push calls wait for a welcome that this session will not get.
    if (*final_reason != disconnect_reason::replaced) fail_held(nullptr, waiter_error);
    enter_disconnected(d, waiter_error);
    return;
  }

  // A network reason: reconnect, unless this was the first attempt of connect_websocket().
  std::string why = info.welcome_timed_out ? "no welcome in time" : info.event.reason;
  if (info.event.by_peer)
    why =
        "closed by the server with code " + std::to_string(code) + (why.empty() ? "" : ": " + why);
  log(log_level::info, "WebSocket lost: " + why);
  bool retry = options_.reconnect.enabled && conn_state_ != connection_state::connecting &&
               (options_.reconnect.max_attempts <= 0 ||
                reconnect_attempt_ < options_.reconnect.max_attempts);
  if (retry) return schedule_reconnect();
  enter_disconnected({disconnect_reason::network, code, why},
                     error(error_code::network_error, why));
}

void client_impl::schedule_reconnect() {
  ++reconnect_attempt_;
  // Exponential backoff with jitter: clients that lost the same server do not all come back in
  // the same instant.
  const auto& policy = options_.reconnect;
  double base = static_cast<double>(policy.initial_delay.count()) *
                std::pow(2.0, std::min(reconnect_attempt_ - 1, 30));
  base = std::min(base, static_cast<double>(policy.max_delay.count()));
  double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  auto delay =
      std::chrono::milliseconds(static_cast<std::int64_t>(base - base * jitter * random_unit()));
  set_state(connection_state::reconnecting);
  reconnect_timer_.start(delay, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->start_connect(true);
  });
  log(log_level::info, "reconnecting in " + std::to_string(delay.count()) + " ms (attempt " +
                           std::to_string(reconnect_attempt_) + ")");
  notify([attempt = reconnect_attempt_, delay](connection_listener& l) {
    l.on_reconnecting(attempt, delay);
  });
}

void client_impl::close_locally(disconnect_reason reason, const std::string& message) {
  ++ws_generation_;  // the close event of the connection is not ours to handle any more
  if (ws_) {
    ws_->abandon(1000);
    ws_.reset();
  }
  enter_disconnected({reason, 0, message}, error(error_code::network_error, message));
}

void client_impl::enter_disconnected(const disconnect_info& info, const error& waiter_error) {
  reconnect_timer_.cancel();
  reconnect_attempt_ = 0;
  refresh_in_progress_ = false;
  auto previous = conn_state_;
  set_state(connection_state::disconnected);
  auto waiters = std::move(connect_waiters_);
  connect_waiters_.clear();
  for (auto& waiter : waiters) waiter(waiter_error);
  if (previous != connection_state::disconnected)
    notify([&info](connection_listener& l) { l.on_disconnected(info); });
}

// ---------------------------------------------------------------------------------------------
// Session refresh

void client_impl::on_session_expiring(const json::object& message) {
  std::shared_ptr<session_handler> handler;
  {
    std::lock_guard lock(mu_);
    handler = session_handler_;
  }
  auto expires_at = get_int(message, "expires_at");
  if (!handler) {
    log(log_level::warning, "the session expires soon and no session handler is set");
    return;
  }
  if (refresh_in_progress_) return;
  refresh_in_progress_ = true;
  log(log_level::info, "the session expires at " + std::to_string(expires_at.value_or(0)) +
                           "; asking for a new token");

  // The app may answer from any thread, once; later calls are ignored.
  auto answered = std::make_shared<std::atomic<bool>>(false);
  session_handler::token_callback provide = [weak = weak_from_this(),
                                             answered](std::optional<std::string> token) {
    if (answered->exchange(true)) return;
    if (auto self = weak.lock())
      self->post([token = std::move(token)](client_impl& s) { s.send_refresh(token); });
  };
  try {
    handler->on_session_token_required(std::move(provide));
  } catch (const std::exception& e) {
    log(log_level::error, std::string("the session handler threw: ") + e.what());
  } catch (...) {
    log(log_level::error, "the session handler threw");
  }
}

void client_impl::send_refresh(std::optional<std::string> token) {
  refresh_in_progress_ = false;
  std::shared_ptr<session_handler> handler;
  {
    std::lock_guard lock(mu_);
    handler = session_handler_;
  }
  if (!token) {
    log(log_level::info, "the app gave no new token; the session will expire");
    return;
  }
  if (!ws_ || !ws_->welcomed()) {
    if (handler)
      handler->on_session_refresh_failed(
          error(error_code::network_error, "no open WebSocket to refresh the session on"));
    return;
  }
  const char* field = st_.credential == credential_kind::jwt ? "jwt" : "session_token";
  json::object request{{"type", "refresh"}, {field, *token}};
  ws_->request(std::move(request), [weak = weak_from_this(), handler](result<json::object> answer) {
    auto self = weak.lock();
    if (!self) return;
    if (!answer) {
      self->log(log_level::warning,
                std::string("the session refresh failed: ") + answer.err().what());
      if (handler) handler->on_session_refresh_failed(answer.err());
      return;
    }
    auto expires_at = get_int(answer.value(), "session_expires_at");
    {
      std::lock_guard lock(self->mu_);
      self->st_.session_expires_at = expires_at;
    }
    self->persist();
    self->log(log_level::info, "session refreshed");
    if (handler) handler->on_session_refreshed(expires_at.value_or(0));
  });
}

// ---------------------------------------------------------------------------------------------
// Extension points

void client_impl::on_event(std::string type, event_handler handler) {
  event_handlers_[std::move(type)] = std::move(handler);
}

void client_impl::ws_request(json::object message, std::function<void(result<json::object>)> done) {
  if (auto failure = precondition(true)) return done(*failure);
  if (!ws_ || !ws_->welcomed())
    return done(error(error_code::network_error, "the WebSocket is not connected"));
  ws_->request(std::move(message), std::move(done));
}

// ---------------------------------------------------------------------------------------------
// Listeners and snapshots

std::uint64_t client_impl::add_connection_listener(std::shared_ptr<connection_listener> listener) {
  std::lock_guard lock(mu_);
  auto id = next_listener_id_++;
  if (listener) listeners_[id] = std::move(listener);
  return id;
}

void client_impl::remove_connection_listener(std::uint64_t id) {
  std::lock_guard lock(mu_);
  listeners_.erase(id);
}

void client_impl::set_session_handler(std::shared_ptr<session_handler> handler) {
  std::lock_guard lock(mu_);
  session_handler_ = std::move(handler);
}

bool client_impl::initialized() const {
  std::lock_guard lock(mu_);
  return initialized_;
}

std::string client_impl::app_id() const {
  std::lock_guard lock(mu_);
  return st_.app_id;
}

std::string client_impl::device_id() const {
  std::lock_guard lock(mu_);
  return st_.device_id;
}

std::optional<user> client_impl::current_user() const {
  std::lock_guard lock(mu_);
  return st_.current_user;
}

std::optional<std::string> client_impl::session_key() const {
  std::lock_guard lock(mu_);
  return st_.session_key;
}

std::optional<std::int64_t> client_impl::session_expires_at() const {
  std::lock_guard lock(mu_);
  return st_.session_expires_at;
}

std::vector<ice_server> client_impl::ice_servers() const {
  std::lock_guard lock(mu_);
  return st_.ice_servers;
}

std::vector<call_info> client_impl::cached_calls() const {
  std::lock_guard lock(mu_);
  return st_.calls;
}

connection_state client_impl::state() const {
  std::lock_guard lock(mu_);
  return conn_state_;
}

}  // namespace parley::detail
