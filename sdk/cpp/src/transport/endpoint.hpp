#pragma once

// Where the transport connects, and how it checks TLS. Free of Boost types: the rest of the SDK
// includes this.

#include <string>

namespace parley::transport {

struct endpoint {
  bool tls = false;
  std::string host;       // name or IP literal (IPv6 without brackets)
  std::string port;       // decimal
  std::string base_path;  // "" or "/prefix" (no trailing slash); prepended to every target
};

struct tls_options {
  bool verify_peer = true;
  std::string ca_file;  // extra trust anchors (PEM), optional
};

}  // namespace parley::transport
