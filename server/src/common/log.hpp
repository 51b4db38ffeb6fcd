#pragma once
// Structured logs: one JSON object per line on stderr. Callers pass fields, never secrets
// (tokens and keys are logged, when at all, as the first 8 hex digits of their SHA-256).

#include <boost/json/object.hpp>

#include <string_view>

namespace parley::log {

enum class level { debug, info, warn, error };

void set_min_level(level l);
void write(level l, std::string_view event, boost::json::object fields = {});

inline void info(std::string_view event, boost::json::object fields = {}) {
  write(level::info, event, std::move(fields));
}
inline void warn(std::string_view event, boost::json::object fields = {}) {
  write(level::warn, event, std::move(fields));
}
inline void error(std::string_view event, boost::json::object fields = {}) {
  write(level::error, event, std::move(fields));
}

}  // namespace parley::log
