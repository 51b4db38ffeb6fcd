#pragma once
// Static files under --web-root (the demo page and the browser SDK bundle).

#include "api/http_types.hpp"

#include <string>

namespace parley::transport {

// Fills `out` and returns true when `target` names a readable file under `root` ("/" and
// directories serve index.html). Paths with ".." or NUL never leave the root.
bool serve_static(const std::string& root, const std::string& target, api::http_response& out);

}  // namespace parley::transport
