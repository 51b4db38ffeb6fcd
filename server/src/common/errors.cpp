#include "common/errors.hpp"

#include <stdexcept>

namespace parley {

std::string_view code_name(errc e) noexcept {
  switch (e) {
    case errc::invalid_request:
      return "invalid_request";
    case errc::unauthorized:
      return "unauthorized";
    case errc::invalid_credentials:
      return "invalid_credentials";
    case errc::token_expired:
      return "token_expired";
    case errc::session_expired:
      return "session_expired";
    case errc::forbidden:
      return "forbidden";
    case errc::not_found:
      return "not_found";
    case errc::user_exists:
      return "user_exists";
    case errc::invalid_call_state:
      return "invalid_call_state";
    case errc::room_full:
      return "room_full";
    case errc::dial_myself:
      return "dial_myself";
    case errc::callee_not_found:
      return "callee_not_found";
    case errc::payload_too_large:
      return "payload_too_large";
    case errc::rate_limited:
      return "rate_limited";
    case errc::internal:
      return "internal";
    case errc::unavailable:
      return "unavailable";
  }
  return "internal";
}

int http_status(errc e) noexcept {
  switch (e) {
    case errc::invalid_request:
      return 400;
    case errc::unauthorized:
      return 401;
    case errc::invalid_credentials:
      return 401;
    case errc::token_expired:
      return 401;
    case errc::session_expired:
      return 401;
    case errc::forbidden:
      return 403;
    case errc::not_found:
      return 404;
    case errc::user_exists:
      return 409;
    case errc::invalid_call_state:
      return 409;
    case errc::room_full:
      return 409;
    case errc::dial_myself:
      return 400;
    case errc::callee_not_found:
      return 404;
    case errc::payload_too_large:
      return 413;
    case errc::rate_limited:
      return 429;
    case errc::internal:
      return 500;
    case errc::unavailable:
      return 503;
  }
  return 500;
}

void throw_exception_from_error(const failure& f, const boost::source_location&) {
  throw std::logic_error("result accessed without a value: " + std::string(code_name(f.code)) +
                         ": " + f.message);
}

}  // namespace parley
