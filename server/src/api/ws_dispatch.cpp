#include "api/ws_dispatch.hpp"

#include "api/json_codec.hpp"
#include "api/responses.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "common/log.hpp"
#include "services/limits.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>

namespace parley::api {

namespace json = boost::json;
using services::close_code::session_invalid;

namespace {

constexpr millis expiring_lead_ms = 60'000;
// The most calls a welcome lists (the newest ones), so that it stays far below the send cap
// however many calls the user has; `ongoing_calls_more` says when there are others.
constexpr std::size_t welcome_calls = 50;

std::string frame(const json::object& o) {
  return json::serialize(o);
}

// Token bucket: `rate` per second, holding up to twice that.
class message_budget {
 public:
  explicit message_budget(int rate)
      : rate_(rate), tokens_(2.0 * rate), last_(std::chrono::steady_clock::now()) {}
  bool take() {
    auto now = std::chrono::steady_clock::now();
    tokens_ =
        std::min(2.0 * rate_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

class connection_handler final : public ws_handler {
 public:
  connection_handler(context& ctx, std::shared_ptr<services::client_connection> conn)
      : ctx_(ctx), conn_(std::move(conn)), budget_(ctx.config.ws_msg_rate) {}

  ~connection_handler() override { on_close(); }

  bool on_text(std::string_view text) override {
    pending_ = false;
    handle_text(text);
    return pending_;
  }

  void handle_text(std::string_view text) {
    if (closed_) return;
    if (!budget_.take()) {
      close(services::close_code::rate_limited, "too many messages");
      return;
    }
    auto msg = parse_object(text);
    if (!msg) {
      if (!hello_done_) return reject_hello(msg.error());
      return send_error(msg.error(), "");
    }
    std::string req_id;
    if (auto p = msg->if_contains("req_id");
        p && p->is_string() && p->as_string().size() <= limits::req_id_bytes)
      req_id = p->as_string();
    auto type = opt_string(*msg, "type", 64);
    if (!type || !*type) {
      auto f = type ? fail(errc::invalid_request, "type is required", "type") : type.error();
      if (!hello_done_) return reject_hello(f);
      return send_error(f, req_id);
    }
    if (!hello_done_) return hello(*msg, **type);
    dispatch(*msg, **type, req_id);
  }

  void on_binary() override {
    if (closed_) return;
    auto f = fail(errc::invalid_request, "messages are JSON text frames");
    if (!hello_done_) return reject_hello(f);
    send_error(f, "");
  }

  void on_close() override {
    if (closed_) return;
    closed_ = true;
    if (handle_) {
      ctx_.hub.remove(handle_);
      // Calls this connection carried start their reconnect grace.
      ctx_.calls.connection_closed(me_.connection_id, now_ms());
    }
    handle_ = 0;
  }

 private:
  void send(const json::object& o) { conn_->send(frame(o)); }
  void send_error(const failure& f, std::string_view req_id) { send(error_frame(f, req_id)); }
  void close(int code, const std::string& reason) {
    conn_->close(code, reason);
    ctx_.stats.ws_closes_total.add({std::to_string(code)});
    on_close();
  }
  void reject_hello(const failure& f) {
    send_error(f, "");
    close(session_invalid, "hello failed");
  }

  // First frame: {"type": "hello", "session_key", "device_id"?} → welcome, or error + 4001.
  void hello(const json::object& msg, const std::string& type) {
    if (type != "hello")
      return reject_hello(fail(errc::invalid_request, "the first message must be hello", "type"));
    auto key = req_string(msg, "session_key", limits::token_bytes);
    if (!key) return reject_hello(key.error());
    auto device = opt_string(msg, "device_id", limits::device_id_bytes);
    if (!device) return reject_hello(device.error());
    if (auto r = limits::check_device_id(*device); !r) return reject_hello(r.error());
    auto s = ctx_.auth.verify(*key, now_ms());
    if (!s) return reject_hello(s.error());

    session_ = s->session;
    services::connection_info info;
    info.connection_id = crypto::uuid_v4();
    info.app_id = session_.app_id;
    info.user_id = session_.user_id;
    info.session_hash = session_.key_hash;
    info.source = session_.source;
    info.device_id = device->value_or("");
    info.expires_at = session_.expires_at;
    handle_ = ctx_.hub.add(conn_, info);
    hello_done_ = true;
    // A revocation between the check above and the registration would miss this connection;
    // checking again after registering closes that gap.
    if (auto again = ctx_.auth.verify(*key, now_ms()); !again) return reject_hello(again.error());

    me_ = {info.app_id, info.user_id, info.connection_id, info.device_id};
    // The welcome lists the user's ongoing calls once those lost by this device are rebound to
    // this connection (committed): then it goes from the store's thread, and reading waits for
    // it. With nothing to rebind it goes at once, and reading is not held.
    enum : int { waiting, sent_inline, held };
    auto state = std::make_shared<std::atomic<int>>(waiting);
    json::object welcome{
        {"type", "welcome"},
        {"connection_id", info.connection_id},
        {"user", to_json(s->user)},
        {"session_expires_at", to_json(session_.expires_at)},
        {"heartbeat_s", ctx_.config.heartbeat_s},
        {"ongoing_calls", json::array()},
        {"ongoing_calls_more", false},
        {"ice_servers", to_json(ctx_.auth.ice_servers(session_.user_id, now_ms()))}};
    ctx_.calls.connection_opened(
        me_, now_ms(),
        [conn = conn_, state,
         welcome = std::move(welcome)](result<std::vector<store::call_record>> calls) mutable {
          json::array ongoing;
          bool more = false;
          if (calls) {
            // Oldest first (by dial time, then by insertion: dials in one millisecond keep
            // their order), so the newest welcome_calls are the last ones.
            std::size_t skip = calls->size() > welcome_calls ? calls->size() - welcome_calls : 0;
            more = skip > 0;
            for (std::size_t i = skip; i < calls->size(); ++i)
              ongoing.push_back(to_json((*calls)[i]));
          }
          welcome["ongoing_calls"] = std::move(ongoing);
          welcome["ongoing_calls_more"] = more;
          conn->send(frame(welcome));
          int expected = waiting;
          if (!state->compare_exchange_strong(expected, sent_inline)) conn->resume_reading();
        });
    int expected = waiting;
    pending_ = state->compare_exchange_strong(expected, held);
  }

  void dispatch(const json::object& msg, const std::string& type, const std::string& req_id) {
    if (type == "ping") return send({{"type", "pong"}});
    if (type == "hello")
      return send_error(fail(errc::invalid_request, "already authenticated", "type"), req_id);
    using handler_fn = void (connection_handler::*)(const json::object&, const std::string&);
    static const std::pair<std::string_view, handler_fn> requests[] = {
        {"refresh", &connection_handler::refresh},
        {"dial", &connection_handler::dial},
        {"accept", &connection_handler::call_request<&services::call_service::accept>},
        {"decline", &connection_handler::call_request<&services::call_service::decline>},
        {"end", &connection_handler::call_request<&services::call_service::end>},
        {"media_connected",
         &connection_handler::call_request<&services::call_service::media_connected>},
        {"signal", &connection_handler::signal},
        {"media_state", &connection_handler::media_state},
    };
    for (const auto& [name, fn] : requests) {
      if (name != type) continue;
      // Every request carries a req_id and gets exactly one ack or error for it.
      if (req_id.empty())
        return send_error(fail(errc::invalid_request, "req_id must be 1 to 64 bytes", "req_id"),
                          "");
      return (this->*fn)(msg, req_id);
    }
    send_error(fail(errc::invalid_request, "unknown message type", "type"), req_id);
  }

  // The answer to a call request, sent when the service calls back (after the commit, often
  // on a store thread): it holds the connection, not this handler, which may be gone by then.
  // Reading stays held until it is sent.
  services::call_service::call_callback answer_call(const std::string& req_id) {
    pending_ = true;
    return [conn = conn_, req_id](result<store::call_record> r) {
      conn->send(frame(r ? json::object{{"type", "ack"}, {"req_id", req_id}, {"call", to_json(*r)}}
                         : error_frame(r.error(), req_id)));
      conn->resume_reading();
    };
  }

  // dial {callee_id, is_video, custom_items?}
  void dial(const json::object& msg, const std::string& req_id) {
    auto callee = req_string(msg, "callee_id", limits::user_id_bytes);
    if (!callee) return send_error(callee.error(), req_id);
    auto video = opt_bool(msg, "is_video");
    if (!video || !*video)
      return send_error(
          video ? fail(errc::invalid_request, "is_video is required", "is_video") : video.error(),
          req_id);
    auto items = opt_string_map(msg, "custom_items");
    if (!items) return send_error(items.error(), req_id);
    services::dial_request req{*callee, **video, items->value_or(store::string_map{})};
    ctx_.calls.dial(me_, req, now_ms(), answer_call(req_id));
  }

  result<std::string> call_id_of(const json::object& msg) {
    auto id = req_string(msg, "call_id", 64);
    if (!id) return id.error();
    return std::move(*id);
  }

  // accept, decline, end and media_connected: {call_id} → the service's transition → ack {call}.
  using transition_fn = void (services::call_service::*)(const services::caller_context&,
                                                         const std::string&, millis,
                                                         services::call_service::call_callback);
  template <transition_fn fn>
  void call_request(const json::object& msg, const std::string& req_id) {
    auto id = call_id_of(msg);
    if (!id) return send_error(id.error(), req_id);
    (ctx_.calls.*fn)(me_, *id, now_ms(), answer_call(req_id));
  }

  // signal {call_id, data}: relayed as-is to the other bound connection.
  void signal(const json::object& msg, const std::string& req_id) {
    auto id = call_id_of(msg);
    if (!id) return send_error(id.error(), req_id);
    auto data = msg.if_contains("data");
    if (!data || data->is_null())
      return send_error(fail(errc::invalid_request, "data is required", "data"), req_id);
    auto target = ctx_.calls.relay(me_, *id);
    if (!target) return send_error(target.error(), req_id);
    bool delivered = ctx_.hub.send_to_connection(
        target->second,
        json::serialize(json::object{
            {"type", "signal"}, {"call_id", *id}, {"from_user_id", me_.user_id}, {"data", *data}}));
    send({{"type", "ack"}, {"req_id", req_id}, {"delivered", delivered}});
  }

  // media_state {call_id, audio, video}: relayed as remote_media_state.
  void media_state(const json::object& msg, const std::string& req_id) {
    auto id = call_id_of(msg);
    if (!id) return send_error(id.error(), req_id);
    auto audio = opt_bool(msg, "audio");
    if (!audio || !*audio)
      return send_error(
          audio ? fail(errc::invalid_request, "audio is required", "audio") : audio.error(),
          req_id);
    auto video = opt_bool(msg, "video");
    if (!video || !*video)
      return send_error(
          video ? fail(errc::invalid_request, "video is required", "video") : video.error(),
          req_id);
    auto target = ctx_.calls.relay(me_, *id);
    if (!target) return send_error(target.error(), req_id);
    bool delivered = ctx_.hub.send_to_connection(
        target->second, json::serialize(json::object{{"type", "remote_media_state"},
                                                     {"call_id", *id},
                                                     {"audio", **audio},
                                                     {"video", **video}}));
    send({{"type", "ack"}, {"req_id", req_id}, {"delivered", delivered}});
  }

  void refresh(const json::object& msg, const std::string& req_id) {
    auto token = opt_string(msg, "session_token", limits::token_bytes);
    if (!token) return send_error(token.error(), req_id);
    auto jwt = opt_string(msg, "jwt", limits::token_bytes);
    if (!jwt) return send_error(jwt.error(), req_id);
    auto at = ctx_.auth.refresh(session_, *token, *jwt, conn_->remote_address(), now_ms());
    if (!at) return send_error(at.error(), req_id);
    ctx_.hub.set_session(handle_, session_.source, session_.expires_at);
    send({{"type", "ack"}, {"req_id", req_id}, {"session_expires_at", *at}});
  }

  context& ctx_;
  std::shared_ptr<services::client_connection> conn_;
  message_budget budget_;
  bool hello_done_ = false;
  bool closed_ = false;
  bool pending_ = false;  // the message being handled is answered later (answer_call)
  services::connection_hub::handle handle_ = 0;
  store::session_record session_;
  services::caller_context me_;
};

}  // namespace

std::unique_ptr<ws_handler> open_ws_handler(context& ctx,
                                            std::shared_ptr<services::client_connection> conn) {
  return std::make_unique<connection_handler>(ctx, std::move(conn));
}

void sweep_sessions(context& ctx, millis now) {
  ctx.hub.sweep(
      now, expiring_lead_ms,
      [](services::client_connection& c, millis at) {
        c.send(frame({{"type", "session_expiring"}, {"expires_at", at}}));
      },
      [&](services::client_connection& c) {
        c.send(frame(error_frame(fail(errc::session_expired, "the session has expired"), "")));
        c.close(session_invalid, "session expired");
        ctx.stats.ws_closes_total.add({std::to_string(session_invalid)});
      });
}

}  // namespace parley::api
