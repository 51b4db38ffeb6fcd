// libparley against a real parleyd on loopback: the app's backend makes users and tokens through
// the Platform API, the SDK authenticates, connects, refreshes and signs out as an app would.
// No sleeps: every wait is on a future or on the listener recorder, with a deadline.

#include <parley/parley.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>

namespace parley {
namespace {

using namespace std::chrono_literals;
using test::error_of;
using test::get_within;

// Calls made before init() never need a server.
TEST(sdk_client_offline, every_call_before_init_fails_with_not_initialized) {
  client c;
  auto code_of = [](auto future) {
    auto e = error_of(std::move(future));
    return e ? e->code() : error_code::unknown;
  };
  EXPECT_EQ(code_of(c.authenticate({.user_id = "u", .access_token = "t"})),
            error_code::not_initialized);
  EXPECT_EQ(code_of(c.connect_websocket()), error_code::not_initialized);
  EXPECT_EQ(code_of(c.deauthenticate()), error_code::not_initialized);
  EXPECT_EQ(code_of(c.register_push_token("t", push_token_type::fcm)), error_code::not_initialized);
  EXPECT_EQ(code_of(c.unregister_push_token("t", push_token_type::fcm)),
            error_code::not_initialized);
  EXPECT_EQ(code_of(c.unregister_all_push_tokens(push_token_type::apns)),
            error_code::not_initialized);
  EXPECT_FALSE(c.current_user());
  EXPECT_EQ(c.state(), connection_state::disconnected);
}

// A TCP listener that only counts who connects: proof that nothing was sent.
class counting_listener {
 public:
  counting_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~counting_listener() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Whether a connection is waiting to be accepted within `timeout`.
  bool connection_pending(std::chrono::milliseconds timeout) const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(sdk_client_offline, calls_before_authentication_fail_and_send_nothing) {
  counting_listener server;
  test::temp_dir dir;
  client c;
  c.init("app", test::options_for(server.url(), dir.path()));
  auto code_of = [](auto future) {
    auto e = error_of(std::move(future));
    return e ? e->code() : error_code::unknown;
  };
  EXPECT_EQ(code_of(c.connect_websocket()), error_code::not_authenticated);
  EXPECT_EQ(code_of(c.deauthenticate()), error_code::not_authenticated);
  EXPECT_EQ(code_of(c.register_push_token("t", push_token_type::apns_voip)),
            error_code::not_authenticated);
  EXPECT_EQ(code_of(c.unregister_push_token("t", push_token_type::apns_voip)),
            error_code::not_authenticated);
  EXPECT_EQ(code_of(c.unregister_all_push_tokens(push_token_type::fcm)),
            error_code::not_authenticated);
  // Two credentials at once is the caller's mistake: refused before anything is sent.
  EXPECT_EQ(code_of(c.authenticate({.user_id = "u", .access_token = "a", .jwt = "j"})),
            error_code::invalid_request);
  EXPECT_FALSE(server.connection_pending(300ms));
}

TEST(sdk_client_offline, unreachable_server_fails_with_network_error) {
  std::string url;
  {
    counting_listener gone;  // a port that was ours and is closed: nothing listens there
    url = gone.url();
  }
  test::temp_dir dir;
  client c;
  c.init("app", test::options_for(url, dir.path()));
  auto e = error_of(c.authenticate({.user_id = "u", .access_token = "t"}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::network_error);
}

// One server and one app per test; users and tokens made through the Platform API.
class sdk_client : public ::testing::Test {
 protected:
  void SetUp() override {
    parleyd_ = test::parleyd_path();
    if (parleyd_.empty()) GTEST_SKIP() << "PARLEYD is not set";
    app_ = test::create_app(parleyd_, server_dir_.path(), "t");
    start_server({"--heartbeat-s", "5"});
  }

  void start_server(std::vector<std::string> args, std::string listen = "127.0.0.1:0") {
    server_args_ = args;
    server_ = std::make_unique<test::server_process>(parleyd_, server_dir_.path(), std::move(args),
                                                     std::move(listen));
    platform_ = std::make_unique<test::platform_api>(server_->url(), app_);
  }

  // hard: SIGKILL (connections drop without a close frame); else SIGTERM (drain, close 1001).
  void restart_server(bool hard) {
    int port = server_->port();
    if (hard)
      server_->kill_hard();
    else
      server_->stop();
    platform_.reset();
    server_.reset();
    start_server(server_args_, "127.0.0.1:" + std::to_string(port));
  }

  client_options options() const { return test::options_for(server_->url(), client_dir_.path()); }

  // A client bound to the test app, with a recorder listening.
  std::unique_ptr<client> make_client(std::shared_ptr<test::recorder>* rec = nullptr,
                                      const std::filesystem::path* dir = nullptr) {
    auto c = std::make_unique<client>();
    auto o = options();
    if (dir) o.data_dir = *dir;
    c->init(app_.app_id, o);
    if (rec) {
      *rec = std::make_shared<test::recorder>();
      c->add_connection_listener(*rec);
    }
    return c;
  }

  std::string parleyd_;
  test::temp_dir server_dir_;
  test::temp_dir client_dir_;
  test::app_credentials app_;
  std::vector<std::string> server_args_;
  std::unique_ptr<test::server_process> server_;
  std::unique_ptr<test::platform_api> platform_;
};

TEST_F(sdk_client, authenticate_with_access_token_gives_user_and_endless_session) {
  auto token = platform_->create_user("alice", true);
  auto c = make_client();
  auto me = get_within(c->authenticate({.user_id = "alice", .access_token = *token}));
  EXPECT_EQ(me.user_id, "alice");
  EXPECT_TRUE(me.has_access_token);
  ASSERT_TRUE(c->current_user());
  EXPECT_EQ(c->current_user()->user_id, "alice");
  ASSERT_TRUE(c->session_key());
  EXPECT_FALSE(c->session_key()->empty());
  EXPECT_FALSE(c->session_expires_at());

  // The key is a working session on the server.
  auto who = platform_->http().call("GET", "/v1/me", std::nullopt,
                                    {{"Authorization", "Bearer " + *c->session_key()}});
  EXPECT_EQ(who.status, 200) << who.text;
}

TEST_F(sdk_client, authenticate_with_session_token_expires_with_the_token) {
  platform_->create_user("bob", false);
  auto [token, expires_at] = platform_->issue_session_token("bob");
  auto c = make_client();
  auto me = get_within(c->authenticate({.user_id = "bob", .session_token = token}));
  EXPECT_EQ(me.user_id, "bob");
  ASSERT_TRUE(c->session_expires_at());
  EXPECT_EQ(*c->session_expires_at(), expires_at);
}

TEST_F(sdk_client, authenticate_with_jwt_creates_the_user) {
  auto exp_s = test::now_ms() / 1000 + 3600;
  auto jwt = test::sign_jwt(app_.signing_secret, "carol", app_.app_id, exp_s);
  auto c = make_client();
  auto me = get_within(c->authenticate({.user_id = "carol", .jwt = jwt}));
  EXPECT_EQ(me.user_id, "carol");
  ASSERT_TRUE(c->session_expires_at());
  EXPECT_LE(*c->session_expires_at(), exp_s * 1000);
  EXPECT_EQ(platform_->call("GET", "/users/carol").status, 200);
}

TEST_F(sdk_client, wrong_token_fails_with_invalid_credentials) {
  platform_->create_user("dave", true);
  auto c = make_client();
  auto e = error_of(c->authenticate({.user_id = "dave", .access_token = "not-the-token"}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::invalid_credentials);
  EXPECT_EQ(e->http_status(), 401);
  EXPECT_FALSE(c->current_user());
  EXPECT_FALSE(c->session_key());

  auto jwt = test::sign_jwt("another-secret", "dave", app_.app_id, test::now_ms() / 1000 + 600);
  auto bad_jwt = error_of(c->authenticate({.user_id = "dave", .jwt = jwt}));
  ASSERT_TRUE(bad_jwt);
  EXPECT_EQ(bad_jwt->code(), error_code::invalid_credentials);
}

TEST_F(sdk_client, connect_websocket_reaches_connected) {
  auto token = platform_->create_user("erin", true);
  std::shared_ptr<test::recorder> rec;
  auto c = make_client(&rec);
  get_within(c->authenticate({.user_id = "erin", .access_token = *token}));
  get_within(c->connect_websocket());
  EXPECT_EQ(c->state(), connection_state::connected);
  EXPECT_GE(rec->wait_for("connected"), 0);
  // Connecting again while connected is ready at once.
  get_within(c->connect_websocket());
  EXPECT_TRUE(c->cached_calls().empty());
}

TEST_F(sdk_client, a_stored_session_is_used_by_the_next_client_on_the_same_data_dir) {
  auto token = platform_->create_user("fay", true);
  std::string device;
  {
    auto c = make_client();
    get_within(c->authenticate({.user_id = "fay", .access_token = *token}));
    device = c->device_id();
  }
  auto again = make_client();
  ASSERT_TRUE(again->current_user());
  EXPECT_EQ(again->current_user()->user_id, "fay");
  EXPECT_EQ(again->device_id(), device);
  get_within(again->connect_websocket());
  EXPECT_EQ(again->state(), connection_state::connected);
}

TEST_F(sdk_client, init_with_another_app_clears_user_session_and_device_id) {
  auto token = platform_->create_user("gus", true);
  auto c = make_client();
  get_within(c->authenticate({.user_id = "gus", .access_token = *token}));
  auto old_key = *c->session_key();
  auto old_device = c->device_id();

  auto other = test::create_app(parleyd_, server_dir_.path(), "other");
  c->init(other.app_id, options());
  EXPECT_EQ(c->app_id(), other.app_id);
  EXPECT_FALSE(c->current_user());
  EXPECT_FALSE(c->session_key());
  EXPECT_NE(c->device_id(), old_device);
  EXPECT_EQ(error_of(c->connect_websocket())->code(), error_code::not_authenticated);

  // Nothing of the old app is left on disk either.
  std::ifstream in(client_dir_.path() / "parley-state.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.find(old_key), std::string::npos);
  EXPECT_EQ(text.find("gus"), std::string::npos);

  // And a fresh client on that directory sees the new app's (empty) state.
  client fresh;
  fresh.init(other.app_id, options());
  EXPECT_EQ(fresh.device_id(), c->device_id());
  EXPECT_FALSE(fresh.current_user());
}

TEST_F(sdk_client, deauthenticate_clears_local_state_and_ends_the_server_session) {
  auto token = platform_->create_user("hal", true);
  std::shared_ptr<test::recorder> rec;
  auto c = make_client(&rec);
  get_within(c->authenticate({.user_id = "hal", .access_token = *token}));
  get_within(c->connect_websocket());
  auto key = *c->session_key();

  get_within(c->deauthenticate());
  EXPECT_FALSE(c->current_user());
  EXPECT_FALSE(c->session_key());
  EXPECT_EQ(rec->wait_for("disconnected", disconnect_reason::deauthenticated), 1);
  EXPECT_EQ(c->state(), connection_state::disconnected);

  auto who =
      platform_->http().call("GET", "/v1/me", std::nullopt, {{"Authorization", "Bearer " + key}});
  EXPECT_EQ(who.status, 401);
  EXPECT_EQ(error_of(c->register_push_token("t", push_token_type::fcm))->code(),
            error_code::not_authenticated);

  // A client on the same directory starts signed out.
  auto again = make_client();
  EXPECT_FALSE(again->session_key());
}

TEST_F(sdk_client, deauthenticate_clears_locally_when_the_server_is_gone) {
  auto token = platform_->create_user("ida", true);
  auto c = make_client();
  get_within(c->authenticate({.user_id = "ida", .access_token = *token}));
  server_->kill_hard();
  auto e = error_of(c->deauthenticate());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::network_error);
  EXPECT_FALSE(c->current_user());
  EXPECT_FALSE(c->session_key());
}

TEST_F(sdk_client, revoked_access_token_ends_the_connection_with_session_invalid) {
  auto token = platform_->create_user("jon", true);
  std::shared_ptr<test::recorder> rec;
  auto c = make_client(&rec);
  get_within(c->authenticate({.user_id = "jon", .access_token = *token}));
  get_within(c->connect_websocket());

  EXPECT_EQ(platform_->call("DELETE", "/users/jon/access_token").status, 204);
  auto at = rec->wait_for("disconnected", disconnect_reason::session_invalid);
  ASSERT_GE(at, 0);
  EXPECT_EQ(rec->events()[static_cast<std::size_t>(at)].info->close_code, 4001);
  EXPECT_EQ(rec->wait_for("reconnecting", std::nullopt, 0ms), -1);
  EXPECT_EQ(c->state(), connection_state::disconnected);
  EXPECT_FALSE(c->session_key());
}

TEST_F(sdk_client, deleted_user_ends_the_connection_with_user_deleted) {
  auto token = platform_->create_user("kim", true);
  std::shared_ptr<test::recorder> rec;
  auto c = make_client(&rec);
  get_within(c->authenticate({.user_id = "kim", .access_token = *token}));
  get_within(c->connect_websocket());
  EXPECT_EQ(platform_->call("DELETE", "/users/kim").status, 204);
  EXPECT_GE(rec->wait_for("disconnected", disconnect_reason::user_deleted), 0);
  EXPECT_FALSE(c->current_user());
}

TEST_F(sdk_client, a_second_connection_of_the_same_device_replaces_the_first) {
  auto token = platform_->create_user("lea", true);
  std::shared_ptr<test::recorder> first_rec;
  auto first = make_client(&first_rec);
  get_within(first->authenticate({.user_id = "lea", .access_token = *token}));
  get_within(first->connect_websocket());

  // Same data directory: same session key and device id.
  auto second = make_client();
  get_within(second->connect_websocket());
  EXPECT_GE(first_rec->wait_for("disconnected", disconnect_reason::replaced), 0);
  EXPECT_EQ(first_rec->wait_for("reconnecting", std::nullopt, 0ms), -1);
  // Being replaced does not end the session.
  EXPECT_TRUE(first->session_key());
}

TEST_F(sdk_client, a_refused_hello_fails_connect_and_forgets_the_session) {
  platform_->create_user("max", false);
  auto [token, expires_at] = platform_->issue_session_token("max");
  std::shared_ptr<test::recorder> rec;
  auto c = make_client(&rec);
  get_within(c->authenticate({.user_id = "max", .session_token = token}));
  // Revoked while the app was not connected: the stored key is dead.
  EXPECT_EQ(platform_->call("DELETE", "/users/max/session_tokens").status, 204);
  auto e = error_of(c->connect_websocket());
  ASSERT_TRUE(e);
  EXPECT_NE(e->code(), error_code::network_error);
  EXPECT_GE(rec->wait_for("disconnected", disconnect_reason::session_invalid), 0);
  EXPECT_FALSE(c->session_key());
}

class sdk_client_restart : public sdk_client, public ::testing::WithParamInterface<bool> {};

TEST_P(sdk_client_restart, server_restart_is_followed_by_reconnecting_then_connected) {
  auto token = platform_->create_user("ned", true);
  std::shared_ptr<test::recorder> rec;
  auto c = make_client(&rec);
  get_within(c->authenticate({.user_id = "ned", .access_token = *token}));
  get_within(c->connect_websocket());
  ASSERT_EQ(rec->wait_for("connected"), 0);

  restart_server(GetParam());
  auto reconnecting = rec->wait_for("reconnecting", std::nullopt, 30s, 1);
  ASSERT_GE(reconnecting, 1);
  auto connected =
      rec->wait_for("connected", std::nullopt, 30s, static_cast<std::size_t>(reconnecting));
  ASSERT_GT(connected, reconnecting);
  EXPECT_EQ(c->state(), connection_state::connected);
  EXPECT_EQ(rec->wait_for("disconnected", std::nullopt, 0ms), -1);
}

INSTANTIATE_TEST_SUITE_P(sdk_restart, sdk_client_restart, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "killed" : "drained";
                         });

TEST_F(sdk_client, a_silent_server_is_detected_and_the_client_reconnects) {
  // Heartbeat 1 s: the client gives up on a link after 2 x 1 s + 5 s without a byte.
  server_.reset();
  start_server({"--heartbeat-s", "1"});
  auto token = platform_->create_user("sid", true);
  std::shared_ptr<test::recorder> rec;
  auto c = make_client(&rec);
  get_within(c->authenticate({.user_id = "sid", .access_token = *token}));
  get_within(c->connect_websocket());

  server_->pause();
  auto reconnecting = rec->wait_for("reconnecting", std::nullopt, 30s);
  server_->resume();
  ASSERT_GE(reconnecting, 1);
  EXPECT_GT(rec->wait_for("connected", std::nullopt, 30s, static_cast<std::size_t>(reconnecting)),
            reconnecting);
  EXPECT_EQ(c->state(), connection_state::connected);
}

TEST_F(sdk_client, destroying_a_client_answers_requests_stuck_on_a_silent_server) {
  auto token = platform_->create_user("tom", true);
  std::future<void> connecting;
  std::future<user> authenticating;
  {
    auto c = make_client();
    get_within(c->authenticate({.user_id = "tom", .access_token = *token}));
    server_->pause();  // TCP still accepts; nothing answers
    connecting = c->connect_websocket();
    test::temp_dir other_dir;
    auto other = make_client(nullptr, &other_dir.path());
    authenticating = other->authenticate({.user_id = "tom", .access_token = *token});
    EXPECT_EQ(connecting.wait_for(200ms), std::future_status::timeout);
  }
  server_->resume();
  ASSERT_EQ(connecting.wait_for(0s), std::future_status::ready);
  ASSERT_EQ(authenticating.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(error_of(std::move(connecting))->code(), error_code::network_error);
  EXPECT_EQ(error_of(std::move(authenticating))->code(), error_code::network_error);
}

TEST_F(sdk_client, authenticate_keeps_the_servers_ice_servers) {
  server_.reset();
  start_server({"--stun-url", "stun:stun.example.com:3478", "--turn-url",
                "turn:turn.example.com:3478?transport=udp", "--turn-secret", "s3cret"});
  auto token = platform_->create_user("ivy", true);
  auto c = make_client();
  get_within(c->authenticate({.user_id = "ivy", .access_token = *token}));
  auto ice = c->ice_servers();
  ASSERT_FALSE(ice.empty());
  bool saw_turn = false;
  for (const auto& server : ice) {
    for (const auto& url : server.urls) {
      if (url.rfind("turn:", 0) != 0) continue;
      saw_turn = true;
      ASSERT_TRUE(server.username);
      EXPECT_NE(server.username->find(":ivy"), std::string::npos);
      ASSERT_TRUE(server.credential);
      EXPECT_FALSE(server.credential->empty());
    }
  }
  EXPECT_TRUE(saw_turn);
  // Kept across a restart of the app.
  auto again = make_client();
  EXPECT_EQ(again->ice_servers(), ice);
}

TEST_F(sdk_client, disconnect_websocket_closes_without_reconnecting) {
  auto token = platform_->create_user("oli", true);
  std::shared_ptr<test::recorder> rec;
  auto c = make_client(&rec);
  get_within(c->authenticate({.user_id = "oli", .access_token = *token}));
  get_within(c->connect_websocket());
  c->disconnect_websocket();
  EXPECT_GE(rec->wait_for("disconnected", disconnect_reason::closed_by_client), 0);
  EXPECT_TRUE(c->session_key());
  get_within(c->connect_websocket());
  EXPECT_EQ(c->state(), connection_state::connected);
}

// Hands the SDK's token request to the test thread.
class queued_session_handler : public session_handler {
 public:
  void on_session_token_required(token_callback provide) override {
    {
      std::lock_guard lock(mu_);
      requests_.push_back(std::move(provide));
    }
    cv_.notify_all();
  }
  void on_session_refreshed(std::int64_t expires_at) override {
    {
      std::lock_guard lock(mu_);
      refreshed_ = expires_at;
    }
    cv_.notify_all();
  }
  void on_session_refresh_failed(const error& err) override {
    {
      std::lock_guard lock(mu_);
      failed_ = err;
    }
    cv_.notify_all();
  }

  std::optional<token_callback> wait_request(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !requests_.empty(); })) return std::nullopt;
    return requests_.front();
  }
  std::optional<std::int64_t> wait_refreshed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return refreshed_.has_value() || failed_.has_value(); });
    return refreshed_;
  }
  std::optional<error> failure() {
    std::lock_guard lock(mu_);
    return failed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<token_callback> requests_;
  std::optional<std::int64_t> refreshed_;
  std::optional<error> failed_;
};

TEST_F(sdk_client, session_handler_refreshes_an_expiring_session_on_the_open_connection) {
  platform_->create_user("pam", false);
  // The server warns 60 s before expiry: a token for ~62 s makes the warning come in ~2 s.
  auto [token, expires_at] = platform_->issue_session_token("pam", test::now_ms() + 62'000);
  auto handler = std::make_shared<queued_session_handler>();
  std::shared_ptr<test::recorder> rec;
  auto c = make_client(&rec);
  c->set_session_handler(handler);
  get_within(c->authenticate({.user_id = "pam", .session_token = token}));
  EXPECT_EQ(c->session_expires_at(), expires_at);
  get_within(c->connect_websocket());

  auto provide = handler->wait_request(20s);
  ASSERT_TRUE(provide) << "no session_expiring arrived";
  auto [fresh, fresh_expires_at] = platform_->issue_session_token("pam");
  (*provide)(fresh);
  auto refreshed = handler->wait_refreshed(20s);
  ASSERT_TRUE(refreshed) << (handler->failure() ? handler->failure()->what() : "no answer");
  EXPECT_EQ(*refreshed, fresh_expires_at);
  EXPECT_EQ(c->session_expires_at(), fresh_expires_at);

  // The connection stayed up throughout.
  EXPECT_EQ(c->state(), connection_state::connected);
  auto events = rec->events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "connected");
}

TEST_F(sdk_client, session_handler_refreshes_a_jwt_session_with_a_new_jwt) {
  auto now_s = test::now_ms() / 1000;
  auto jwt = test::sign_jwt(app_.signing_secret, "jo", app_.app_id, now_s + 62);
  auto handler = std::make_shared<queued_session_handler>();
  std::shared_ptr<test::recorder> rec;
  auto c = make_client(&rec);
  c->set_session_handler(handler);
  get_within(c->authenticate({.user_id = "jo", .jwt = jwt}));
  get_within(c->connect_websocket());

  auto provide = handler->wait_request(20s);
  ASSERT_TRUE(provide) << "no session_expiring arrived";
  auto later_s = now_s + 3600;
  (*provide)(test::sign_jwt(app_.signing_secret, "jo", app_.app_id, later_s));
  auto refreshed = handler->wait_refreshed(20s);
  ASSERT_TRUE(refreshed) << (handler->failure() ? handler->failure()->what() : "no answer");
  EXPECT_GT(*refreshed, (now_s + 62) * 1000);
  EXPECT_LE(*refreshed, later_s * 1000);
  EXPECT_EQ(c->state(), connection_state::connected);
  EXPECT_EQ(rec->events().size(), 1u);
}

TEST_F(sdk_client, a_refused_refresh_token_is_reported_and_the_connection_stays) {
  platform_->create_user("kit", false);
  platform_->create_user("other", false);
  auto [token, expires_at] = platform_->issue_session_token("kit", test::now_ms() + 62'000);
  auto handler = std::make_shared<queued_session_handler>();
  auto c = make_client();
  c->set_session_handler(handler);
  get_within(c->authenticate({.user_id = "kit", .session_token = token}));
  get_within(c->connect_websocket());
  auto provide = handler->wait_request(20s);
  ASSERT_TRUE(provide);
  auto [foreign, foreign_expiry] = platform_->issue_session_token("other");
  (*provide)(foreign);  // another user's token: refused
  EXPECT_FALSE(handler->wait_refreshed(20s));
  ASSERT_TRUE(handler->failure());
  EXPECT_EQ(handler->failure()->code(), error_code::invalid_credentials);
  EXPECT_EQ(c->session_expires_at(), expires_at);
  EXPECT_EQ(c->state(), connection_state::connected);
}

TEST_F(sdk_client, push_tokens_register_and_unregister_through_the_server) {
  auto token = platform_->create_user("quin", true);
  auto c = make_client();
  get_within(c->authenticate({.user_id = "quin", .access_token = *token}));
  get_within(c->register_push_token("voip-1", push_token_type::apns_voip));
  get_within(c->register_push_token("fcm:a-b_c/1", push_token_type::fcm));
  get_within(c->register_push_token("fcm-2", push_token_type::fcm));

  auto listed = [&] {
    auto a = platform_->call("GET", "/users/quin/push_tokens");
    EXPECT_EQ(a.status, 200) << a.text;
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& t : a.body.as_object().at("push_tokens").as_array()) {
      const auto& o = t.as_object();
      out.emplace(std::string(o.at("type").as_string()), std::string(o.at("token").as_string()));
    }
    return out;
  };
  using set = std::set<std::pair<std::string, std::string>>;
  EXPECT_EQ(listed(), (set{{"apns_voip", "voip-1"}, {"fcm", "fcm:a-b_c/1"}, {"fcm", "fcm-2"}}));

  get_within(c->unregister_push_token("voip-1", push_token_type::apns_voip));
  EXPECT_EQ(listed(), (set{{"fcm", "fcm:a-b_c/1"}, {"fcm", "fcm-2"}}));
  get_within(c->unregister_all_push_tokens(push_token_type::fcm));
  EXPECT_EQ(listed(), set{});
}

TEST_F(sdk_client, destroying_a_connected_client_fails_pending_work_and_leaks_nothing) {
  auto token = platform_->create_user("ray", true);
  std::future<void> pending;
  std::weak_ptr<test::recorder> weak_rec;
  {
    std::shared_ptr<test::recorder> rec;
    auto c = make_client(&rec);
    weak_rec = rec;
    get_within(c->authenticate({.user_id = "ray", .access_token = *token}));
    get_within(c->connect_websocket());
    pending = c->register_push_token("t-1", push_token_type::apns);
  }
  // Whatever was under way has its answer (done or failed), never a broken promise.
  ASSERT_EQ(pending.wait_for(0s), std::future_status::ready);
  try {
    pending.get();
  } catch (const error& e) {
    EXPECT_EQ(e.code(), error_code::network_error);
  }
  EXPECT_TRUE(weak_rec.expired());
}

// The same client over TLS: https:// for the API, wss:// for the WebSocket.
class sdk_client_tls : public ::testing::Test {
 protected:
  void SetUp() override {
    parleyd_ = test::parleyd_path();
    if (parleyd_.empty()) GTEST_SKIP() << "PARLEYD is not set";
    app_ = test::create_app(parleyd_, server_dir_.path(), "t");
    cert_ = (server_dir_.path() / "cert.pem").string();
    auto key = (server_dir_.path() / "key.pem").string();
    test::write_self_signed_cert(cert_, key);
    server_ = std::make_unique<test::server_process>(
        parleyd_, server_dir_.path(),
        std::vector<std::string>{"--tls-cert", cert_, "--tls-key", key});
    ASSERT_EQ(server_->url().rfind("https://", 0), 0u) << server_->url();
    platform_ = std::make_unique<test::platform_api>(server_->url(), app_, cert_);
  }

  std::string parleyd_;
  test::temp_dir server_dir_;
  test::temp_dir client_dir_;
  test::app_credentials app_;
  std::string cert_;
  std::unique_ptr<test::server_process> server_;
  std::unique_ptr<test::platform_api> platform_;
};

TEST_F(sdk_client_tls, authenticate_and_connect_with_a_trusted_certificate) {
  auto token = platform_->create_user("tess", true);
  client c;
  auto o = test::options_for(server_->url(), client_dir_.path());
  o.tls_ca_file = cert_;
  c.init(app_.app_id, o);
  auto me = get_within(c.authenticate({.user_id = "tess", .access_token = *token}));
  EXPECT_EQ(me.user_id, "tess");
  get_within(c.connect_websocket());
  EXPECT_EQ(c.state(), connection_state::connected);
  get_within(c.deauthenticate());
}

TEST_F(sdk_client_tls, an_untrusted_certificate_fails_with_network_error) {
  platform_->create_user("uma", true);
  client c;
  c.init(app_.app_id, test::options_for(server_->url(), client_dir_.path()));
  auto e = error_of(c.authenticate({.user_id = "uma", .access_token = "x"}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), error_code::network_error);
}

TEST_F(sdk_client_tls, init_refuses_a_missing_ca_file) {
  client c;
  auto o = test::options_for(server_->url(), client_dir_.path());
  o.tls_ca_file = (client_dir_.path() / "missing.pem").string();
  EXPECT_THROW(c.init(app_.app_id, o), error);
}

}  // namespace
}  // namespace parley
