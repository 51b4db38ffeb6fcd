#include "http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

namespace parley::bench {

namespace http = beast::http;

http_connection::http_connection(asio::any_io_executor ex, const target& t,
                                 std::size_t source_index)
    : target_(t), source_index_(source_index), stream_(std::move(ex)) {}

asio::awaitable<boost::system::result<http_reply>> http_connection::request(
    http::verb verb, std::string_view path, std::string_view body, std::string_view api_token,
    std::chrono::milliseconds timeout) {
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  if (!open_) {
    auto ec =
        co_await connect_from(stream_, target_.source_for(source_index_), target_.server, timeout);
    if (ec) {
      close();
      co_return ec;
    }
    open_ = true;
    buffer_.clear();
    ++connects_;
  }

  http::request<http::string_body> req{verb, path, 11};
  req.set(http::field::host, target_.host_header);
  req.keep_alive(true);
  if (!api_token.empty()) req.set("Api-Token", api_token);
  if (!body.empty() || verb == http::verb::post) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.prepare_payload();

  stream_.expires_after(timeout);
  auto [wec, wn] = co_await http::async_write(stream_, req, tuple);
  if (wec) {
    close();
    co_return wec;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  auto [rec, rn] = co_await http::async_read(stream_, buffer_, parser, tuple);
  if (rec) {
    close();
    co_return rec;
  }
  auto res = parser.release();
  http_reply out{res.result_int(), std::move(res.body())};
  if (!res.keep_alive()) close();
  co_return out;
}

void http_connection::close() {
  beast::error_code ignored;
  stream_.socket().close(ignored);
  open_ = false;
}

}  // namespace parley::bench
