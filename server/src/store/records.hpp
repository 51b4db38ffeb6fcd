#pragma once
// The rows the store keeps, as plain values. Secrets appear here only as SHA-256 digests (hex).

#include "common/clock.hpp"
#include "common/enum_names.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace parley::store {

// Push provider credentials of an app. Private keys are kept as given (the server signs with
// them) and never returned by the API.
struct apns_settings {
  std::string key_id;
  std::string team_id;
  std::string bundle_id;
  std::string private_key;  // the .p8 key, PKCS#8 PEM
  bool sandbox = false;
};

struct fcm_settings {
  std::string project_id;
  std::string client_email;
  std::string private_key_id;
  std::string private_key;  // RSA PEM
  std::string token_uri;    // empty: Google's
};

struct push_settings {
  std::optional<apns_settings> apns;
  std::optional<fcm_settings> fcm;
  std::optional<std::string> webhook_url;  // the custom push gateway
};

struct app_settings {
  int ringing_timeout_s = 60;
  int connection_timeout_s = 60;
  int reconnect_grace_s = 30;
  // Calls ringing at once per caller and per callee (protocol.md, "Direct calls in this
  // server"): one user cannot fill another's welcome with calls nobody answers.
  int max_ringing_per_caller = 10;
  int max_ringing_per_callee = 20;
  std::optional<std::string> webhook_url;
  // HMAC key of Parley-Signature; like signing_secret, kept as issued.
  std::string webhook_secret;
  push_settings push;
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
  std::int64_t id = 0;  // row id, carried in the key (0: a key issued before keys carried it)
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

// The outbox: webhooks and pushes waiting to be delivered, written in the same transaction as
// the change that caused them.
enum class outbox_kind : std::uint8_t { webhook, push };
// Stored as their integer values: never renumber an enumerator.
enum class delivery_state : std::uint8_t { pending = 0, delivered = 1, failed = 2 };
BOOST_DESCRIBE_ENUM(delivery_state, pending, delivered, failed)

struct outbox_entry {
  std::int64_t seq = 0;  // assigned by the store; the order of creation
  std::string event_id;  // UUID, unique
  std::string app_id;
  outbox_kind kind = outbox_kind::webhook;
  // Entries with the same order key are delivered one after the other, in seq order.
  std::string order_key;
  std::string event;    // webhook: the event name; push: "push.incoming_call" / "push.call_cancel"
  std::string payload;  // webhook: the body; push: {user_id, token_type, token, parley, ...}
  delivery_state state = delivery_state::pending;
  int attempts = 0;
  millis created_at = 0;
  millis next_attempt_at = 0;
  millis give_up_at = 0;
  std::optional<int> last_status;
  std::optional<std::string> last_error;
};

// How a delivery attempt ended, applied by store::complete_delivery in one transaction.
struct delivery_result {
  outbox_entry entry;  // with its new state, attempts, next_attempt_at, last_status/error
  std::vector<outbox_entry> add;  // e.g. push.failed webhooks
  // A dead push token to delete: (user_id, type, token).
  std::optional<std::array<std::string, 3>> remove_push_token;
};

struct outbox_stats {
  std::int64_t pending = 0;
  std::optional<millis> oldest_created_at;
};

}  // namespace parley::store
