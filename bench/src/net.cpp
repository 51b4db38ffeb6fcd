#include "net.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <netinet/in.h>

#include <charconv>

namespace parley::bench {

std::optional<tcp::endpoint> parse_url(const std::string& url) {
  constexpr std::string_view scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return std::nullopt;
  auto rest = std::string_view(url).substr(scheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  auto address = asio::ip::make_address_v4(std::string(rest.substr(0, colon)), ec);
  unsigned port = 0;
  auto digits = rest.substr(colon + 1);
  auto [p, perr] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec || perr != std::errc{} || p != digits.data() + digits.size() || port == 0 || port > 65535)
    return std::nullopt;
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

std::vector<asio::ip::address_v4> loopback_sources(int count) {
  std::vector<asio::ip::address_v4> out;
  for (int i = 0; i < count; ++i)
    out.push_back(asio::ip::make_address_v4(0x7f000002u + static_cast<unsigned>(i)));
  return out;
}

asio::awaitable<beast::error_code> connect_from(beast::tcp_stream& stream,
                                                const asio::ip::address_v4& source,
                                                const tcp::endpoint& server,
                                                std::chrono::milliseconds timeout) {
  using bind_no_port = asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>;
  auto& socket = stream.socket();
  beast::error_code ec;
  if (socket.is_open()) socket.close(ec);
  socket.open(tcp::v4(), ec);
  if (!ec) socket.set_option(bind_no_port(true), ec);
  if (!ec) socket.bind(tcp::endpoint(source, 0), ec);
  if (ec) co_return ec;
  stream.expires_after(timeout);
  auto [cec] = co_await stream.async_connect(server, asio::as_tuple(asio::use_awaitable));
  if (!cec) socket.set_option(tcp::no_delay(true), ec);
  co_return cec;
}

worker_pool::worker_pool(int threads) : ioc_(threads), work_(ioc_.get_executor()) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

worker_pool::~worker_pool() {
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
}

asio::any_io_executor worker_pool::new_strand() {
  return asio::make_strand(ioc_);
}

}  // namespace parley::bench
