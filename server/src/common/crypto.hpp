#pragma once
// Hashing, MACs, randomness and encodings from OpenSSL, and UUIDs from Boost.UUID. Secrets are
// made here and only their SHA-256 is stored; comparisons of secrets go through
// constant_time_equal.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::crypto {

// `n` bytes from the OpenSSL CSPRNG. Throws std::runtime_error if the CSPRNG fails (fatal).
std::string random_bytes(std::size_t n);
// A new secret: 256 random bits, base64url without padding (43 characters).
std::string new_secret();
// A session key: the session's row id (8 bytes, big-endian) then 256 random bits, base64url
// without padding (54 characters). The id lets the store find the row by its primary key; the
// random part is the secret (only the SHA-256 of the whole key is stored).
std::string new_session_key(std::int64_t id);
// The row id of a key made by new_session_key; nullopt for anything else (a key issued before
// keys carried their id is 43 characters and has none).
std::optional<std::int64_t> session_key_id(std::string_view key) noexcept;
// A random UUID v4 as 36 lower-case characters ("xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx"),
// from the kernel's CSPRNG (Boost.UUID's random_generator: getrandom(2)). Throws
// std::runtime_error (boost::uuids::entropy_error) if the kernel gives none (fatal, as for
// random_bytes).
std::string uuid_v4();
// True for exactly that text form (lower case, version 4, RFC 4122 variant).
bool is_uuid_v4(std::string_view s) noexcept;

// Raw 32-byte digest and its lowercase hex form.
std::string sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha1(std::string_view key, std::string_view data);

std::string hex(std::string_view bytes);
std::string base64(std::string_view bytes);
std::string base64url(std::string_view bytes);
// Decodes base64url (padding optional). nullopt on a character outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view text);

// Compares without an early exit, so timing does not reveal the common prefix.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace parley::crypto
