#pragma once

// WebSocket client over plain TCP or TLS. Free of Boost types. Use on the io thread only;
// callbacks run there.
//
// Policy: one read always outstanding; writes go through a bounded queue (a peer that does not
// read is a dead peer: past `max_queued_messages` the connection is closed). Liveness: when
// nothing arrives for half of `idle_timeout` the client pings; when nothing arrives for another
// half the connection is closed as timed out.

#include "transport/endpoint.hpp"
#include "transport/event_loop.hpp"
#include "transport/tls_context.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace parley::transport {

struct ws_close_event {
  int code = 0;          // the close code of the peer's close frame; 0 when there was none
  std::string reason;    // the peer's close reason, or what failed
  bool by_peer = false;  // the peer sent a close frame
  bool opened = false;   // the WebSocket handshake had completed
};

struct ws_callbacks {
  std::function<void()> on_open;
  std::function<void(std::string text)> on_text;
  std::function<void()> on_binary;  // binary frames are not part of the protocol
  // Runs exactly once per connect(), whatever ended the connection (close() included).
  std::function<void(const ws_close_event&)> on_close;
};

struct ws_options {
  std::chrono::milliseconds handshake_timeout{15'000};  // connect, TLS and upgrade; closing too
  std::chrono::milliseconds idle_timeout{40'000};
  std::size_t max_queued_messages = 1024;
  std::size_t max_message_bytes = 1024 * 1024;
};

class ws_client {
 public:
  virtual ~ws_client() = default;

  // Makes a client for `target` (e.g. "/v1/ws"; the endpoint's base_path is prepended).
  static std::shared_ptr<ws_client> create(event_loop& loop, endpoint ep,
                                           std::shared_ptr<tls_context> tls, std::string target,
                                           ws_callbacks callbacks, ws_options options);

  // Resolves, connects, upgrades; then on_open, on_text per message, and on_close at the end.
  virtual void connect() = 0;
  // Queues a text message; ignored when not open.
  virtual void send(std::string text) = 0;
  // Starts the closing handshake (or aborts the connecting); on_close follows.
  virtual void close(int code, std::string reason = {}) = 0;
  // Changes the liveness timeout of an open connection (takes effect at the next check).
  virtual void set_idle_timeout(std::chrono::milliseconds timeout) = 0;
};

}  // namespace parley::transport
