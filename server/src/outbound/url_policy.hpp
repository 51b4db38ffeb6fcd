#pragma once
// The check of an outbound URL an app hands us (webhook_url, push.webhook.url, FCM token_uri)
// when it is saved: what can be refused before any request is made.
//
// The URL is read with libcurl's own parser, the one the transfer will use, so both see the same
// host. Refused: anything but http and https, a user name or password (`user:pass@`), the names
// `localhost` and `*.localhost`, and an IP literal in any form the resolver accepts whose address
// the policy does not allow. A DNS name cannot be judged here (it may resolve elsewhere later):
// http_client checks every address it connects to.
//
// Thread-safe.

#include "outbound/address_policy.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace parley::outbound {

// nullopt when the URL may be saved; otherwise why not, as a sentence that starts with the
// URL's role, e.g. "webhook_url must name a public address
// (127.0.0.1 is loopback)".
std::optional<std::string> refuse_url(std::string_view url, std::string_view name,
                                      const address_policy& policy);

}  // namespace parley::outbound
