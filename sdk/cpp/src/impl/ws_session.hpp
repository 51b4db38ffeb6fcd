#pragma once

// One WebSocket connection speaking the protocol, independent of what the messages mean:
//   - open(): connect, send hello, wait for welcome (or the error frame that refuses it);
//   - after welcome, every message is dispatched on its `type` to handlers::on_message, except
//     answers to requests: request() adds a req_id and completes with the matching `ack` or
//     `error` frame, or with network_error on timeout or when the connection ends.
// Later message families (direct calls, rooms) only add types to the owner's dispatch table.
// Use on the io thread only; handlers run there. Handlers must capture weak pointers.

#include <parley/client.hpp>
#include <parley/result.hpp>

#include "impl/codec.hpp"
#include "transport/endpoint.hpp"
#include "transport/event_loop.hpp"
#include "transport/tls_context.hpp"
#include "transport/ws_client.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace parley::detail {

class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  struct closed_info {
    transport::ws_close_event event;
    bool welcomed = false;           // a welcome had arrived on this connection
    bool welcome_timed_out = false;  // no welcome within connect_timeout
    std::optional<error> refusal;    // the error frame that refused the hello
  };

  struct handlers {
    std::function<void(const json::object& welcome)> on_welcome;
    std::function<void(const std::string& type, const json::object& message)> on_message;
    std::function<void(const closed_info& info)> on_closed;  // once, at the end
  };

  struct options {
    std::chrono::milliseconds connect_timeout{15'000};
    std::chrono::milliseconds request_timeout{15'000};
    std::function<void(log_level, std::string_view)> log;
  };

  ws_session(transport::event_loop& loop, options opts, handlers h);

  // Connects and sends `hello` as the first frame.
  void open(transport::endpoint ep, std::shared_ptr<transport::tls_context> tls,
            json::object hello);

  // Sends `message` with a fresh req_id; `done` runs once with the ack (the whole frame) or the
  // error. Fails at once with network_error when the connection is not welcomed.
  void request(json::object message, std::function<void(result<json::object>)> done);

  // Sends a message that expects no answer (ignored when not open).
  void send(const json::object& message);

  // Closes with `code`; on_closed follows.
  void close(int code);

  // Closes with `code` and forgets the owner: pending requests fail with network_error now, and
  // no handler runs any more.
  void abandon(int code);

  bool welcomed() const noexcept { return welcomed_; }

  // Liveness follows the server's heartbeat: silence for 2 x heartbeat (+ margin) ends the link.
  void set_heartbeat(std::chrono::seconds heartbeat);

 private:
  struct pending_request {
    std::function<void(result<json::object>)> done;
    std::unique_ptr<transport::timer> deadline;
  };

  void on_open(json::object hello);
  void on_text(const std::string& text);
  void on_close(const transport::ws_close_event& event);
  void complete(const std::string& req_id, result<json::object> outcome);
  void fail_pending(const std::string& why);
  void log(log_level level, std::string_view text) const;

  transport::event_loop& loop_;
  options opts_;
  handlers handlers_;
  std::shared_ptr<transport::ws_client> ws_;
  transport::timer welcome_timer_;
  std::map<std::string, pending_request> pending_;
  std::uint64_t next_req_ = 1;
  std::optional<error> refusal_;
  bool opened_ = false;
  bool welcomed_ = false;
  bool welcome_timed_out_ = false;
  bool closed_ = false;
};

}  // namespace parley::detail
