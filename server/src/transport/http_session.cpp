#include "transport/http_session.hpp"

#include "api/responses.hpp"
#include "services/limits.hpp"
#include "transport/deferred_answer.hpp"
#include "transport/memory_stream.hpp"
#include "transport/static_files.hpp"
#include "transport/ws_session.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace parley::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr auto header_timeout = std::chrono::seconds(30);  // slow or silent clients
constexpr auto keep_alive_timeout = std::chrono::seconds(60);
constexpr auto ops_only_timeout = std::chrono::seconds(5);

// What an ops-only connection may ask for.
bool is_ops_path(std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  return path == "/healthz" || path == "/metrics";
}

template <class Stream>
class http_session final : public std::enable_shared_from_this<http_session<Stream>>,
                           public drainable,
                           public reapable {
 public:
  http_session(Stream&& stream, std::string remote, session_env& env,
               std::shared_ptr<connection_slot> slot)
      : stream_(std::move(stream)),
        executor_(beast::get_lowest_layer(stream_).get_executor()),
        remote_(std::move(remote)),
        slot_(std::move(slot)),
        env_(env),
        ctx_(env.ctx),
        http_(env.http),
        cfg_(env.cfg),
        registry_(env.registry) {}

  void start() {
    slot_->set_target(this->weak_from_this());
    // The coroutine holds the session from its first line; until it runs (it may be queued on
    // another thread's context) the function object holds it.
    asio::co_spawn(
        beast::get_lowest_layer(stream_).get_executor(),
        [self = this->shared_from_this()] { return self->run(); }, asio::detached);
  }

  void drain() override {
    asio::post(executor_, [self = this->shared_from_this()] {
      self->draining_ = true;
      // An idle keep-alive connection is closed now; a busy one after its answer.
      if (self->idle_) beast::get_lowest_layer(self->stream_).socket().close();
    });
  }

  // Reaped at the connection cap while waiting for its peer: closed now, whatever it was doing.
  void reap() override {
    asio::post(executor_, [self = this->shared_from_this()] {
      // Handed to a WebSocket session meanwhile (the reap raced with the upgrade request): the
      // stream and the slot have moved there, and so has the reaping.
      if (!self->slot_) return;
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().close(ignored);
    });
  }

 private:
  asio::awaitable<void> run() {
    auto self = this->shared_from_this();
    // Until a request is complete the connection waits on its peer: reapable at the cap.
    slot_->idle();
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(10));
      auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
      if (ec) co_return;
    }
    beast::flat_buffer buffer;
    for (;;) {
      // A fresh parser per request, with our body and header limits.
      http::request_parser<http::string_body> parser;
      parser.body_limit(limits::http_body_bytes);
      parser.header_limit(16 * 1024);
      idle_ = true;
      slot_->idle();
      if (draining_) break;
      // An ops-only connection (connection_limiter.hpp) gets one short chance.
      beast::get_lowest_layer(stream_).expires_after(
          slot_->ops_only() ? ops_only_timeout
                            : (buffer.size() ? header_timeout : keep_alive_timeout));
      auto [ec, n] = co_await http::async_read_header(stream_, buffer, parser, tuple_awaitable);
      idle_ = false;
      slot_->busy();
      if (ec == http::error::body_limit) {
        // A declared Content-Length over the limit is refused before any body is read.
        co_await reply_error(fail(errc::payload_too_large, "the body is over 64 KiB"));
        break;
      }
      if (ec) {
        if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
            ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
            ec != asio::error::eof && ec != asio::error::bad_descriptor)
          co_await reply_error(fail(errc::invalid_request, "malformed HTTP request"));
        break;
      }
      auto& head = parser.get();
      if (slot_->ops_only() && !is_ops_path(head.target())) {
        co_await reply_error(
            fail(errc::unavailable, "the server is at its connection limit; try again later"));
        break;
      }
      if (beast::iequals(head[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, head.version()};
        auto [wec, wn] = co_await http::async_write(stream_, cont, tuple_awaitable);
        if (wec) break;
      }
      beast::get_lowest_layer(stream_).expires_after(header_timeout);
      auto [bec, bn] = co_await http::async_read(stream_, buffer, parser, tuple_awaitable);
      if (bec) {
        if (bec == http::error::body_limit)
          co_await reply_error(fail(errc::payload_too_large, "the body is over 64 KiB"));
        else if (bec != beast::error::timeout && bec != http::error::end_of_stream)
          co_await reply_error(fail(errc::invalid_request, "malformed HTTP request"));
        break;
      }
      auto req = parser.release();

      // WebSocket handshakes: every refusal is the protocol's JSON error (the handshake's own
      // checks are answered that way by ws_session).
      auto ws_path = req.target().substr(0, req.target().find('?')) == "/v1/ws";
      if (beast::websocket::is_upgrade(req)) {
        if (!ws_path) {
          co_await reply_error(fail(errc::not_found, "no WebSocket endpoint at this path"));
          break;
        }
        if (draining_) {
          co_await reply_error(fail(errc::unavailable, "the server is stopping"));
          break;
        }
        start_ws_session(std::move(stream_), std::move(req), remote_, ctx_, cfg_, registry_,
                         std::move(slot_));
        co_return;
      }
      if (ws_path) {
        co_await reply_error(fail(errc::invalid_request,
                                  "/v1/ws takes a WebSocket upgrade (Connection: Upgrade, "
                                  "Upgrade: websocket)"));
        break;
      }

      auto res = co_await answer(req);
      res.keep_alive(req.keep_alive() && !draining_ && !slot_->ops_only());
      bool keep = res.keep_alive();
      beast::get_lowest_layer(stream_).expires_after(header_timeout);
      auto [wec, wn] = co_await http::async_write(stream_, res, tuple_awaitable);
      if (wec || !keep) break;
    }
    // Graceful end of the connection; errors here change nothing.
    beast::error_code ignored;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    } else {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      co_await stream_.async_shutdown(tuple_awaitable);
    }
  }

  asio::awaitable<http::response<http::string_body>> answer(
      const http::request<http::string_body>& req) {
    api::http_request in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    in.body = req.body();
    in.remote_address = remote_;
    in.api_token = std::string(req["Api-Token"]);
    in.admin_token = std::string(req["Admin-Token"]);
    in.authorization = std::string(req[http::field::authorization]);

    api::http_response out;
    bool is_get = req.method() == http::verb::get;
    if (is_get && env_.sdk.enabled() && in.target.starts_with("/sdk/") &&
        env_.sdk.serve(std::string_view(in.target).substr(4), out)) {
      ctx_.stats.http_requests_total.add({"static", std::to_string(out.status)});
    } else if (is_get && env_.web.enabled() && env_.web.serve(in.target, out)) {
      ctx_.stats.http_requests_total.add({"static", std::to_string(out.status)});
    } else {
      // A deferred route answers later, from another thread: deferred_answer.hpp.
      deferred_answer late(beast::get_lowest_layer(stream_).get_executor());
      auto now = http_.handle(in, late.responder(registry_.gate()));
      if (!now) now = co_await late.get();
      out = std::move(*now);
    }

    http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
    res.set(http::field::server, "parleyd");
    if (!out.content_type.empty()) res.set(http::field::content_type, out.content_type);
    for (const auto& [k, v] : out.headers) res.set(k, v);
    res.body() = std::move(out.body);
    res.prepare_payload();
    co_return res;
  }

  asio::awaitable<void> reply_error(const failure& f) {
    auto out = api::error_response(f);
    ctx_.stats.http_requests_total.add({"unparsed", std::to_string(out.status)});
    http::response<http::string_body> res{static_cast<http::status>(out.status), 11};
    res.set(http::field::server, "parleyd");
    res.set(http::field::content_type, out.content_type);
    res.set(http::field::connection, "close");
    res.body() = std::move(out.body);
    res.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    co_await http::async_write(stream_, res, tuple_awaitable);
  }

  Stream stream_;
  // The connection's strand, kept apart from stream_, which moves to a WebSocket session on an
  // upgrade: drain() and reap() post to it from other threads.
  asio::any_io_executor executor_;
  std::string remote_;
  std::shared_ptr<connection_slot> slot_;  // this connection's place under the caps
  session_env& env_;
  api::context& ctx_;
  api::http_api& http_;
  const transport_config& cfg_;
  drain_registry& registry_;
  bool idle_ = false;
  bool draining_ = false;
};

}  // namespace

template <class Stream>
void start_http_session(Stream stream, std::string remote_address, session_env& env,
                        std::shared_ptr<connection_slot> slot) {
  auto s = std::make_shared<http_session<Stream>>(std::move(stream), std::move(remote_address), env,
                                                  std::move(slot));
  env.registry.add(s);
  s->start();
}

template void start_http_session<beast::tcp_stream>(beast::tcp_stream, std::string, session_env&,
                                                    std::shared_ptr<connection_slot>);
template void start_http_session<beast::ssl_stream<beast::tcp_stream>>(
    beast::ssl_stream<beast::tcp_stream>, std::string, session_env&,
    std::shared_ptr<connection_slot>);
// The in-memory stream of replay_http.
template void start_http_session<memory_stream>(memory_stream, std::string, session_env&,
                                                std::shared_ptr<connection_slot>);

}  // namespace parley::transport
