#pragma once

// The Asio SSL context behind tls_context, for the transport's own .cpp files only.

#include "transport/tls_context.hpp"

#include <boost/asio/ssl/context.hpp>

namespace parley::transport {

class tls_context {
 public:
  explicit tls_context(const tls_options& options);

  boost::asio::ssl::context& native() noexcept { return ctx_; }
  bool verify_peer() const noexcept { return verify_peer_; }

 private:
  boost::asio::ssl::context ctx_;
  bool verify_peer_;
};

}  // namespace parley::transport
