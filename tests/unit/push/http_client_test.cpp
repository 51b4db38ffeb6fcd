#include "outbound/http_client.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

namespace parley::outbound {
namespace {

using namespace parley::push_test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Polls until `n` responses arrived (or 5 s passed, which fails the test that waits).
std::vector<response> wait_for(http_client& client, std::size_t n) {
  std::vector<response> out;
  auto deadline = steady::now() + 5s;
  while (out.size() < n && steady::now() < deadline)
    for (auto& r : client.poll(500ms)) out.push_back(std::move(r));
  return out;
}

// The stand-in servers listen on loopback, which the default policy refuses.
client_options loopback_ok() {
  client_options o;
  o.policy.allow_private = true;
  return o;
}

canned echo(const received& req) {
  canned c;
  c.status = req.target == "/created" ? 201 : 200;
  c.headers = {{"X-Echo-Method", req.method},
               {"X-Echo-Custom", req.header("x-custom")},
               {"Retry-After", "  17  "}};
  c.body = "got:" + req.body;
  return c;
}

TEST(http_client, status_headers_and_body_round_trip) {
  loopback_server server(echo);
  http_client client(loopback_ok());
  request r;
  r.tag = 42;
  r.url = server.url() + "/created";
  r.headers = {{"Content-Type", "application/json"}, {"X-Custom", "hello"}};
  r.body = R"({"a":1})";
  client.start(r);
  EXPECT_EQ(client.in_flight(), 1u);
  auto got = wait_for(client, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(client.in_flight(), 0u);

  const auto& resp = got[0];
  EXPECT_EQ(resp.tag, 42u);
  EXPECT_EQ(resp.status, 201);
  EXPECT_EQ(resp.error, "");
  EXPECT_EQ(resp.body, R"(got:{"a":1})");
  // Names lower-cased, values trimmed.
  EXPECT_EQ(resp.header("x-echo-method"), "POST");
  EXPECT_EQ(resp.header("x-echo-custom"), "hello");
  EXPECT_EQ(resp.header("retry-after"), "17");
  EXPECT_FALSE(resp.header("X-Echo-Method").has_value());
  EXPECT_FALSE(resp.header("x-absent").has_value());

  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/created");
  EXPECT_EQ(reqs[0].header("content-type"), "application/json");
  EXPECT_EQ(reqs[0].header("user-agent"), "parleyd");
  EXPECT_EQ(reqs[0].header("expect"), "");  // no 100-continue round trip
  EXPECT_EQ(reqs[0].body, R"({"a":1})");
}

TEST(http_client, perform_runs_one_request_synchronously) {
  loopback_server server(echo);
  http_client client({.ca_file = {},
                      .max_in_flight = 256,
                      .user_agent = "parley-test",
                      .policy = {.allow_private = true}});
  request r;
  r.method = "GET";
  r.url = server.url() + "/x";
  auto resp = client.perform(r);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.header("x-echo-method"), "GET");
  EXPECT_EQ(resp.body, "got:");
  EXPECT_EQ(server.requests().at(0).header("user-agent"), "parley-test");
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST(http_client, error_statuses_are_answers) {
  loopback_server server([](const received&) {
    return canned{503, {{"Retry-After", "3"}}, "busy"};
  });
  http_client client(loopback_ok());
  request r;
  r.url = server.url() + "/";
  auto resp = client.perform(r);
  EXPECT_EQ(resp.status, 503);
  EXPECT_EQ(resp.error, "");
  EXPECT_EQ(resp.header("retry-after"), "3");
  EXPECT_EQ(resp.body, "busy");
}

TEST(http_client, body_is_capped_at_64_kib) {
  loopback_server server([](const received&) {
    return canned{200, {}, std::string(100'000, 'x')};
  });
  http_client client(loopback_ok());
  request r;
  r.url = server.url() + "/big";
  client.start(r);
  auto got = wait_for(client, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, 200);  // the rest was read and dropped, not an error
  EXPECT_EQ(got[0].body.size(), 64u * 1024);
  EXPECT_EQ(client.perform(r).body.size(), 64u * 1024);
}

TEST(http_client, timeout_gives_status_0_with_an_error) {
  loopback_server server([](const received&) { return canned{.hang = true}; });
  http_client client(loopback_ok());
  request r;
  r.tag = 7;
  r.url = server.url() + "/slow";
  r.timeout = 200ms;
  auto started = steady::now();
  client.start(r);
  auto got = wait_for(client, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LT(steady::now() - started, 2s);
  EXPECT_EQ(got[0].tag, 7u);
  EXPECT_EQ(got[0].status, 0);
  EXPECT_NE(got[0].error, "");
  EXPECT_TRUE(got[0].headers.empty());
  EXPECT_TRUE(got[0].body.empty());
}

TEST(http_client, refused_connection_gives_status_0_with_an_error) {
  http_client client(loopback_ok());
  request r;
  r.url = closed_port_url() + "/";
  auto resp = client.perform(r);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error, "");
}

TEST(http_client, only_http_and_https_urls) {
  http_client client(loopback_ok());
  request r;
  r.url = "file:///etc/passwd";
  auto resp = client.perform(r);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error, "");
  EXPECT_TRUE(resp.body.empty());
}

TEST(http_client, require_http2_fails_against_an_http1_only_server) {
  loopback_server server(echo);
  http_client client(loopback_ok());
  request r;
  r.url = server.url() + "/3/device/abc";
  r.require_http2 = true;
  r.timeout = 1s;
  auto started = steady::now();
  auto resp = client.perform(r);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error, "");
  EXPECT_LT(steady::now() - started, 900ms);  // refused by the server, not timed out
}

TEST(http_client, many_concurrent_requests_all_complete) {
  loopback_server server(echo);
  http_client client({.ca_file = {},
                      .max_in_flight = 16,
                      .user_agent = "parleyd",
                      .policy = {.allow_private = true}});
  constexpr std::uint64_t n = 64;
  for (std::uint64_t i = 0; i < n; ++i) {
    request r;
    r.tag = i;
    r.url = server.url() + "/r" + std::to_string(i);
    r.body = std::to_string(i);
    client.start(std::move(r));
  }
  EXPECT_EQ(client.in_flight(), n);
  auto got = wait_for(client, n);
  ASSERT_EQ(got.size(), n);
  std::set<std::uint64_t> tags;
  for (const auto& resp : got) {
    EXPECT_EQ(resp.status, 200);
    EXPECT_EQ(resp.body, "got:" + std::to_string(resp.tag));  // each answer matches its request
    tags.insert(resp.tag);
  }
  EXPECT_EQ(tags.size(), n);
  EXPECT_EQ(client.in_flight(), 0u);
  EXPECT_EQ(server.request_count(), n);
}

TEST(http_client, poll_with_nothing_to_do_waits_for_the_time_given) {
  http_client client(loopback_ok());
  auto started = steady::now();
  EXPECT_TRUE(client.poll(50ms).empty());
  auto took = steady::now() - started;
  EXPECT_GE(took, 40ms);
  EXPECT_LT(took, 1s);
}

TEST(http_client, wake_from_another_thread_ends_a_poll_early) {
  http_client client(loopback_ok());
  std::thread waker([&] { client.wake(); });
  auto started = steady::now();
  auto got = client.poll(10s);  // returns whether the wake came before or during the poll
  waker.join();
  EXPECT_TRUE(got.empty());
  EXPECT_LT(steady::now() - started, 2s);
}

TEST(http_client, wake_while_a_transfer_is_pending_ends_the_poll) {
  loopback_server server([](const received&) { return canned{.hang = true}; });
  http_client client(loopback_ok());
  request r;
  r.url = server.url() + "/slow";
  r.timeout = 5s;
  client.start(r);
  client.poll(0ms);  // the transfer is under way
  std::thread waker([&] { client.wake(); });
  auto started = steady::now();
  EXPECT_TRUE(client.poll(10s).empty());
  waker.join();
  EXPECT_LT(steady::now() - started, 2s);
  EXPECT_EQ(client.in_flight(), 1u);
}

TEST(http_client, extra_ca_file_is_loaded_and_a_file_without_certificates_is_refused) {
  auto dir = ::testing::TempDir();
  // Any one certificate serves: the first of the system bundle.
  std::ifstream system("/etc/ssl/certs/ca-certificates.crt");
  std::string bundle((std::istreambuf_iterator<char>(system)), std::istreambuf_iterator<char>());
  auto begin = bundle.find("-----BEGIN CERTIFICATE-----");
  auto end = bundle.find("-----END CERTIFICATE-----");
  ASSERT_NE(begin, std::string::npos);
  auto good_path = dir + "/push_test_ca.pem";
  std::ofstream(good_path) << bundle.substr(begin, end + 25 - begin) << "\n";
  auto bad_path = dir + "/push_test_not_ca.pem";
  std::ofstream(bad_path) << "hello\n";

  loopback_server server(echo);
  http_client client({.ca_file = good_path,
                      .max_in_flight = 4,
                      .user_agent = "parleyd",
                      .policy = {.allow_private = true}});
  request r;
  r.url = server.url() + "/";
  EXPECT_EQ(client.perform(r).status, 200);

  EXPECT_THROW(http_client({.ca_file = bad_path,
                            .max_in_flight = 4,
                            .user_agent = "parleyd",
                            .policy = {.allow_private = true}}),
               std::runtime_error);
  EXPECT_THROW(http_client({.ca_file = dir + "/absent.pem",
                            .max_in_flight = 4,
                            .user_agent = "parleyd",
                            .policy = {.allow_private = true}}),
               std::runtime_error);
  std::remove(good_path.c_str());
  std::remove(bad_path.c_str());
}

// Transfers still waiting for an answer are abandoned by the destructor: it neither waits for
// their timeouts nor leaves their connections open at the receiver.
TEST(http_client, destroying_the_client_with_transfers_in_flight_is_clean) {
  // A receiver per transfer: transfers to one host wait for its first connection (PIPEWAIT),
  // and these should all be on the wire.
  std::vector<std::unique_ptr<loopback_server>> receivers;
  for (int i = 0; i < 3; ++i)
    receivers.push_back(
        std::make_unique<loopback_server>([](const received&) { return canned{.hang = true}; }));
  auto held = [&] {
    std::size_t n = 0;
    for (const auto& s : receivers) n += s->request_count();
    return n;
  };
  steady::time_point destroying;
  {
    http_client client(loopback_ok());
    for (const auto& s : receivers) {
      request r;
      r.url = s->url() + "/slow";
      r.timeout = 10s;
      client.start(r);
    }
    // Driven until every receiver holds its request: the transfers are under way.
    auto deadline = steady::now() + 5s;
    while (held() < 3 && steady::now() < deadline) EXPECT_TRUE(client.poll(50ms).empty());
    ASSERT_EQ(held(), 3u);
    EXPECT_EQ(client.in_flight(), 3u);
    destroying = steady::now();
  }
  EXPECT_LT(steady::now() - destroying, 1s);
  for (const auto& s : receivers) EXPECT_TRUE(s->wait_for_client_closes(1, 5s)) << s->url();
}

}  // namespace
}  // namespace parley::outbound

// ---- Destinations (address_policy.hpp) ------------------------------------------------------

namespace parley::outbound {
namespace {

// With the default policy, a loopback receiver is never connected to, whether the URL names it
// by address, by an odd numeric form, or by a name that resolves to it; the app-facing reason
// is the generic one and the detail (for the log) says why.
TEST(http_client, the_default_policy_refuses_loopback_at_connect_time) {
  loopback_server server(echo);
  http_client client({});
  auto port = std::to_string(server.port());
  for (const std::string host : {"127.0.0.1", "0x7f000001", "127.1", "localhost"}) {
    request r;
    r.url = "http://" + host + ":" + port + "/hook";
    r.timeout = 2s;
    auto resp = client.perform(r);
    EXPECT_EQ(resp.status, 0) << host;
    EXPECT_EQ(resp.error, "could not connect") << host;
    EXPECT_NE(resp.detail.find("address not allowed (loopback)"), std::string::npos)
        << host << ": " << resp.detail;
  }
  // The multi interface takes the same path.
  request r;
  r.tag = 5;
  r.url = server.url() + "/hook";
  client.start(r);
  auto got = wait_for(client, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, 0);
  EXPECT_EQ(got[0].error, "could not connect");
  EXPECT_EQ(server.connection_count(), 0u);
}

TEST(http_client, the_opt_in_reaches_loopback) {
  loopback_server server(echo);
  http_client client(loopback_ok());
  request r;
  r.url = "http://localhost:" + std::to_string(server.port()) + "/hook";
  EXPECT_EQ(client.perform(r).status, 200);
  EXPECT_EQ(server.request_count(), 1u);
}

// Refused, timed out or not HTTP at all: the app hears the same words, so an outcome cannot
// tell it what listens where. The log gets libcurl's own text.
TEST(http_client, every_transport_failure_reads_the_same) {
  loopback_server hanging([](const received&) { return canned{.hang = true}; });
  http_client client(loopback_ok());
  request refused;
  refused.url = closed_port_url() + "/";
  request slow;
  slow.url = hanging.url() + "/";
  slow.timeout = 200ms;
  auto a = client.perform(refused);
  auto b = client.perform(slow);
  EXPECT_EQ(a.error, "could not connect");
  EXPECT_EQ(b.error, "could not connect");
  EXPECT_NE(a.detail, "");
  EXPECT_NE(b.detail, "");
  EXPECT_NE(a.detail, b.detail);
}

TEST(http_client, redirects_are_not_followed) {
  loopback_server target(echo);
  loopback_server redirector([&](const received&) {
    return canned{302, {{"Location", target.url() + "/elsewhere"}}, ""};
  });
  http_client client(loopback_ok());
  request r;
  r.url = redirector.url() + "/hook";
  EXPECT_EQ(client.perform(r).status, 302);
  EXPECT_EQ(target.connection_count(), 0u);
}

// A proxy from the environment would be the address the policy checks, not the receiver's.
TEST(http_client, proxy_variables_in_the_environment_are_ignored) {
  loopback_server receiver(echo);
  loopback_server proxy(echo);
  for (const char* name : {"http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"})
    ::setenv(name, proxy.url().c_str(), 1);
  ::unsetenv("NO_PROXY");
  ::unsetenv("no_proxy");
  http_client client(loopback_ok());
  request r;
  r.url = receiver.url() + "/hook";
  auto status = client.perform(r).status;
  for (const char* name : {"http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"})
    ::unsetenv(name);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(receiver.request_count(), 1u);
  EXPECT_EQ(proxy.connection_count(), 0u);
}

}  // namespace
}  // namespace parley::outbound
