#pragma once
// Verification of app-signed JWTs (protocol.md, "Client API"): HS256 only, signed with the
// app's signing_secret; `sub` the user id, `iss` the app id, `exp` required and at most 24 h
// ahead (60 s leeway), `nbf` at most 60 s ahead; `exp`, `nbf` and `iat` whole seconds in
// 0..253402300799; each part strict base64url without padding. Pure: the caller passes `now`.

#include "common/clock.hpp"
#include "common/errors.hpp"

#include <string>
#include <string_view>

namespace parley::services {

struct jwt_claims {
  std::string sub;
  millis expires_at = 0;  // exp, in milliseconds
};

// invalid_credentials for anything malformed, unsigned, mis-signed or for another app;
// token_expired when the signature is good but exp has passed (a session must not be born
// expired).
result<jwt_claims> verify_jwt(std::string_view token, std::string_view signing_secret,
                              std::string_view app_id, millis now);

}  // namespace parley::services
