#pragma once
// The JWTs push providers want, signed with the app's keys through OpenSSL (EVP), and the
// signature of the events Parley POSTs to an app's own receivers (webhooks, push gateway).

#include "common/errors.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::services::push {

// Parley-Signature: "t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
std::string parley_signature(std::string_view secret, std::int64_t t_s, std::string_view body);

// APNs provider token: header {"alg":"ES256","kid":key_id}, claims {"iss":team_id,"iat":iat_s};
// the signature in JOSE form (r||s, 64 bytes), base64url. `p8_pem`: the .p8 key (PKCS#8 PEM,
// EC P-256). invalid_request when the key is not one.
result<std::string> apns_provider_jwt(std::string_view p8_pem, std::string_view key_id,
                                      std::string_view team_id, std::int64_t iat_s);

// Google OAuth2 JWT-bearer assertion for a service account: header
// {"alg":"RS256","typ":"JWT","kid":private_key_id}, claims {"iss":client_email,"scope":scope,
// "aud":audience,"iat":iat_s,"exp":iat_s+3600}. `rsa_pem`: PKCS#8 or PKCS#1 PEM RSA key.
result<std::string> google_oauth_assertion(std::string_view rsa_pem,
                                           std::string_view private_key_id,
                                           std::string_view client_email, std::string_view scope,
                                           std::string_view audience, std::int64_t iat_s);

// invalid_request (with `field`) unless `pem` is a PEM private key of that kind.
result<void> check_ec_p256_key(std::string_view pem, const std::string& field);
result<void> check_rsa_key(std::string_view pem, const std::string& field);

// First 16 hex digits of the SHA-256 of the key's public part (DER): tells keys apart without
// showing them. Empty when `pem` is not a private key.
std::string key_fingerprint(std::string_view pem);

}  // namespace parley::services::push
