#pragma once
// The rows the store keeps, as plain values. Secrets appear here only as SHA-256 digests (hex).

#include "common/clock.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace parley::store {

struct app_settings {
  int ringing_timeout_s = 60;
  int connection_timeout_s = 60;
  int reconnect_grace_s = 30;
  std::optional<std::string> webhook_url;
};

struct app_record {
  std::string app_id;
  std::string name;
  std::string api_token_hash;
  // The HS256 key apps sign JWTs with. Unlike tokens it must be kept usable to verify
  // signatures, so it is stored as issued (see docs/operations.md on protecting the data dir).
  std::string signing_secret;
  millis created_at = 0;
  app_settings settings;
};

using string_map = std::map<std::string, std::string>;

struct user_record {
  std::string app_id;
  std::string user_id;
  std::string nickname;
  std::string profile_url;
  string_map metadata;
  millis created_at = 0;
  std::optional<std::string> access_token_hash;
};

struct user_patch {
  std::optional<std::string> nickname;
  std::optional<std::string> profile_url;
  std::optional<string_map> metadata;
};

// How a session was made, which decides which revocation ends it.
enum class session_source { access_token, session_token, jwt };

struct session_record {
  std::string key_hash;
  std::string app_id;
  std::string user_id;
  session_source source = session_source::access_token;
  std::optional<millis> expires_at;  // null: lasts until deauthentication or revocation
  std::string device_id;
  millis created_at = 0;
};

struct session_token_record {
  std::string app_id;
  std::string user_id;
  millis expires_at = 0;
};

struct push_token_record {
  std::string type;
  std::string token;
  millis registered_at = 0;
};

}  // namespace parley::store
