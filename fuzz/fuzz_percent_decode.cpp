// api::percent_decode, the decoding of path segments and query values, on its own.
//
// Invariants (abort on violation):
// - a text without '%' decodes to itself;
// - the decoded text is never longer than the input, and shorter by exactly two bytes per escape;
// - decoding rejects exactly the texts with a '%' not followed by two hex digits;
// - encoding any byte string (every byte as %XX, or only the unsafe ones) and decoding it gives
//   the bytes back; decoding the encoding of a decoded text gives the same decoded text.
#include "api/router.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_percent_decode invariant violated: %s\n", what);
  std::abort();
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string encode(std::string_view raw, bool all) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : raw) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~';
    if (plain && !all) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto decoded = parley::api::percent_decode(in);

  // Which inputs are well-formed, computed independently.
  bool well_formed = true;
  std::size_t escapes = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') continue;
    if (i + 2 >= in.size() || !is_hex(in[i + 1]) || !is_hex(in[i + 2])) {
      well_formed = false;
      break;
    }
    ++escapes;
    i += 2;
  }
  check(decoded.has_value() == well_formed, "accepted a bad escape or refused a good one");
  if (in.find('%') == std::string_view::npos) check(decoded && *decoded == in, "identity");
  if (decoded) {
    check(decoded->size() + 2 * escapes == in.size(), "decoded length");
    for (bool all : {true, false}) {
      auto again = parley::api::percent_decode(encode(*decoded, all));
      check(again && *again == *decoded, "decode(encode(decoded)) != decoded");
    }
  }
  for (bool all : {true, false}) {
    auto back = parley::api::percent_decode(encode(in, all));
    check(back && *back == in, "decode(encode(raw)) != raw");
  }
  return 0;
}
