// The HTTP request path from the wire: raw bytes through the real http_session over an
// in-memory stream (transport::replay_http): Beast's parser and limits, the WebSocket upgrade,
// static files under a web root and /sdk/, percent-decoding and the router, then the handlers
// on a temporary store. Seeds may use the placeholders of fuzz::world::expand.
//
// Invariants (abort on violation):
// - nothing outside the static roots is ever served: neither the marker file beside them, nor
//   the database next to them, nor /etc/passwd;
// - the app's signing secret and API token never appear in a response unless the input held
//   them;
// - whatever the server writes starts as an HTTP/1.1 response.
#include "transport/replay.hpp"
#include "world.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {
void violated(const char* what, const std::string& out) {
  std::fprintf(stderr, "fuzz_http invariant violated: %s\n--- response ---\n%.2000s\n", what,
               out.c_str());
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using parley::fuzz::world;
  static world w("http");
  w.repair();
  auto input = w.expand(std::string_view(reinterpret_cast<const char*>(data), size));
  auto out = parley::transport::replay_http(input, *w.ctx, *w.http, w.transport);

  if (out.find(world::marker_text) != std::string::npos)
    violated("a file outside the web root was served", out);
  if (out.find(std::string_view("SQLite format 3\0", 16)) != std::string::npos)
    violated("the database file was served", out);
  if (out.find("root:x:0:0:") != std::string::npos) violated("/etc/passwd was served", out);
  for (const std::string* secret : {&w.app.signing_secret, &w.app.api_token})
    if (out.find(*secret) != std::string::npos && input.find(*secret) == std::string::npos)
      violated("a secret of the app appeared in a response", out);
  if (!out.empty() && !out.starts_with("HTTP/1.1 ") && !out.starts_with("HTTP/1.0 "))
    violated("the server wrote something that is not an HTTP response", out);
  w.end_calls();
  return 0;
}
