#include "outbound/address_policy.hpp"
#include "outbound/url_policy.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

namespace parley::outbound {
namespace {

// The address a literal names, judged the way a socket address would be (sockaddr form), so
// the table below checks classify(sockaddr*) as well.
address_kind kind_of(const std::string& text) {
  sockaddr_storage ss{};
  if (text.find(':') != std::string::npos) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &a.sin6_addr), 1) << text;
    std::memcpy(&ss, &a, sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text.c_str(), &a.sin_addr), 1) << text;
    std::memcpy(&ss, &a, sizeof a);
  }
  return classify(reinterpret_cast<const sockaddr*>(&ss));
}

struct row {
  const char* address;
  address_kind kind;
};

TEST(address_policy, classifies_each_special_range_and_its_edges) {
  using k = address_kind;
  const std::vector<row> table = {
      // IPv4
      {"0.0.0.0", k::unspecified},
      {"0.255.255.255", k::unspecified},
      {"1.0.0.0", k::global},
      {"8.8.8.8", k::global},
      {"9.255.255.255", k::global},
      {"10.0.0.0", k::private_network},
      {"10.255.255.255", k::private_network},
      {"11.0.0.0", k::global},
      {"100.63.255.255", k::global},
      {"100.64.0.0", k::private_network},
      {"100.127.255.255", k::private_network},
      {"100.128.0.0", k::global},
      {"126.255.255.255", k::global},
      {"127.0.0.1", k::loopback},
      {"127.0.1.1", k::loopback},
      {"127.255.255.255", k::loopback},
      {"128.0.0.0", k::global},
      {"169.253.255.255", k::global},
      {"169.254.0.0", k::link_local},
      {"169.254.169.254", k::link_local},
      {"169.254.255.255", k::link_local},
      {"169.255.0.0", k::global},
      {"172.15.255.255", k::global},
      {"172.16.0.0", k::private_network},
      {"172.31.255.255", k::private_network},
      {"172.32.0.0", k::global},
      {"192.0.0.1", k::reserved},
      {"192.0.1.0", k::global},
      {"192.0.2.1", k::documentation},
      {"192.88.99.1", k::reserved},
      {"192.167.255.255", k::global},
      {"192.168.0.0", k::private_network},
      {"192.168.1.1", k::private_network},
      {"192.168.255.255", k::private_network},
      {"192.169.0.0", k::global},
      {"198.17.255.255", k::global},
      {"198.18.0.0", k::benchmarking},
      {"198.19.255.255", k::benchmarking},
      {"198.20.0.0", k::global},
      {"198.51.100.7", k::documentation},
      {"203.0.113.9", k::documentation},
      {"223.255.255.255", k::global},
      {"224.0.0.1", k::multicast},
      {"239.255.255.255", k::multicast},
      {"240.0.0.0", k::reserved},
      {"255.255.255.254", k::reserved},
      {"255.255.255.255", k::broadcast},
      // IPv6
      {"::", k::unspecified},
      {"::1", k::loopback},
      {"::2", k::unspecified},  // IPv4-compatible 0.0.0.2
      {"::127.0.0.1", k::loopback},
      {"::ffff:127.0.0.1", k::loopback},
      {"::ffff:7f00:1", k::loopback},
      {"::ffff:10.1.2.3", k::private_network},
      {"::ffff:169.254.169.254", k::link_local},
      {"::ffff:0.0.0.0", k::unspecified},
      {"::ffff:8.8.8.8", k::global},
      {"64:ff9b::127.0.0.1", k::loopback},
      {"64:ff9b::a9fe:a9fe", k::link_local},
      {"64:ff9b::8.8.8.8", k::global},
      {"64:ff9b:1::1", k::private_network},
      {"2002:7f00:1::1", k::loopback},  // 6to4 carrying 127.0.0.1
      {"2002:c0a8:101::1", k::private_network},
      {"2002:808:808::1", k::global},
      {"100::1", k::reserved},
      {"2001::1", k::reserved},  // Teredo
      {"2001:2::1", k::benchmarking},
      {"2001:db8::1", k::documentation},
      {"3fff::1", k::documentation},
      {"2001:4860:4860::8888", k::global},
      {"2a00:1450::1", k::global},
      {"3ffe::1", k::global},
      {"4000::1", k::reserved},
      {"fc00::1", k::private_network},
      {"fd12:3456::1", k::private_network},
      {"fe80::1", k::link_local},
      {"febf::1", k::link_local},
      {"fec0::1", k::private_network},
      {"ff02::1", k::multicast},
      {"ff0e::1", k::multicast},
  };
  for (const auto& r : table) EXPECT_EQ(kind_of(r.address), r.kind) << r.address;
}

TEST(address_policy, only_global_is_allowed_by_default) {
  address_policy strict;
  address_policy open{.allow_private = true};
  using k = address_kind;
  for (auto kind : {k::global, k::loopback, k::private_network, k::link_local, k::unspecified,
                    k::multicast, k::broadcast, k::documentation, k::benchmarking, k::reserved}) {
    EXPECT_EQ(allowed(kind, strict), kind == k::global) << to_string(kind);
    // The opt-in adds the machine and its private networks, and nothing else: link-local
    // (cloud metadata) stays refused.
    EXPECT_EQ(allowed(kind, open),
              kind == k::global || kind == k::loopback || kind == k::private_network)
        << to_string(kind);
  }
}

TEST(address_policy, a_non_ip_socket_family_is_refused) {
  sockaddr sa{};
  sa.sa_family = AF_UNIX;
  EXPECT_EQ(classify(&sa), address_kind::reserved);
  EXPECT_EQ(classify(static_cast<const sockaddr*>(nullptr)), address_kind::reserved);
}

TEST(address_policy, ip_literals_in_every_resolver_form_are_parsed) {
  auto v4 = [](const char* host) -> std::optional<ipv4> {
    auto ip = parse_ip_literal(host);
    if (!ip || !std::holds_alternative<ipv4>(*ip)) return std::nullopt;
    return std::get<ipv4>(*ip);
  };
  constexpr ipv4 localhost = 0x7f000001;
  for (const char* form :
       {"127.0.0.1", "127.1", "127.0.1", "0x7f000001", "0X7F000001", "2130706433", "0177.0.0.1",
        "017700000001", "0x7f.1", "0x7f.0.0.1", "127.0.0.1."})
    EXPECT_EQ(v4(form), localhost) << form;
  EXPECT_EQ(v4("169.254.169.254"), 0xa9fea9feu);
  EXPECT_EQ(v4("0"), 0u);
  EXPECT_EQ(v4("10.1"), 0x0a000001u);

  // Names, and strings inet_aton would accept only with its trailing junk.
  for (const char* name : {"example.com", "localhost", "127.0.0.1.example.com", "0x7f.example",
                           "1.2.3.4 junk", "1.2.3.4\tx", "", "256.1.1.1", "4294967296", "1.2.3.4.5",
                           "face", "dead.beef", "127.0.0.1.."})
    EXPECT_FALSE(v4(name).has_value()) << name;

  auto v6 = [](const char* host) -> std::optional<address_kind> {
    auto ip = parse_ip_literal(host);
    if (!ip || !std::holds_alternative<ipv6>(*ip)) return std::nullopt;
    return classify(*ip);
  };
  EXPECT_EQ(v6("[::1]"), address_kind::loopback);
  EXPECT_EQ(v6("::1"), address_kind::loopback);
  EXPECT_EQ(v6("[::ffff:127.0.0.1]"), address_kind::loopback);
  EXPECT_EQ(v6("[fe80::1%25eth0]"), address_kind::link_local);
  EXPECT_EQ(v6("[fe80::1%eth0]"), address_kind::link_local);
  EXPECT_EQ(v6("[2001:4860::1]"), address_kind::global);
  EXPECT_FALSE(v6("[::1").has_value());
  EXPECT_FALSE(v6("[:::1]").has_value());
}

// ---- URLs saved by apps ---------------------------------------------------------------------

TEST(url_policy, refuses_private_and_odd_literals_userinfo_and_localhost) {
  address_policy strict;
  for (const char* url : {"http://169.254.169.254/latest/meta-data/",
                          "http://10.0.0.1/",
                          "http://192.168.1.1/",
                          "http://172.16.5.4/",
                          "http://100.64.0.1/",
                          "http://0.0.0.0/",
                          "http://0/",
                          "http://[::1]/",
                          "http://[::]/",
                          "http://[::ffff:127.0.0.1]/",
                          "http://[::ffff:169.254.169.254]/",
                          "http://[64:ff9b::7f00:1]/",
                          "http://[fe80::1%25lo]/",
                          "http://[fd00::1]/",
                          "http://0x7f000001/",
                          "http://2130706433/",
                          "http://127.1/",
                          "http://0177.0.0.1/",
                          "http://0x7f.1/",
                          "http://127.0.0.1./",
                          "http://%31%32%37.0.0.1/",
                          "https://127.0.0.1:8443/hook",
                          "http://224.0.0.1/",
                          "http://255.255.255.255/",
                          "http://localhost/",
                          "http://LOCALHOST:8080/",
                          "http://localhost./",
                          "http://api.localhost/",
                          "http://user:pass@example.com/",
                          "http://user@example.com/",
                          "http://@example.com/",
                          "http://example.com:80@127.0.0.1/",
                          "http://:80/",
                          "ftp://example.com/",
                          "http://exa mple.com/"})
    EXPECT_TRUE(refuse_url(url, "webhook_url", strict).has_value()) << url;

  for (const char* url :
       {"https://example.com/hook", "http://example.com:8080/x?y=1#z",
        "https://hooks.example.co.uk/", "https://8.8.8.8/", "https://[2001:4860::1]/",
        "https://localhost.example.com/", "http://127.0.0.1.nip.example/"})
    EXPECT_FALSE(refuse_url(url, "webhook_url", strict).has_value()) << url;
}

TEST(url_policy, the_opt_in_allows_loopback_and_private_but_not_link_local_or_userinfo) {
  address_policy open{.allow_private = true};
  for (const char* url : {"http://127.0.0.1:9000/hook", "http://localhost:9000/", "http://[::1]/",
                          "http://10.0.0.1/", "http://192.168.1.1/", "http://127.1/"})
    EXPECT_FALSE(refuse_url(url, "webhook_url", open).has_value()) << url;
  for (const char* url : {"http://169.254.169.254/", "http://[fe80::1]/", "http://0.0.0.0/",
                          "http://user:pass@127.0.0.1/"})
    EXPECT_TRUE(refuse_url(url, "webhook_url", open).has_value()) << url;
}

TEST(url_policy, the_reason_names_the_field_and_the_kind) {
  auto why = refuse_url("http://169.254.169.254/", "push.webhook.url", {});
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why, "push.webhook.url must name a public address (169.254.169.254 is link-local)");
  EXPECT_EQ(refuse_url("http://u:p@example.com/", "webhook_url", {}),
            "webhook_url must not carry a user name or password");
}

}  // namespace
}  // namespace parley::outbound
