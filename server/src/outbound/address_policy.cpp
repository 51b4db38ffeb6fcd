#include "outbound/address_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace parley::outbound {

namespace {

// A prefix of `bits` bits: `a` is inside when its first `bits` bits equal `net`'s.
constexpr bool in4(ipv4 a, ipv4 net, int bits) {
  ipv4 mask = bits == 0 ? 0 : ~ipv4{0} << (32 - bits);
  return (a & mask) == (net & mask);
}

constexpr ipv4 v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (ipv4{a} << 24) | (ipv4{b} << 16) | (ipv4{c} << 8) | ipv4{d};
}

bool in6(const ipv6& a, std::initializer_list<std::uint8_t> prefix, int bits) {
  int i = 0;
  for (auto byte : prefix) {
    int left = bits - i * 8;
    if (left <= 0) break;
    std::uint8_t mask = left >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - left));
    if ((a[static_cast<std::size_t>(i)] & mask) != (byte & mask)) return false;
    ++i;
  }
  return true;
}

// The IPv4 address in bytes [at, at + 4).
ipv4 embedded_v4(const ipv6& a, std::size_t at) {
  return (ipv4{a[at]} << 24) | (ipv4{a[at + 1]} << 16) | (ipv4{a[at + 2]} << 8) | ipv4{a[at + 3]};
}

bool all_zero(const ipv6& a, std::size_t from, std::size_t to) {
  for (auto i = from; i < to; ++i)
    if (a[i] != 0) return false;
  return true;
}

}  // namespace

const char* to_string(address_kind k) {
  switch (k) {
    case address_kind::global:
      return "global";
    case address_kind::loopback:
      return "loopback";
    case address_kind::private_network:
      return "private";
    case address_kind::link_local:
      return "link-local";
    case address_kind::unspecified:
      return "unspecified";
    case address_kind::multicast:
      return "multicast";
    case address_kind::broadcast:
      return "broadcast";
    case address_kind::documentation:
      return "documentation";
    case address_kind::benchmarking:
      return "benchmarking";
    case address_kind::reserved:
      return "reserved";
  }
  return "reserved";
}

bool allowed(address_kind k, const address_policy& p) {
  switch (k) {
    case address_kind::global:
      return true;
    // What the operator opts into for test receivers and development: the machine itself and
    // its private networks.
    case address_kind::loopback:
    case address_kind::private_network:
      return p.allow_private;
    // Never a receiver: link-local holds cloud metadata services (169.254.169.254), the rest is
    // not unicast or not routed.
    case address_kind::link_local:
    case address_kind::unspecified:
    case address_kind::multicast:
    case address_kind::broadcast:
    case address_kind::documentation:
    case address_kind::benchmarking:
    case address_kind::reserved:
      return false;
  }
  return false;
}

address_kind classify(ipv4 a) {
  // IANA IPv4 Special-Purpose Address Registry (RFC 6890 and later).
  if (in4(a, v4(0, 0, 0, 0), 8)) return address_kind::unspecified;
  if (in4(a, v4(10, 0, 0, 0), 8)) return address_kind::private_network;
  if (in4(a, v4(100, 64, 0, 0), 10)) return address_kind::private_network;  // CGNAT
  if (in4(a, v4(127, 0, 0, 0), 8)) return address_kind::loopback;
  if (in4(a, v4(169, 254, 0, 0), 16)) return address_kind::link_local;
  if (in4(a, v4(172, 16, 0, 0), 12)) return address_kind::private_network;
  if (in4(a, v4(192, 0, 0, 0), 24)) return address_kind::reserved;  // IETF protocol assignments
  if (in4(a, v4(192, 0, 2, 0), 24)) return address_kind::documentation;
  if (in4(a, v4(192, 88, 99, 0), 24)) return address_kind::reserved;  // 6to4 relay anycast
  if (in4(a, v4(192, 168, 0, 0), 16)) return address_kind::private_network;
  if (in4(a, v4(198, 18, 0, 0), 15)) return address_kind::benchmarking;
  if (in4(a, v4(198, 51, 100, 0), 24)) return address_kind::documentation;
  if (in4(a, v4(203, 0, 113, 0), 24)) return address_kind::documentation;
  if (in4(a, v4(224, 0, 0, 0), 4)) return address_kind::multicast;
  if (a == v4(255, 255, 255, 255)) return address_kind::broadcast;
  if (in4(a, v4(240, 0, 0, 0), 4)) return address_kind::reserved;
  return address_kind::global;
}

address_kind classify(const ipv6& a) {
  // ::/96: the unspecified address, loopback, and the deprecated IPv4-compatible form.
  if (all_zero(a, 0, 12)) {
    if (all_zero(a, 12, 15) && a[15] == 0) return address_kind::unspecified;
    if (all_zero(a, 12, 15) && a[15] == 1) return address_kind::loopback;
    return classify(embedded_v4(a, 12));
  }
  // ::ffff:0:0/96, IPv4-mapped: the kernel connects to the IPv4 address itself.
  if (all_zero(a, 0, 10) && a[10] == 0xff && a[11] == 0xff) return classify(embedded_v4(a, 12));
  // 64:ff9b::/96, NAT64's well-known prefix: the translator connects to the IPv4 address.
  if (in6(a, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96))
    return classify(embedded_v4(a, 12));
  // 64:ff9b:1::/48, NAT64 for local use: a translator inside the operator's network.
  if (in6(a, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48)) return address_kind::private_network;
  // 2002::/16, 6to4: the relay forwards to the IPv4 address in bits 16..47.
  if (in6(a, {0x20, 0x02}, 16)) return classify(embedded_v4(a, 2));
  if (in6(a, {0xff}, 8)) return address_kind::multicast;
  if (in6(a, {0xfe, 0x80}, 10)) return address_kind::link_local;
  if (in6(a, {0xfe, 0xc0}, 10)) return address_kind::private_network;  // site-local (deprecated)
  if (in6(a, {0xfc}, 7)) return address_kind::private_network;         // unique local
  if (in6(a, {0x20, 0x01, 0x0d, 0xb8}, 32)) return address_kind::documentation;
  if (in6(a, {0x3f, 0xff}, 20)) return address_kind::documentation;
  if (in6(a, {0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48)) return address_kind::benchmarking;
  // 2001::/23, IETF protocol assignments (Teredo, ORCHID and the like): not plain receivers.
  if (in6(a, {0x20, 0x01, 0x00}, 23)) return address_kind::reserved;
  // Global unicast is 2000::/3; everything else (100::/64 discard-only included) is not.
  if (in6(a, {0x20}, 3)) return address_kind::global;
  return address_kind::reserved;
}

address_kind classify(const ip_address& a) {
  return std::visit([](const auto& x) { return classify(x); }, a);
}

address_kind classify(const sockaddr* sa) {
  if (sa == nullptr) return address_kind::reserved;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    return classify(ipv4{ntohl(in.sin_addr.s_addr)});
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    ipv6 a{};
    std::memcpy(a.data(), &in6.sin6_addr, a.size());
    return classify(a);
  }
  return address_kind::reserved;
}

std::optional<ip_address> parse_ip_literal(std::string_view host) {
  if (host.empty() || host.size() > 255) return std::nullopt;
  // IPv6: "[addr]" or "[addr%zone]" (the zone percent-encoded or not), or bare.
  std::string_view h = host;
  if (h.front() == '[') {
    if (h.back() != ']') return std::nullopt;
    h = h.substr(1, h.size() - 2);
  }
  if (h.find(':') != std::string_view::npos) {
    h = h.substr(0, h.find('%'));
    std::string text(h);
    ipv6 a{};
    if (inet_pton(AF_INET6, text.c_str(), a.data()) != 1) return std::nullopt;
    return a;
  }
  // IPv4 in inet_aton's forms. glibc's inet_aton also accepts trailing blanks and whatever
  // follows them; a URL host has none, so only the characters of the numeric forms pass.
  if (h.back() == '.') h.remove_suffix(1);
  if (h.empty()) return std::nullopt;
  for (char c : h) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == 'x' || c == 'X' || c == '.';
    if (!ok) return std::nullopt;
  }
  std::string text(h);
  in_addr in{};
  if (inet_aton(text.c_str(), &in) == 0) return std::nullopt;
  return ipv4{ntohl(in.s_addr)};
}

}  // namespace parley::outbound
