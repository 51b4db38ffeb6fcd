#pragma once
// What the SQLite store keeps in memory beside the database, so that the hot paths read less:
// app records by version and each user's live sessions.

#include "store/call_record.hpp"
#include "store/records.hpp"

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::store::sqlite {

// App records as read with the apps version of the same statement; an entry is used only while
// the version read beside the user is still that one (find_app_and_user). Thread-safe.
class app_cache {
 public:
  std::optional<app_record> find(const std::string& app_id, std::int64_t version) {
    std::lock_guard lock(mutex_);
    if (auto it = apps_.find(app_id); it != apps_.end() && it->second.version == version)
      return it->second.app;
    return std::nullopt;
  }
  void put(const app_record& app, std::int64_t version) {
    std::lock_guard lock(mutex_);
    apps_[app.app_id] = entry{app, version};
  }

 private:
  struct entry {
    app_record app;
    std::int64_t version = 0;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, entry> apps_;
};

// The live sessions of each user, oldest first, for max_sessions_per_user: loaded at open, kept
// with every write of this process. A session ended elsewhere (by another process) may linger
// here until it is the oldest and goes first: the user may then hold fewer than the limit for a
// while, never more. Not thread-safe: used under the writer's mutex.
class live_session_counts {
 public:
  struct session {
    std::int64_t id = 0;
    std::string key_hash;
    session_source source = session_source::access_token;
    std::optional<millis> expires_at;
  };

  // The user's sessions (created empty).
  std::vector<session>& of(const std::string& app_id, const std::string& user_id) {
    return users_[key(app_id, user_id)];
  }
  // Drops the user's entry once it holds nothing.
  void drop_if_empty(const std::string& app_id, const std::string& user_id) {
    if (auto it = users_.find(key(app_id, user_id)); it != users_.end() && it->second.empty())
      users_.erase(it);
  }
  template <class Pred>
  void forget(const std::string& app_id, const std::string& user_id, Pred&& pred) {
    auto it = users_.find(key(app_id, user_id));
    if (it == users_.end()) return;
    std::erase_if(it->second, pred);
    if (it->second.empty()) users_.erase(it);
  }
  template <class Fn>
  void for_each_of(const std::string& app_id, const std::string& user_id, Fn&& fn) {
    if (auto it = users_.find(key(app_id, user_id)); it != users_.end())
      for (auto& s : it->second) fn(s);
  }
  void erase_user(const std::string& app_id, const std::string& user_id) {
    users_.erase(key(app_id, user_id));
  }
  void erase_app(const std::string& app_id) {
    std::erase_if(users_, [&](const auto& kv) { return kv.first.starts_with(app_id + '\n'); });
  }
  void clear() { users_.clear(); }

  // What was counted may not be what is stored (a batch failed): count again before the next use.
  bool stale = false;

 private:
  static std::string key(const std::string& app_id, const std::string& user_id) {
    return app_id + '\n' + user_id;
  }
  std::unordered_map<std::string, std::vector<session>> users_;
};

}  // namespace parley::store::sqlite
