#pragma once

// Direct (1:1) calls: dial parameters, the call object, its listener, and the call log page.
//
// A parley::call is shared (std::shared_ptr): the client keeps the calls it knows that have not
// ended, and the app may keep them as long as it likes. A call holds only a weak reference to its
// client: after the client is destroyed its methods fail with network_error and it hears nothing
// more. Methods may be called from any thread; listeners run on the client's io thread (do not
// wait on a future of the same client there: use the callback forms).

#include <parley/error.hpp>
#include <parley/result.hpp>
#include <parley/types.hpp>

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

namespace detail {
class client_impl;
struct call_impl;
}  // namespace detail

class call;

// Why a call ended (the protocol's `end_result`).
enum class call_end_result {
  completed,              // ended by either party after it was established
  canceled,               // the caller ended it while it rang
  declined,               // the callee declined (or ended) it while it rang
  no_answer,              // nobody answered within the app's ringing timeout
  other_device_accepted,  // only on the callee's other devices: one of them accepted
  timed_out,              // established, but media never connected in time
  connection_lost,        // a party's connection dropped and did not come back within the grace
  unknown,                // the server restarted mid-call, or this device was offline at the end
};

std::string_view to_string(call_end_result r) noexcept;
// `unknown` for anything it does not know.
call_end_result call_end_result_from_string(std::string_view text) noexcept;

// Hears what happens to one call. Every method runs on the client's io thread; defaults do
// nothing. Do not keep a strong reference to the call inside the listener that the call holds
// (a cycle): use the argument.
class call_listener {
 public:
  virtual ~call_listener() = default;

  // The call is established: the callee accepted (on the caller: the `accepted` event; on the
  // accepting callee device: its accept succeeded).
  virtual void on_accepted(const std::shared_ptr<call>& c) { (void)c; }
  // Media connected on both ends as the server saw it first (the `connected` event).
  virtual void on_connected(const std::shared_ptr<call>& c) { (void)c; }
  // The call ended for this device; `c->info()` has the final call object. Once per call.
  virtual void on_ended(const std::shared_ptr<call>& c, call_end_result result) {
    (void)c;
    (void)result;
  }
  // The peer turned its audio or video on or off.
  virtual void on_remote_media_state(const std::shared_ptr<call>& c, bool audio, bool video) {
    (void)c;
    (void)audio;
    (void)video;
  }
  // The peer's connection dropped; the server holds the call for the app's reconnect grace.
  virtual void on_reconnecting(const std::shared_ptr<call>& c) { (void)c; }
  // The peer came back within the grace.
  virtual void on_reconnected(const std::shared_ptr<call>& c) { (void)c; }
  // A signal from the peer (`data`: JSON text). Signals the SDK's media flow consumes (offer,
  // answer, candidate, while a media engine runs the call) do not come here.
  virtual void on_signal(const std::shared_ptr<call>& c, const std::string& data) {
    (void)c;
    (void)data;
  }
};

// Hears calls that ring on this device. Runs on the io thread.
class incoming_call_listener {
 public:
  virtual ~incoming_call_listener() = default;
  // A call to this user rings: from the `ringing` event, or from a ringing call in the welcome of
  // a (re)connection. Once per call id per client.
  virtual void on_ringing(const std::shared_ptr<call>& c) = 0;
};

struct dial_params {
  std::string callee_id;
  bool is_video = false;
  std::map<std::string, std::string> custom_items;  // at most 16 pairs, 128 bytes each
  // Set before any event of the call can arrive (optional; call::set_listener works too).
  std::shared_ptr<call_listener> listener;
};

struct call_log_query {
  int limit = 20;                   // 1..100
  std::optional<std::string> next;  // the cursor of the previous page; none: the newest calls
};

struct call_log_page {
  std::vector<call_info> calls;     // newest first
  std::optional<std::string> next;  // cursor of the next page; none: this was the last
};

class call : public std::enable_shared_from_this<call> {
 public:
  ~call();
  call(const call&) = delete;
  call& operator=(const call&) = delete;

  // Snapshots; safe from any thread.
  std::string id() const;
  call_info info() const;
  bool is_outgoing() const;  // dialled by this user
  std::string peer_id() const;
  bool ended() const;
  std::optional<call_end_result> end_result() const;

  // Replaces the listener (nullptr: none). Events that came before it was set are not replayed.
  void set_listener(std::shared_ptr<call_listener> listener);

  // accept, decline and end of a call made from a push (client::handle_push_payload) that are
  // called before the client's WebSocket was welcomed are held, in order, and sent once it is;
  // docs/sdk-cpp.md, "Calls from a push", has the rules (when they fail instead, and with what).
  //
  // Callee, while ringing: take the call on this device. Errors: invalid_call_state (another
  // device accepted, or it ended), forbidden, network_error.
  void accept(std::function<void(result<void>)> done);
  std::future<void> accept();
  // Callee, while ringing: refuse it (end result `declined` for everybody).
  void decline(std::function<void(result<void>)> done);
  std::future<void> decline();
  // Either party: `canceled` (caller while ringing), `declined` (callee while ringing) or
  // `completed`.
  void end(std::function<void(result<void>)> done);
  std::future<void> end();
  // Relays JSON text to the peer (at most 64 KiB); true when it was delivered, false when the
  // peer's connection is down (the signal is dropped). invalid_request when `data` is not JSON.
  void send_signal(std::string data, std::function<void(result<bool>)> done);
  std::future<bool> send_signal(std::string data);
  // Reports that media flows (the SDK does this itself when a media engine runs the call).
  void report_media_connected(std::function<void(result<void>)> done);
  std::future<void> report_media_connected();
  // Tells the peer whether this side sends audio and video; true when delivered.
  void set_media_state(bool audio, bool video, std::function<void(result<bool>)> done);
  std::future<bool> set_media_state(bool audio, bool video);

 private:
  friend class detail::client_impl;
  call(std::weak_ptr<detail::client_impl> owner, call_info info, bool outgoing);

  // The state behind the getters, the listener and the io-thread side (src/impl/call_impl.hpp).
  std::unique_ptr<detail::call_impl> impl_;
};

}  // namespace parley
