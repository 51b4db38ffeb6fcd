// The API URL and path segments, with Boost.URL (RFC 3986 parsing and percent-encoding); what the
// SDK accepts on top of the grammar is checked here.

#include "impl/url.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

#include <string>

namespace parley::detail {

namespace urls = boost::urls;

std::optional<transport::endpoint> parse_api_url(std::string_view url) {
  auto parsed = urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;
  const urls::url_view& u = *parsed;

  transport::endpoint ep;
  // The scheme compares without case ("HTTPS://" is https).
  if (u.scheme_id() == urls::scheme::https)
    ep.tls = true;
  else if (u.scheme_id() != urls::scheme::http)
    return std::nullopt;
  // The SDK adds its own paths and queries, and sends credentials in headers only.
  if (!u.has_authority() || u.has_userinfo() || u.has_query() || u.has_fragment())
    return std::nullopt;

  // host_address(): a name or IPv4 as written (percent-decoded), an IPv6 without its brackets.
  if (u.host_type() == urls::host_type::ipvfuture) return std::nullopt;
  ep.host = u.host_address();
  if (ep.host.empty()) return std::nullopt;

  if (u.has_port()) {
    // The grammar allows any run of digits (or none); a port is 1..65535.
    auto port = u.port();
    if (port.empty() || port.size() > 5) return std::nullopt;
    int value = std::stoi(std::string(port));
    if (value < 1 || value > 65535) return std::nullopt;
    ep.port = std::string(port);
  } else {
    ep.port = ep.tls ? "443" : "80";
  }

  // After an authority the path is empty or starts with '/' (RFC 3986, path-abempty). Boost.URL
  // 1.81 reads "http://host:8x" as port 8 and path "x": refuse that here.
  auto path = u.encoded_path();
  if (!path.empty() && path.front() != '/') return std::nullopt;

  // The prefix every target gets, as written, without trailing slashes.
  std::string base(path);
  while (!base.empty() && base.back() == '/') base.pop_back();
  ep.base_path = base;
  return ep;
}

std::string encode_path_segment(std::string_view segment) {
  // Upper-case hex digits (RFC 3986's recommendation, Boost.URL's default).
  return urls::encode(segment, urls::unreserved_chars);
}

}  // namespace parley::detail
