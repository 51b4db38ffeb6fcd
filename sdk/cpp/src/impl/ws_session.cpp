#include "impl/ws_session.hpp"

#include <boost/json/serialize.hpp>

namespace parley::detail {

namespace {
constexpr const char* ws_path = "/v1/ws";
}

ws_session::ws_session(transport::event_loop& loop, options opts, handlers h)
    : loop_(loop), opts_(std::move(opts)), handlers_(std::move(h)), welcome_timer_(loop) {}

void ws_session::open(transport::endpoint ep, std::shared_ptr<transport::tls_context> tls,
                      json::object hello) {
  std::weak_ptr<ws_session> weak = weak_from_this();
  transport::ws_callbacks cb;
  cb.on_open = [weak, hello = std::move(hello)]() mutable {
    if (auto self = weak.lock()) self->on_open(std::move(hello));
  };
  cb.on_text = [weak](std::string text) {
    if (auto self = weak.lock()) self->on_text(text);
  };
  cb.on_binary = [weak] {
    if (auto self = weak.lock()) self->log(log_level::warning, "ignored a binary WebSocket frame");
  };
  cb.on_close = [weak](const transport::ws_close_event& event) {
    if (auto self = weak.lock()) self->on_close(event);
  };
  transport::ws_options wo;
  wo.handshake_timeout = opts_.connect_timeout;
  ws_ = transport::ws_client::create(loop_, std::move(ep), std::move(tls), ws_path, std::move(cb),
                                     wo);
  // The whole of connect, upgrade, hello and welcome must fit in connect_timeout.
  welcome_timer_.start(opts_.connect_timeout, [weak] {
    auto self = weak.lock();
    if (!self || self->welcomed_ || self->closed_) return;
    self->welcome_timed_out_ = true;
    self->ws_->close(1000);
  });
  ws_->connect();
}

void ws_session::on_open(json::object hello) {
  opened_ = true;
  send(hello);
}

void ws_session::send(const json::object& message) {
  if (!ws_ || !opened_ || closed_) return;
  ws_->send(json::serialize(message));
}

void ws_session::request(json::object message, std::function<void(result<json::object>)> done) {
  if (!welcomed_ || closed_) {
    done(error(error_code::network_error, "the WebSocket is not connected"));
    return;
  }
  auto req_id = "r" + std::to_string(next_req_++);
  message["req_id"] = req_id;
  auto& entry = pending_[req_id];
  entry.done = std::move(done);
  entry.deadline = std::make_unique<transport::timer>(loop_);
  entry.deadline->start(opts_.request_timeout, [weak = weak_from_this(), req_id] {
    if (auto self = weak.lock())
      self->complete(req_id, error(error_code::network_error, "no answer from the server in time"));
  });
  send(message);
}

void ws_session::close(int code) {
  if (ws_ && !closed_) ws_->close(code);
}

void ws_session::abandon(int code) {
  if (closed_) return;
  closed_ = true;
  welcome_timer_.cancel();
  handlers_ = {};
  fail_pending("the WebSocket was closed by the client");
  if (ws_) ws_->close(code);
}

void ws_session::fail_pending(const std::string& why) {
  // Every request still waiting gets its one answer.
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, entry] : pending) entry.done(error(error_code::network_error, why));
}

void ws_session::set_heartbeat(std::chrono::seconds heartbeat) {
  if (!ws_ || heartbeat.count() <= 0) return;
  // The server pings every heartbeat when idle; twice that plus a margin without a byte from it
  // means the link is gone even if TCP has not noticed.
  ws_->set_idle_timeout(std::chrono::duration_cast<std::chrono::milliseconds>(2 * heartbeat) +
                        std::chrono::milliseconds{5000});
}

void ws_session::complete(const std::string& req_id, result<json::object> outcome) {
  auto it = pending_.find(req_id);
  if (it == pending_.end()) return;  // answered already, or timed out
  auto done = std::move(it->second.done);
  pending_.erase(it);
  done(std::move(outcome));
}

void ws_session::on_text(const std::string& text) {
  auto v = parse_json(text);
  if (!v || !v->is_object()) {
    log(log_level::warning, "ignored a WebSocket message that is not a JSON object");
    return;
  }
  const auto& msg = v->get_object();
  auto type = get_string(msg, "type");
  if (!type) {
    log(log_level::warning, "ignored a WebSocket message without a type");
    return;
  }
  auto req_id = get_string(msg, "req_id");

  // Answers to requests go to whoever waits for them.
  if (*type == "ack" && req_id) {
    complete(*req_id, json::object(msg));
    return;
  }
  if (*type == "error") {
    auto err = error_from_frame(msg);
    if (req_id && pending_.count(*req_id)) {
      complete(*req_id, std::move(err));
      return;
    }
    if (!welcomed_) {
      // The hello was refused; the close (4001) follows and reports it.
      refusal_ = std::move(err);
      return;
    }
  }

  if (*type == "welcome" && !welcomed_) {
    welcomed_ = true;
    welcome_timer_.cancel();
    if (handlers_.on_welcome) handlers_.on_welcome(msg);
    return;
  }
  if (!welcomed_) return;  // nothing but welcome or error is expected before welcome
  if (handlers_.on_message) handlers_.on_message(*type, msg);
}

void ws_session::on_close(const transport::ws_close_event& event) {
  if (closed_) return;
  closed_ = true;
  welcome_timer_.cancel();
  fail_pending("the WebSocket closed before the answer");
  closed_info info;
  info.event = event;
  info.welcomed = welcomed_;
  info.welcome_timed_out = welcome_timed_out_;
  info.refusal = refusal_;
  auto on_closed = std::move(handlers_.on_closed);
  handlers_ = {};
  if (on_closed) on_closed(info);
}

void ws_session::log(log_level level, std::string_view text) const {
  if (opts_.log) opts_.log(level, text);
}

}  // namespace parley::detail
