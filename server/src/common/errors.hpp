#pragma once
// The one error table of Parley (protocol.md, "Errors"): every expected failure is an `errc`,
// and this file says how each maps to an HTTP status and a wire code. Failures travel as values
// (`result<T>`); exceptions are for start-up and the one top-level catch per session.

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace parley {

enum class errc : std::uint8_t {
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
};

// The wire code, e.g. "invalid_request".
std::string_view code_name(errc e) noexcept;
// The HTTP status of the table.
int http_status(errc e) noexcept;

// An expected failure: the code, a sentence for a person, the field at fault (invalid_request)
// and, for rate_limited, when to come back.
struct failure {
  errc code = errc::internal;
  std::string message;
  std::string field;
  int retry_after_s = 0;
};

inline failure fail(errc code, std::string message, std::string field = {}) {
  return failure{code, std::move(message), std::move(field), 0};
}

// Lets boost::system::result<T, failure>::value() throw when misused (a bug, not a peer's fault).
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, failure>;

}  // namespace parley
