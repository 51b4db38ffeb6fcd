#pragma once

// The state the SDK keeps between runs, in one JSON file in the data directory. It holds the
// session key, so it is written with owner-only permissions, and always atomically (write a
// temporary file, then rename), so a crash leaves either the old or the new state.

#include <parley/types.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace parley::detail {

// How the current session was made; a refresh must send a token of the same kind.
enum class credential_kind { none, access_token, session_token, jwt };

// A push token this client registered for the current user (for deauthenticate's
// unregister_push_tokens).
struct registered_push_token {
  push_token_type type = push_token_type::fcm;
  std::string token;

  friend bool operator==(const registered_push_token&, const registered_push_token&) = default;
};

struct stored_state {
  std::string app_id;
  std::string device_id;
  std::optional<user> current_user;
  std::optional<std::string> session_key;
  std::optional<std::int64_t> session_expires_at;
  credential_kind credential = credential_kind::none;
  std::vector<ice_server> ice_servers;
  std::vector<call_info> calls;
  std::vector<registered_push_token> push_tokens;  // registered by this client in this session

  // Records a registration (once per type and token) or a removal (token std::nullopt: every
  // token of the type).
  void remember_push_token(push_token_type type, const std::string& token);
  void forget_push_tokens(push_token_type type, const std::optional<std::string>& token);

  // Forgets the user and everything of their session (not the app id nor the device id).
  void clear_session();
};

// Binds `state` to `app_id`: when it belongs to another app, every stored item is cleared first;
// a missing device id is made. Returns whether anything changed.
bool adopt_app(stored_state& state, const std::string& app_id);

class state_store {
 public:
  static constexpr const char* file_name = "parley-state.json";

  explicit state_store(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // Creates the directory when missing. Returns an error message, or std::nullopt.
  std::optional<std::string> prepare() const;

  // The stored state; an empty one when there is no file. A file that cannot be read or parsed
  // also gives an empty state, and `warning` says why.
  stored_state load(std::string& warning) const;

  // Writes the state. Returns an error message, or std::nullopt.
  std::optional<std::string> save(const stored_state& state) const;

  std::filesystem::path path() const { return dir_ / file_name; }

 private:
  std::filesystem::path dir_;
};

}  // namespace parley::detail
