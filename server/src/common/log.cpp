#include "common/log.hpp"

#include "common/clock.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace parley::log {

namespace {
std::atomic<level> min_level{level::info};
std::mutex out_mutex;

const char* name(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}
}  // namespace

void set_min_level(level l) {
  min_level = l;
}

void write(level l, std::string_view event, boost::json::object fields) {
  if (l < min_level.load(std::memory_order_relaxed)) return;
  boost::json::object line;
  line["ts"] = now_ms();
  line["level"] = name(l);
  line["event"] = event;
  for (auto& kv : fields) line[kv.key()] = std::move(kv.value());
  auto text = boost::json::serialize(line);
  text.push_back('\n');
  std::lock_guard lock(out_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace parley::log
