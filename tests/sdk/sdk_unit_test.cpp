// Unit tests of the SDK's pieces that need no server: errors, URL parsing, device ids, JSON codec,
// storage.

#include <parley/parley.hpp>

#include "impl/codec.hpp"
#include "impl/random.hpp"
#include "impl/storage.hpp"
#include "impl/url.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <fstream>
#include <regex>
#include <set>
#include <string>

namespace parley {
namespace {

using detail::adopt_app;
using detail::parse_api_url;
using detail::state_store;
using detail::stored_state;

TEST(sdk_error, every_code_round_trips_through_its_wire_spelling) {
  for (int i = 0; i <= static_cast<int>(error_code::unknown); ++i) {
    auto code = static_cast<error_code>(i);
    EXPECT_EQ(error_code_from_string(to_string(code)), code) << to_string(code);
  }
  EXPECT_EQ(error_code_from_string("no_such_code"), error_code::unknown);
}

TEST(sdk_error, what_names_code_message_and_status) {
  error e(error_code::invalid_credentials, "wrong token", 401);
  EXPECT_EQ(e.code(), error_code::invalid_credentials);
  EXPECT_EQ(e.http_status(), 401);
  EXPECT_STREQ(e.what(), "invalid_credentials: wrong token (HTTP 401)");
}

TEST(sdk_error, http_error_body_is_parsed_with_field_and_retry_after) {
  auto e = detail::error_from_http(
      400, R"({"error":{"code":"invalid_request","message":"bad","field":"user_id"}})", "");
  EXPECT_EQ(e.code(), error_code::invalid_request);
  EXPECT_EQ(e.message(), "bad");
  EXPECT_EQ(e.field(), "user_id");
  auto limited = detail::error_from_http(
      429, R"({"error":{"code":"rate_limited","message":"slow down"}})", "7");
  EXPECT_EQ(limited.code(), error_code::rate_limited);
  EXPECT_EQ(limited.retry_after_s(), 7);
  auto bare = detail::error_from_http(503, "<html>", "");
  EXPECT_EQ(bare.code(), error_code::unavailable);
  EXPECT_EQ(bare.http_status(), 503);
  auto odd = detail::error_from_http(418, R"({"error":{"code":"teapot","message":"m"}})", "");
  EXPECT_EQ(odd.code(), error_code::unknown);
  EXPECT_EQ(odd.server_code(), "teapot");
}

TEST(sdk_url, http_and_https_urls_parse_into_endpoints) {
  auto a = parse_api_url("http://127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->tls);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, "8080");
  EXPECT_EQ(a->base_path, "");
  auto b = parse_api_url("HTTPS://calls.example.com/parley/");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->tls);
  EXPECT_EQ(b->port, "443");
  EXPECT_EQ(b->base_path, "/parley");
  auto c = parse_api_url("http://[::1]:9000");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, "9000");
}

TEST(sdk_url, other_urls_are_refused) {
  for (const char* bad : {"", "ftp://x", "http://", "http://host:0", "http://host:70000",
                          "http://user@host", "http://host/?q=1", "host:80", "http://[::1"})
    EXPECT_FALSE(parse_api_url(bad)) << bad;
}

TEST(sdk_url, path_segments_are_percent_encoded) {
  EXPECT_EQ(detail::encode_path_segment("abc-._~09"), "abc-._~09");
  EXPECT_EQ(detail::encode_path_segment("a b/c:d%"), "a%20b%2Fc%3Ad%25");
}

TEST(sdk_url, ports_prefixes_and_ipv6_hosts_keep_their_meaning) {
  auto a = parse_api_url("http://[2001:db8::1]/api//");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "2001:db8::1");
  EXPECT_EQ(a->port, "80");
  EXPECT_EQ(a->base_path, "/api");
  auto b = parse_api_url("https://Calls.Example.com:8443/p%20q");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "Calls.Example.com");
  EXPECT_EQ(b->port, "8443");
  EXPECT_EQ(b->base_path, "/p%20q");  // sent as written: the prefix is prepended to targets
  for (const char* bad : {"http://host:", "http://host:65536", "http://host#top", "http://:80",
                          "ws://host", "http://host:8x"})
    EXPECT_FALSE(parse_api_url(bad)) << bad;
  EXPECT_TRUE(parse_api_url("http://host:65535"));
}

TEST(sdk_url, every_byte_outside_the_unreserved_set_is_encoded_in_upper_case_hex) {
  EXPECT_EQ(detail::encode_path_segment(""), "");
  EXPECT_EQ(detail::encode_path_segment("\xC3\xA9?#&=+"), "%C3%A9%3F%23%26%3D%2B");
  EXPECT_EQ(detail::encode_path_segment(std::string("a\0b", 3)), "a%00b");
}

TEST(sdk_random, device_ids_are_lowercase_version_4_uuids) {
  static const std::regex v4(
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto id = detail::make_device_id();
    EXPECT_TRUE(std::regex_match(id, v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(sdk_codec, user_and_call_round_trip) {
  user u{"alice@example.com", "Alice", "https://p/a.png", {{"k", "v"}}, 1700000000000, true};
  auto back = detail::user_from_json(detail::to_json(u));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, u);

  call_info c;
  c.call_id = "c1";
  c.caller_id = "a";
  c.callee_id = "b";
  c.state = "ringing";
  c.created_at = 5;
  c.custom_items = {{"x", "y"}};
  auto call_back = detail::call_from_json(detail::to_json(c));
  ASSERT_TRUE(call_back);
  EXPECT_EQ(*call_back, c);
  EXPECT_FALSE(detail::user_from_json(boost::json::value(42)));
}

TEST(sdk_storage, state_survives_a_save_and_load) {
  test::temp_dir dir;
  state_store store(dir.path() / "nested");
  ASSERT_FALSE(store.prepare());
  stored_state s;
  adopt_app(s, "app-1");
  s.current_user = user{"bob", "", "", {}, 1, false};
  s.session_key = "key";
  s.session_expires_at = 99;
  s.credential = detail::credential_kind::jwt;
  s.ice_servers = {ice_server{{"stun:stun.example.com"}, std::nullopt, std::nullopt}};
  ASSERT_FALSE(store.save(s));

  std::string warning;
  auto loaded = store.load(warning);
  EXPECT_TRUE(warning.empty());
  EXPECT_EQ(loaded.app_id, "app-1");
  EXPECT_EQ(loaded.device_id, s.device_id);
  EXPECT_EQ(loaded.current_user, s.current_user);
  EXPECT_EQ(loaded.session_key, "key");
  EXPECT_EQ(loaded.session_expires_at, 99);
  EXPECT_EQ(loaded.credential, detail::credential_kind::jwt);
  EXPECT_EQ(loaded.ice_servers, s.ice_servers);

  // It holds the session key: owner-only.
  struct stat st {};
  ASSERT_EQ(::stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST(sdk_storage, adopting_another_app_clears_everything_of_the_old_one) {
  stored_state s;
  adopt_app(s, "app-1");
  auto device = s.device_id;
  EXPECT_EQ(device.size(), 36u);
  s.current_user = user{"bob", "", "", {}, 1, false};
  s.session_key = "key";
  s.calls.push_back(call_info{});

  EXPECT_FALSE(adopt_app(s, "app-1"));  // same app: nothing changes
  EXPECT_EQ(s.device_id, device);
  EXPECT_TRUE(s.session_key);

  EXPECT_TRUE(adopt_app(s, "app-2"));
  EXPECT_EQ(s.app_id, "app-2");
  EXPECT_FALSE(s.current_user);
  EXPECT_FALSE(s.session_key);
  EXPECT_TRUE(s.calls.empty());
  EXPECT_NE(s.device_id, device);
  EXPECT_FALSE(s.device_id.empty());
}

TEST(sdk_storage, a_corrupt_file_gives_a_fresh_state_and_a_warning) {
  test::temp_dir dir;
  state_store store(dir.path());
  std::ofstream(store.path()) << "{not json";
  std::string warning;
  auto s = store.load(warning);
  EXPECT_FALSE(warning.empty());
  EXPECT_TRUE(s.app_id.empty());
}

TEST(sdk_client_init, init_refuses_bad_arguments) {
  test::temp_dir dir;
  client c;
  client_options o;
  o.api_url = "ftp://nope";
  o.data_dir = dir.path();
  try {
    c.init("app", o);
    FAIL() << "init accepted a bad URL";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), error_code::invalid_request);
  }
  o.api_url = "http://127.0.0.1:1";
  EXPECT_THROW(c.init("", o), error);
  EXPECT_FALSE(c.initialized());
  c.init("app", o);
  EXPECT_TRUE(c.initialized());
  EXPECT_EQ(c.app_id(), "app");
  EXPECT_EQ(c.device_id().size(), 36u);
}

TEST(sdk_client_init, device_id_is_kept_per_data_directory) {
  test::temp_dir dir;
  std::string first;
  {
    client c;
    c.init("app", test::options_for("http://127.0.0.1:1", dir.path()));
    first = c.device_id();
  }
  client again;
  again.init("app", test::options_for("http://127.0.0.1:1", dir.path()));
  EXPECT_EQ(again.device_id(), first);
}

}  // namespace
}  // namespace parley
