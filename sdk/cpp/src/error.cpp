#include <parley/error.hpp>

#include <array>
#include <utility>

namespace parley {

namespace {

struct code_name {
  error_code code;
  std::string_view name;
};

constexpr std::array<code_name, 21> code_names{{
    {error_code::invalid_request, "invalid_request"},
    {error_code::unauthorized, "unauthorized"},
    {error_code::invalid_credentials, "invalid_credentials"},
    {error_code::token_expired, "token_expired"},
    {error_code::session_expired, "session_expired"},
    {error_code::forbidden, "forbidden"},
    {error_code::not_found, "not_found"},
    {error_code::user_exists, "user_exists"},
    {error_code::invalid_call_state, "invalid_call_state"},
    {error_code::room_full, "room_full"},
    {error_code::dial_myself, "dial_myself"},
    {error_code::callee_not_found, "callee_not_found"},
    {error_code::payload_too_large, "payload_too_large"},
    {error_code::rate_limited, "rate_limited"},
    {error_code::internal, "internal"},
    {error_code::unavailable, "unavailable"},
    {error_code::not_initialized, "not_initialized"},
    {error_code::not_authenticated, "not_authenticated"},
    {error_code::network_error, "network_error"},
    {error_code::invalid_response, "invalid_response"},
    {error_code::unknown, "unknown"},
}};

}  // namespace

std::string_view to_string(error_code code) noexcept {
  for (const auto& entry : code_names)
    if (entry.code == code) return entry.name;
  return "unknown";
}

error_code error_code_from_string(std::string_view text) noexcept {
  for (const auto& entry : code_names)
    if (entry.name == text) return entry.code;
  return error_code::unknown;
}

error::error(error_code code, std::string message, int http_status)
    : code_(code), message_(std::move(message)), http_status_(http_status) {
  update_what();
}

error& error::with_server_code(std::string code) {
  server_code_ = std::move(code);
  update_what();
  return *this;
}

error& error::with_field(std::string field) {
  field_ = std::move(field);
  update_what();
  return *this;
}

error& error::with_retry_after_s(int seconds) {
  retry_after_s_ = seconds;
  return *this;
}

void error::update_what() {
  what_ = std::string(to_string(code_));
  if (code_ == error_code::unknown && !server_code_.empty()) what_ += " (" + server_code_ + ")";
  what_ += ": " + message_;
  if (field_) what_ += " [field " + *field_ + "]";
  if (http_status_ != 0) what_ += " (HTTP " + std::to_string(http_status_) + ")";
}

}  // namespace parley
