// The session key format (common/crypto): the 54-character key that carries its row id, the
// legacy 43-character key without one, and anything else, through crypto::session_key_id and
// then auth_service::verify against a store holding two live sessions.
//
// Invariants (abort on violation):
// - session_key_id gives an id only for a 54-character base64url text, and the id is positive;
// - new_session_key(id) has the same id back, and is 54 characters;
// - verify accepts only the live keys themselves; a refusal is unauthorized or
//   session_expired.
#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "world.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_session_key invariant violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace crypto = parley::crypto;
  std::string_view key(reinterpret_cast<const char*>(data), size);

  auto id = crypto::session_key_id(key);
  if (id) {
    check(key.size() == 54, "an id from a key that is not 54 characters");
    check(*id > 0, "an id that is not positive");
    check(crypto::base64url_decode(key).has_value(), "an id from a key that is not base64url");
  }
  if (size >= 8) {
    std::uint64_t raw = 0;
    std::memcpy(&raw, data, 8);
    auto n = static_cast<std::int64_t>(raw & 0x7fff'ffff'ffff'ffffULL);
    if (n > 0) {
      auto made = crypto::new_session_key(n);
      check(made.size() == 54, "a new session key that is not 54 characters");
      check(crypto::session_key_id(made) == n, "a new session key does not carry its id");
    }
  }

  static parley::fuzz::world w("session_key");
  w.repair();
  auto expanded = w.expand(key);
  auto v = w.auth->verify(expanded, parley::now_ms());
  if (v) {
    check(expanded == w.alice_key || expanded == w.bob_key, "verify accepted a key never issued");
  } else {
    check(v.error().code == parley::errc::unauthorized ||
              v.error().code == parley::errc::session_expired,
          "verify refused with a code other than unauthorized or session_expired");
    check(expanded != w.alice_key && expanded != w.bob_key, "verify refused a live key");
  }
  return 0;
}
