#pragma once

// The body of parley::call, behind the public header's pointer: the state the snapshot getters
// read, the listener, and the io-thread side of the call. detail::client_impl (a friend of
// parley::call) is the only code outside call.cpp that reaches it.

#include <parley/call.hpp>
#include <parley/media.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace parley::detail {

class client_impl;

// The io-thread side of one call: which events were reported, and its media flow.
struct call_io {
  bool accepted_notified = false;
  bool ended_notified = false;
  bool media_started = false;  // the factory was asked (at most once)
  std::shared_ptr<media_engine> engine;
  bool remote_description_set = false;
  std::vector<std::string> pending_candidates;  // remote ones that came before the description
  bool media_connected_sent = false;
  // Calls made from a push (client_push.cpp).
  bool from_push = false;     // made by handle_push_payload, before the server listed it
  bool confirmed = false;     // since listed to this client (welcome, `ringing`) or acked
  int accepts_in_flight = 0;  // accept requests sent and not answered
  bool resolving = false;     // asking the call log how it ended
  std::vector<std::function<void()>> after_resolve;  // run once that is known
};

struct call_impl {
  call_impl(std::weak_ptr<client_impl> owner, call_info first_info, bool is_outgoing)
      : owner(std::move(owner)),
        outgoing(is_outgoing),
        id(first_info.call_id),
        info(std::move(first_info)) {}

  // Set once; read from any thread. Only a weak reference: the call may outlive its client.
  const std::weak_ptr<client_impl> owner;
  const bool outgoing;
  const std::string id;

  // Guarded by mu: written on the io thread, read by the getters and set_listener on any thread.
  mutable std::mutex mu;
  call_info info;
  std::optional<call_end_result> end_result;
  std::shared_ptr<call_listener> listener;

  // io thread only.
  call_io io;
};

}  // namespace parley::detail
