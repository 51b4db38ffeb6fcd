#include "services/push/push_types.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>

namespace parley::services::push {

namespace {

constexpr std::int64_t max_retry_after_s = std::numeric_limits<int>::max();

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Digits to a number, saturating at max_retry_after_s (a huge delay is still a delay).
std::int64_t to_number(std::string_view digits) {
  std::int64_t n = 0;
  for (char c : digits) {
    n = n * 10 + (c - '0');
    if (n > max_retry_after_s) return max_retry_after_s;
  }
  return n;
}

// IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". Unix seconds, or nullopt.
std::optional<std::int64_t> parse_imf_fixdate(std::string_view s) {
  static constexpr std::array<std::string_view, 7> days = {"Mon", "Tue", "Wed", "Thu",
                                                           "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 12> months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // Fixed layout: 29 characters, "ddd, DD Mon YYYY HH:MM:SS GMT".
  if (s.size() != 29) return std::nullopt;
  if (std::find(days.begin(), days.end(), s.substr(0, 3)) == days.end()) return std::nullopt;
  if (s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
      s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  auto day_s = s.substr(5, 2), year_s = s.substr(12, 4), hour_s = s.substr(17, 2),
       min_s = s.substr(20, 2), sec_s = s.substr(23, 2);
  for (auto part : {day_s, year_s, hour_s, min_s, sec_s})
    if (!all_digits(part)) return std::nullopt;
  auto month_it = std::find(months.begin(), months.end(), s.substr(8, 3));
  if (month_it == months.end()) return std::nullopt;

  auto hour = to_number(hour_s), minute = to_number(min_s), second = to_number(sec_s);
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;  // 60: a leap second
  std::chrono::year_month_day date{
      std::chrono::year{static_cast<int>(to_number(year_s))},
      std::chrono::month{static_cast<unsigned>(month_it - months.begin() + 1)},
      std::chrono::day{static_cast<unsigned>(to_number(day_s))}};
  if (!date.ok()) return std::nullopt;  // 31 Feb and the like
  std::int64_t days_since_epoch = std::chrono::sys_days{date}.time_since_epoch().count();
  return days_since_epoch * 86400 + hour * 3600 + minute * 60 + second;
}

}  // namespace

std::optional<int> parse_retry_after(std::string_view value, std::int64_t now_s) {
  value = trim(value);
  if (all_digits(value)) return static_cast<int>(to_number(value));
  auto at = parse_imf_fixdate(value);
  if (!at) return std::nullopt;
  // A date in the past means "now".
  return static_cast<int>(std::clamp<std::int64_t>(*at - now_s, 0, max_retry_after_s));
}

std::string percent_encode(std::string_view s) {
  // Upper-case hex digits (Boost.URL's default, RFC 3986 section 2.1's preference).
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace parley::services::push
