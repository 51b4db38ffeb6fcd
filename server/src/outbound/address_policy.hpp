#pragma once
// Which addresses the server may send outbound HTTP to (webhooks, push gateways, APNs, FCM).
//
// An app chooses its webhook and push URLs; without a policy it could make the server POST into
// the operator's own network (loopback services, cloud metadata at 169.254.169.254, private
// ranges) and read the outcome back: server-side request forgery. Every address is classified
// here; only global unicast addresses are allowed, plus loopback and private ranges when the
// operator opts in (--allow-private-outbound, for tests and development). Link-local (cloud
// metadata), unspecified, multicast, broadcast, documentation and reserved ranges are refused
// even then: none of them is a real receiver.
//
// Pure functions, no I/O; thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

struct sockaddr;

namespace parley::outbound {

enum class address_kind {
  global,           // public unicast
  loopback,         // 127/8, ::1
  private_network,  // 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7, fec0::/10
  link_local,       // 169.254/16, fe80::/10 (cloud metadata lives here)
  unspecified,      // 0/8, :: (connecting to 0.0.0.0 reaches the local host on Linux)
  multicast,        // 224/4, ff00::/8
  broadcast,        // 255.255.255.255
  documentation,    // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
  benchmarking,     // 198.18/15, 2001:2::/48
  reserved,         // 240/4, IETF protocol assignments, discard-only, non-global IPv6
};

// "global", "loopback", ...: for logs.
const char* to_string(address_kind k);

struct address_policy {
  // Loopback and private ranges allowed (the operator's --allow-private-outbound).
  bool allow_private = false;
};

bool allowed(address_kind k, const address_policy& p);

using ipv4 = std::uint32_t;                 // host byte order
using ipv6 = std::array<std::uint8_t, 16>;  // network byte order
using ip_address = std::variant<ipv4, ipv6>;

address_kind classify(ipv4 a);
// IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96), NAT64 (64:ff9b::/96) and 6to4
// (2002::/16) addresses are judged by the IPv4 address they carry.
address_kind classify(const ipv6& a);
address_kind classify(const ip_address& a);
// AF_INET or AF_INET6; any other family is `reserved`.
address_kind classify(const sockaddr* sa);

// The address a URL host names when it is an IP literal in any form the resolver accepts:
// dotted, short ("127.1"), hex ("0x7f000001", "0x7f.1"), octal ("0177.0.0.1"), decimal
// ("2130706433") — inet_aton's forms, which getaddrinfo accepts too — with or without one
// trailing dot, or an IPv6 literal with or without brackets and a zone id ("[fe80::1%25eth0]").
// nullopt: a name, to be judged when it is resolved.
std::optional<ip_address> parse_ip_literal(std::string_view host);

}  // namespace parley::outbound
