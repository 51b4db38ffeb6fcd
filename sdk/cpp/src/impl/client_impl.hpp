#pragma once

// The body of parley::client. Public methods may be called from any thread: they post their work
// to the io thread, where all state changes happen. A mutex guards what the snapshot getters read.
// Asynchronous completions capture weak_from_this(), so a late one never touches a dead client.

#include <parley/client.hpp>

#include "impl/call_impl.hpp"
#include "impl/codec.hpp"
#include "impl/storage.hpp"
#include "impl/ws_session.hpp"
#include "transport/endpoint.hpp"
#include "transport/event_loop.hpp"
#include "transport/http_client.hpp"
#include "transport/tls_context.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::detail {

class client_impl : public std::enable_shared_from_this<client_impl> {
 public:
  using void_callback = std::function<void(result<void>)>;
  using event_handler = std::function<void(const json::object& message)>;

  client_impl() = default;
  ~client_impl() = default;
  client_impl(const client_impl&) = delete;
  client_impl& operator=(const client_impl&) = delete;

  // Closes everything, fails what is pending with network_error, joins the io thread. Called by
  // ~client, never on the io thread.
  void shutdown();

  void init(std::string app_id, client_options options);
  void authenticate(auth_params params, std::function<void(result<user>)> done);
  void connect_websocket(void_callback done);
  void disconnect_websocket();
  void deauthenticate(deauth_options options, void_callback done);
  // token std::nullopt: every token of the type.
  void push_token(bool register_it, std::optional<std::string> token, push_token_type type,
                  void_callback done);

  // Pushes (client_push.cpp). The first form runs on the io thread and waits; the second posts.
  result<std::shared_ptr<call>> handle_push_payload(std::string_view payload);
  void handle_push_payload(std::string payload,
                           std::function<void(result<std::shared_ptr<call>>)> done);

  std::uint64_t add_connection_listener(std::shared_ptr<connection_listener> listener);
  void remove_connection_listener(std::uint64_t id);
  void set_session_handler(std::shared_ptr<session_handler> handler);

  bool initialized() const;
  std::string app_id() const;
  std::string device_id() const;
  std::optional<user> current_user() const;
  std::optional<std::string> session_key() const;
  std::optional<std::int64_t> session_expires_at() const;
  std::vector<ice_server> ice_servers() const;
  std::vector<call_info> cached_calls() const;
  connection_state state() const;

  // Direct calls (client_calls.cpp). Public entry points post to the io thread.
  void dial(dial_params params, std::function<void(result<std::shared_ptr<call>>)> done);
  void call_log(call_log_query query, std::function<void(result<call_log_page>)> done);
  std::uint64_t add_incoming_call_listener(std::shared_ptr<incoming_call_listener> listener);
  void remove_incoming_call_listener(std::uint64_t id);
  void set_media_engine_factory(media_engine_factory factory);
  std::vector<std::shared_ptr<call>> ongoing_calls() const;
  // The requests of parley::call: accept, decline, end, media_connected (acked with the call),
  // and signal, media_state (acked with `delivered`).
  void call_command(std::shared_ptr<call> c, std::string type, json::object fields,
                    std::function<void(result<json::object>)> done);
  // From a media engine's observer (any thread).
  void media_candidate(const std::string& call_id, std::string candidate);
  void media_connected(const std::string& call_id);
  void media_failed(const std::string& call_id, const std::string& reason);

  // Extension points for the message families of later issues (direct calls, rooms).
  // Registers the handler of a server message type (io thread; replaces an earlier one).
  void on_event(std::string type, event_handler handler);
  // Sends a request on the open WebSocket (io thread); `done` gets the ack frame or the error.
  void ws_request(json::object message, std::function<void(result<json::object>)> done);

 private:
  // Runs f(*this) on the io thread, unless the client is gone by then.
  void post(std::function<void(client_impl&)> f);
  void log(log_level level, const std::string& text) const;
  // The error that stops an operation before it sends anything, or std::nullopt.
  std::optional<error> precondition(bool needs_session) const;
  void persist();

  void api_call(const char* method, std::string target, std::optional<json::object> body,
                std::optional<std::string> bearer, std::function<void(result<json::value>)> done);
  void finish_authenticate(std::uint64_t epoch, credential_kind kind, result<json::value> answer,
                           const std::function<void(result<user>)>& done);
  // Deletes `tokens` (from index `next`) one after the other with the session `key`, forgetting
  // each one removed; then `then` with the first failure.
  void remove_push_tokens(std::vector<registered_push_token> tokens, std::size_t next,
                          std::string key, std::optional<error> failure,
                          std::function<void(std::optional<error>)> then);
  void finish_deauthenticate(std::uint64_t epoch, const std::string& key,
                             result<json::value> answer, std::optional<error> token_failure,
                             const void_callback& done);

  void start_connect(bool reconnecting);
  void on_welcome(std::uint64_t generation, const json::object& welcome);
  void on_message(std::uint64_t generation, const std::string& type, const json::object& message);
  void on_closed(std::uint64_t generation, const ws_session::closed_info& info);
  void schedule_reconnect();
  // Ends the connection (or the reconnecting) from this side, and reports `reason`.
  void close_locally(disconnect_reason reason, const std::string& message);
  void enter_disconnected(const disconnect_info& info, const error& waiter_error);
  void set_state(connection_state state);
  void notify(const std::function<void(connection_listener&)>& call);

  void on_session_expiring(const json::object& message);

  // Direct calls, io thread (client_calls.cpp).
  void register_call_handlers();
  void drop_calls();
  std::shared_ptr<call> find_call(const std::string& call_id) const;
  // The call object of `info`, made (and kept) when unknown; `created` says which.
  std::shared_ptr<call> adopt_call(const call_info& info, bool* created = nullptr);
  // Takes the server's newer view of a call (an ended call stays ended).
  void update_call(const std::shared_ptr<call>& c, const call_info& info);
  void call_accepted(const std::shared_ptr<call>& c);
  void call_ended(const std::shared_ptr<call>& c, const call_info& info);
  void ring(const std::shared_ptr<call>& c);
  void on_calls_welcome(const json::object& welcome);
  void on_call_event(const std::string& type, const json::object& message);
  void on_signal_event(const json::object& message);
  void start_media(const std::shared_ptr<call>& c, bool as_caller);
  void send_media_signal(const std::shared_ptr<call>& c, json::object data);
  void remote_description_applied(const std::shared_ptr<call>& c);
  void fire(const std::shared_ptr<call>& c, const std::function<void(call_listener&)>& f);
  std::string my_user_id() const;
  void send_refresh(std::optional<std::string> token);
  bool welcomed() const { return ws_ && ws_->welcomed(); }
  // Merges the server's `info` into the call's, keeping what only a push told.
  static void merge_info(call_info& into, const call_info& info);

  // The requests of parley::call on the io thread: held (push calls before the welcome) or sent.
  void run_call_command(std::shared_ptr<call> c, std::string type, json::object fields,
                        std::function<void(result<json::object>)> done);
  void send_call_command(std::shared_ptr<call> c, std::string type, json::object fields,
                         std::function<void(result<json::object>)> done);

  // Pushes and held actions, io thread (client_push.cpp).
  result<std::shared_ptr<call>> on_push(std::string_view payload);
  result<std::shared_ptr<call>> push_incoming(const json::object& p);
  result<std::shared_ptr<call>> push_cancel(const json::object& p);
  void arm_push_deadline(const std::shared_ptr<call>& c);
  void push_deadline_passed(const std::string& call_id);
  // Sends the held actions, in order (after a welcome).
  void flush_held();
  // Fails the held actions of `c` (nullptr: all of them) with `err`.
  void fail_held(const std::shared_ptr<call>& c, const error& err);
  bool has_held(const std::shared_ptr<call>& c) const;
  // A push call the server does not list (or refused an action on): ends it with its end result
  // from the call log (`unknown` when not found), then runs `then`.
  void resolve_end(const std::shared_ptr<call>& c, std::function<void()> then);
  void finish_resolve(const std::shared_ptr<call>& c, std::optional<call_info> logged);

  // First member: destroyed last, so the io_context outlives every timer and socket below.
  transport::event_loop loop_;

  // Guarded by mu_: written on the io thread, read by the getters from any thread.
  mutable std::mutex mu_;
  bool initialized_ = false;
  stored_state st_;
  connection_state conn_state_ = connection_state::disconnected;
  std::map<std::uint64_t, std::shared_ptr<connection_listener>> listeners_;
  std::uint64_t next_listener_id_ = 1;
  std::shared_ptr<session_handler> session_handler_;
  std::map<std::string, std::shared_ptr<call>> calls_;  // not ended, by call id
  std::map<std::uint64_t, std::shared_ptr<incoming_call_listener>> incoming_listeners_;
  media_engine_factory media_factory_;

  // io thread only.
  client_options options_;
  transport::endpoint endpoint_;
  std::shared_ptr<transport::tls_context> tls_;
  std::unique_ptr<transport::http_client> http_;
  std::optional<state_store> store_;
  std::uint64_t epoch_ = 0;  // +1 per init(): answers for an earlier binding change nothing
  std::shared_ptr<ws_session> ws_;
  std::uint64_t ws_generation_ = 0;  // +1 per connection: events of an older one are ignored
  std::vector<void_callback> connect_waiters_;
  transport::timer reconnect_timer_{loop_};
  int reconnect_attempt_ = 0;
  bool refresh_in_progress_ = false;
  bool shutting_down_ = false;
  std::unordered_map<std::string, event_handler> event_handlers_;
  std::set<std::string> rung_;  // call ids on_ringing was fired for
  // Call ids that ended on this client, or that a cancel push named before any incoming push:
  // a late incoming push for one of them is refused.
  std::set<std::string> ended_ids_;
  // accept/decline/end of push calls waiting for the welcome, in the order they were called.
  struct held_action {
    std::shared_ptr<call> c;
    std::string type;
    json::object fields;
    std::function<void(result<json::object>)> done;
  };
  std::vector<held_action> held_;
  // Per push call not yet listed by the server: ends it locally once its ringing deadline passed.
  std::map<std::string, std::unique_ptr<transport::timer>> push_timers_;
};

}  // namespace parley::detail
