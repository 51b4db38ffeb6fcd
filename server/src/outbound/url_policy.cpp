#include "outbound/url_policy.hpp"

#include <curl/curl.h>

#include <cctype>
#include <memory>

namespace parley::outbound {

namespace {

struct url_free {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// One part of a parsed URL; nullopt when the URL has none.
std::optional<std::string> part(CURLU* u, CURLUPart which) {
  char* text = nullptr;
  if (curl_url_get(u, which, &text, 0) != CURLUE_OK || text == nullptr) return std::nullopt;
  std::string out(text);
  curl_free(text);
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::optional<std::string> refuse_url(std::string_view url, std::string_view name,
                                      const address_policy& policy) {
  std::string n(name);
  std::unique_ptr<CURLU, url_free> u(curl_url());
  if (!u) return n + " cannot be checked now";
  std::string text(url);
  if (text.find('\0') != std::string::npos ||
      curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK)
    return n + " is not a valid URL";
  auto scheme = part(u.get(), CURLUPART_SCHEME);
  if (!scheme || (*scheme != "http" && *scheme != "https"))
    return n + " must be an http or https URL";
  // Credentials in the URL would be sent to whoever answers, and "a@b" hides the real host
  // from a reader.
  if (part(u.get(), CURLUPART_USER) || part(u.get(), CURLUPART_PASSWORD))
    return n + " must not carry a user name or password";
  auto host = part(u.get(), CURLUPART_HOST);
  if (!host || host->empty()) return n + " has no host";

  // libcurl has already percent-decoded the host and rewritten IPv4 numbers in dotted form;
  // parse_ip_literal accepts the odd forms too, in case a libcurl version does not.
  std::string h = lower(*host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (h == "localhost" || h.ends_with(".localhost")) {
    // RFC 6761: these names are the loopback address, whatever DNS says.
    if (!allowed(address_kind::loopback, policy)) return n + " must not name the local host";
    return std::nullopt;
  }
  if (auto ip = parse_ip_literal(*host)) {
    auto kind = classify(*ip);
    if (!allowed(kind, policy))
      return n + " must name a public address (" + *host + " is " + to_string(kind) + ")";
  }
  return std::nullopt;
}

}  // namespace parley::outbound
