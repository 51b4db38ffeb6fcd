#include "services/open_calls.hpp"

#include <functional>

namespace parley::services {

open_calls::shard& open_calls::shard_of(const std::string& call_id) const {
  return shards_[std::hash<std::string>{}(call_id) % shard_count];
}

std::optional<store::call_record> open_calls::find(const std::string& app_id,
                                                   const std::string& call_id) const {
  auto& s = shard_of(call_id);
  std::lock_guard lock(s.mutex);
  auto it = s.calls.find(call_id);
  if (it == s.calls.end() || it->second.app_id != app_id) return std::nullopt;
  return it->second;
}

void open_calls::put(const store::call_record& c) {
  auto& s = shard_of(c.call_id);
  std::lock_guard lock(s.mutex);
  auto it = s.calls.find(c.call_id);
  if (it != s.calls.end() && it->second.version >= c.version) return;
  if (c.state == store::call_state::ended) {
    if (it != s.calls.end()) s.calls.erase(it);
    return;
  }
  if (it != s.calls.end()) {
    it->second = c;
    return;
  }
  // Past the cap a call is simply not kept: its reads go to the store.
  if (s.calls.size() >= max_calls / shard_count) return;
  s.calls.emplace(c.call_id, c);
}

void open_calls::refresh(const store::call_record& c) {
  auto& s = shard_of(c.call_id);
  std::lock_guard lock(s.mutex);
  auto it = s.calls.find(c.call_id);
  if (it == s.calls.end() || it->second.version >= c.version) return;
  if (c.state == store::call_state::ended)
    s.calls.erase(it);
  else
    it->second = c;
}

void open_calls::erase(const std::string& call_id) {
  auto& s = shard_of(call_id);
  std::lock_guard lock(s.mutex);
  s.calls.erase(call_id);
}

void open_calls::erase_app(const std::string& app_id) {
  for (auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    std::erase_if(s.calls, [&](const auto& kv) { return kv.second.app_id == app_id; });
  }
}

std::size_t open_calls::size() const {
  std::size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.calls.size();
  }
  return n;
}

}  // namespace parley::services
