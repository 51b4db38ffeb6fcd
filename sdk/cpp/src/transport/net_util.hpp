#pragma once

// Small helpers shared by the HTTP and WebSocket clients (transport's own .cpp files only).

#include "transport/endpoint.hpp"

#include <boost/asio/ip/address.hpp>

#include <string>

namespace parley::transport {

// The Host header value: the port is left out when it is the scheme's default.
inline std::string host_header(const endpoint& ep) {
  bool ipv6 = ep.host.find(':') != std::string::npos;
  std::string host = ipv6 ? "[" + ep.host + "]" : ep.host;
  bool default_port = (ep.tls && ep.port == "443") || (!ep.tls && ep.port == "80");
  return default_port ? host : host + ":" + ep.port;
}

inline bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace parley::transport
