#include "transport/tls_context_impl.hpp"

#include <stdexcept>

namespace parley::transport {

namespace ssl = boost::asio::ssl;

tls_context::tls_context(const tls_options& options)
    : ctx_(ssl::context::tls_client), verify_peer_(options.verify_peer) {
  // TLS 1.2 or newer only; the server's certificate is checked against the system store and the
  // extra CA file, and its name is checked per connection (see the callers'
  // host_name_verification).
  ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  ctx_.set_default_verify_paths(ec);  // a system without a trust store still works with ca_file
  if (!options.ca_file.empty()) {
    ctx_.load_verify_file(options.ca_file, ec);
    if (ec)
      throw std::runtime_error("cannot load TLS CA file " + options.ca_file + ": " + ec.message());
  }
  ctx_.set_verify_mode(options.verify_peer ? ssl::verify_peer : ssl::verify_none);
}

std::shared_ptr<tls_context> make_tls_context(const tls_options& options) {
  return std::make_shared<tls_context>(options);
}

}  // namespace parley::transport
