#include "transport/http_client.hpp"

#include "transport/asio_core.hpp"
#include "transport/net_util.hpp"
#include "transport/tls_context_impl.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <cctype>

namespace parley::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

// Responses list calls and users; a few MiB is far more than the server ever sends.
constexpr std::uint64_t response_body_limit = 8 * 1024 * 1024;

// One request in flight: its sockets, its deadline and its callback.
struct http_op {
  http_op(asio::io_context& ioc, const endpoint& ep, tls_context* tls, http_client::callback cb)
      : resolver(ioc), deadline(ioc), done_cb(std::move(cb)) {
    if (ep.tls)
      secure.emplace(ioc, tls->native());
    else
      plain.emplace(ioc);
  }

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // Closing the socket ends whatever read, write or connect is waiting on it.
  void abort() {
    resolver.cancel();
    boost::system::error_code ignored;
    lowest().socket().close(ignored);
  }

  void finish(std::optional<transport_failure> failure, http_response response) {
    if (finished) return;
    finished = true;
    deadline.cancel();
    if (failure) {
      failure->timed_out = timed_out;
      failure->cancelled = cancelled && !timed_out;
      if (timed_out) failure->message = "request timed out";
      if (failure->cancelled) failure->message = "request cancelled";
    }
    auto cb = std::move(done_cb);
    if (on_finished) on_finished();
    cb(std::move(failure), std::move(response));
  }

  void fail(const char* step, const boost::system::error_code& ec) {
    finish(transport_failure{std::string(step) + ": " + ec.message()}, {});
  }

  tcp::resolver resolver;
  asio::steady_timer deadline;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  http_client::callback done_cb;
  std::function<void()> on_finished;
  bool finished = false;
  bool timed_out = false;
  bool cancelled = false;
};

template <class Stream>
asio::awaitable<boost::system::error_code> exchange(
    Stream& stream, http::request<http::string_body>& request,
    http::response_parser<http::string_body>& parser) {
  auto [write_ec, written] = co_await http::async_write(stream, request, nothrow_awaitable);
  if (write_ec) co_return write_ec;
  beast::flat_buffer buffer;
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, nothrow_awaitable);
  co_return read_ec;
}

asio::awaitable<void> run_op(std::shared_ptr<http_op> op, endpoint ep, http_request req) {
  // Resolve and connect; the deadline timer aborts any step that takes too long.
  auto [resolve_ec, results] =
      co_await op->resolver.async_resolve(ep.host, ep.port, nothrow_awaitable);
  if (resolve_ec) co_return op->fail("resolve", resolve_ec);
  auto [connect_ec, peer] = co_await op->lowest().async_connect(results, nothrow_awaitable);
  if (connect_ec) co_return op->fail("connect", connect_ec);

  if (op->secure) {
    // SNI for names (not for IP literals), and the certificate must name the host.
    if (!is_ip_literal(ep.host))
      SSL_set_tlsext_host_name(op->secure->native_handle(), ep.host.c_str());
    op->secure->set_verify_callback(ssl::host_name_verification(ep.host));
    auto [hs_ec] =
        co_await op->secure->async_handshake(ssl::stream_base::client, nothrow_awaitable);
    if (hs_ec) co_return op->fail("TLS handshake", hs_ec);
  }

  http::request<http::string_body> request;
  if (auto verb = http::string_to_verb(req.method); verb != http::verb::unknown)
    request.method(verb);
  else
    request.method_string(req.method);
  request.target(ep.base_path + req.target);
  request.version(11);
  request.set(http::field::host, host_header(ep));
  request.set(http::field::user_agent, "libparley/0.1");
  request.set(http::field::accept, "application/json");
  request.set(http::field::connection, "close");
  for (auto& [name, value] : req.headers) request.set(name, value);
  if (!req.body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = std::move(req.body);
  }
  request.prepare_payload();

  http::response_parser<http::string_body> parser;
  parser.body_limit(response_body_limit);
  auto ec = op->secure ? co_await exchange(*op->secure, request, parser)
                       : co_await exchange(*op->plain, request, parser);
  if (ec) co_return op->fail("exchange", ec);

  auto message = parser.release();
  http_response response;
  response.status = static_cast<int>(message.result_int());
  response.body = std::move(message.body());
  for (auto& field : message) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    response.headers[std::move(name)] = std::string(field.value());
  }
  // One request per connection: no TLS close_notify exchange, the answer is complete.
  boost::system::error_code ignored;
  op->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  op->lowest().socket().close(ignored);
  op->finish(std::nullopt, std::move(response));
}

}  // namespace

struct http_client::impl : std::enable_shared_from_this<http_client::impl> {
  impl(event_loop& l, endpoint e, std::shared_ptr<tls_context> t)
      : loop(l), ep(std::move(e)), tls(std::move(t)) {}

  event_loop& loop;
  endpoint ep;
  std::shared_ptr<tls_context> tls;
  std::map<std::uint64_t, std::weak_ptr<http_op>> ops;
  std::uint64_t next_id = 1;
};

http_client::http_client(event_loop& loop, endpoint ep, std::shared_ptr<tls_context> tls)
    : impl_(std::make_shared<impl>(loop, std::move(ep), std::move(tls))) {}

http_client::~http_client() {
  cancel_all();
}

void http_client::send(http_request request, callback done) {
  auto& ioc = impl_->loop.core().ioc;
  auto op = std::make_shared<http_op>(ioc, impl_->ep, impl_->tls.get(), std::move(done));
  auto id = impl_->next_id++;
  impl_->ops[id] = op;
  op->on_finished = [weak = std::weak_ptr<impl>(impl_), id] {
    if (auto self = weak.lock()) self->ops.erase(id);
  };

  op->deadline.expires_after(request.timeout);
  op->deadline.async_wait([weak = std::weak_ptr<http_op>(op)](boost::system::error_code ec) {
    auto expired = weak.lock();
    if (ec || !expired || expired->finished) return;
    expired->timed_out = true;
    expired->abort();
  });

  asio::co_spawn(ioc, run_op(op, impl_->ep, std::move(request)), [op](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      op->finish(transport_failure{std::string("internal: ") + ex.what()}, {});
    } catch (...) {
      op->finish(transport_failure{"internal error"}, {});
    }
  });
}

void http_client::cancel_all() {
  // Copy first: abort() does not finish synchronously, but keep the walk independent of erasures.
  auto ops = impl_->ops;
  for (auto& [id, weak] : ops) {
    if (auto op = weak.lock()) {
      op->cancelled = true;
      op->abort();
    }
  }
}

}  // namespace parley::transport
