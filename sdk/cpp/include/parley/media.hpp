#pragma once

// The media engine a call drives: the SDK does the signalling (offer, answer and ICE candidates
// over the call's `signal` relay) and reports `media_connected` when the engine says media flows;
// the engine does the media. The real WebRTC engine plugs in here; a fake one that exercises the
// whole path without any media is in <parley/testing/loopback_media_engine.hpp>.
//
// Threading: the SDK calls an engine's methods on the client's io thread; they must not block.
// The engine may answer (the `done` callbacks) and report (the observer) from any thread, once the
// method returned or from inside it.

#include <parley/result.hpp>
#include <parley/types.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace parley {

// What an engine reports to the SDK. Implemented by the SDK; safe to call from any thread, and
// after the call or the client is gone (the calls are then ignored).
class media_engine_observer {
 public:
  virtual ~media_engine_observer() = default;
  // A local ICE candidate (opaque text) to trickle to the peer.
  virtual void on_local_candidate(std::string candidate) = 0;
  // Media flows: the SDK sends `media_connected` (once per call).
  virtual void on_media_connected() = 0;
  // The engine gave up; the SDK logs it and the call ends by the server's connection timeout
  // unless the app ends it first.
  virtual void on_media_failed(std::string reason) = 0;
};

// One call's media session. Made by the client's media_engine_factory when a call is established
// (the caller when `accepted` arrives, the callee when its accept succeeded).
class media_engine {
 public:
  using sdp_callback = std::function<void(result<std::string> sdp)>;

  virtual ~media_engine() = default;

  // Called once, before anything else.
  virtual void start(std::shared_ptr<media_engine_observer> observer) = 0;
  // Caller: make the offer (SDP text); the SDK sends it to the callee.
  virtual void create_offer(sdp_callback done) = 0;
  // Callee: take the caller's offer and make the answer; the SDK sends it back.
  virtual void apply_offer(std::string offer, sdp_callback done) = 0;
  // Caller: take the callee's answer.
  virtual void apply_answer(std::string answer) = 0;
  // A candidate of the peer. The SDK passes candidates only after the remote description was
  // applied (earlier ones wait in the SDK).
  virtual void add_remote_candidate(std::string candidate) = 0;
  // The call ended (or the client shut down): release the media. Called once; nothing follows.
  virtual void close() = 0;
};

// Makes the engine of one call; `ice_servers` are the session's STUN/TURN servers. Returning
// nullptr leaves the call without media handled by the SDK (its signals go to the listener).
using media_engine_factory = std::function<std::shared_ptr<media_engine>(
    const call_info& call, const std::vector<ice_server>& ice_servers)>;

}  // namespace parley
