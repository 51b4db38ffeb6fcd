#pragma once

// The TLS settings of one client, shared by its HTTP requests and its WebSocket. Opaque outside
// the transport.

#include "transport/endpoint.hpp"

#include <memory>

namespace parley::transport {

class tls_context;

// Throws std::runtime_error when `options.ca_file` cannot be loaded.
std::shared_ptr<tls_context> make_tls_context(const tls_options& options);

}  // namespace parley::transport
