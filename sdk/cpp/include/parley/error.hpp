#pragma once

// Errors reported by libparley. Futures returned by the SDK throw `parley::error`; callbacks
// receive it inside a `parley::result<T>`.

#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

// The protocol's error codes (docs/protocol.md, "Errors") followed by the codes the SDK reports
// without the server having said anything.
enum class error_code {
  // Sent by the server.
  invalid_request,
  unauthorized,
  invalid_credentials,
  token_expired,
  session_expired,
  forbidden,
  not_found,
  user_exists,
  invalid_call_state,
  room_full,
  dial_myself,
  callee_not_found,
  payload_too_large,
  rate_limited,
  internal,
  unavailable,
  // Reported by the SDK itself.
  not_initialized,    // a call before client::init
  not_authenticated,  // a call that needs a session before one exists
  network_error,      // could not reach the server, connection lost, timeout, client shut down
  invalid_response,   // the server answered something that does not follow the protocol
  unknown,            // the server sent a code this SDK version does not know (see server_code())
};

// The wire spelling of a code ("invalid_credentials", ...). SDK-side codes have one too.
std::string_view to_string(error_code code) noexcept;

// The code for a wire spelling; `error_code::unknown` for anything else.
error_code error_code_from_string(std::string_view text) noexcept;

class error : public std::exception {
 public:
  error(error_code code, std::string message, int http_status = 0);

  error_code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // The HTTP status of the answer that carried the error; 0 when it did not come over HTTP.
  int http_status() const noexcept { return http_status_; }
  // The code as the server spelled it (useful when code() is `unknown`); empty for SDK-side errors.
  const std::string& server_code() const noexcept { return server_code_; }
  // For invalid_request: the request field at fault, when the server named one.
  const std::optional<std::string>& field() const noexcept { return field_; }
  // For rate_limited: how long to wait before trying again, when the server said.
  std::optional<int> retry_after_s() const noexcept { return retry_after_s_; }

  error& with_server_code(std::string code);
  error& with_field(std::string field);
  error& with_retry_after_s(int seconds);

  // "<code>: <message>" (with " (HTTP <status>)" when there was one).
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  void update_what();

  error_code code_;
  std::string message_;
  int http_status_;
  std::string server_code_;
  std::optional<std::string> field_;
  std::optional<int> retry_after_s_;
  std::string what_;
};

}  // namespace parley
