#pragma once
// One WebSocket connection: Beast's stream, a bounded outbound queue with one write in flight,
// the hello deadline, and the bridge to the API's per-connection handler. Everything runs on
// the connection's strand; send/close/drain may be called from any thread.

#include "api/context.hpp"
#include "transport/connection_limiter.hpp"
#include "transport/drain.hpp"
#include "transport/server.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace parley::transport {

// Takes over `stream` (after the HTTP upgrade request was read) and runs the session to its
// end. Stream is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>. `slot` is the
// connection's place under the caps, held until the connection ends.
template <class Stream>
void start_ws_session(Stream stream,
                      boost::beast::http::request<boost::beast::http::string_body> req,
                      std::string remote_address, api::context& ctx, const transport_config& cfg,
                      drain_registry& registry, std::shared_ptr<connection_slot> slot);

}  // namespace parley::transport
