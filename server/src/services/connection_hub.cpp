#include "services/connection_hub.hpp"

namespace parley::services {

namespace {
template <class Map>
void erase_pair(Map& m, const std::string& key, std::uint64_t h) {
  auto [b, e] = m.equal_range(key);
  for (auto it = b; it != e; ++it) {
    if (it->second == h) {
      m.erase(it);
      return;
    }
  }
}
}  // namespace

connection_hub::handle connection_hub::add(std::shared_ptr<client_connection> conn,
                                           connection_info info) {
  std::shared_ptr<client_connection> replaced;
  handle h;
  {
    std::lock_guard lock(mutex_);
    if (!info.device_id.empty()) {
      auto [b, e] = by_session_.equal_range(info.session_hash);
      for (auto it = b; it != e; ++it) {
        auto& old = entries_.at(it->second);
        if (old.info.device_id == info.device_id) {
          replaced = old.conn;
          erase_locked(it->second);
          break;
        }
      }
    }
    h = next_++;
    by_session_.emplace(info.session_hash, h);
    by_user_.emplace(user_key(info.app_id, info.user_id), h);
    by_connection_[info.connection_id] = h;
    if (info.expires_at) expiring_.insert(h);
    entries_.emplace(h, entry{std::move(conn), std::move(info), false});
  }
  if (replaced) replaced->close(close_code::replaced, "replaced by a newer connection");
  return h;
}

void connection_hub::remove(handle h) {
  std::lock_guard lock(mutex_);
  erase_locked(h);
}

void connection_hub::erase_locked(handle h) {
  auto it = entries_.find(h);
  if (it == entries_.end()) return;
  erase_pair(by_session_, it->second.info.session_hash, h);
  erase_pair(by_user_, user_key(it->second.info.app_id, it->second.info.user_id), h);
  if (auto c = by_connection_.find(it->second.info.connection_id);
      c != by_connection_.end() && c->second == h)
    by_connection_.erase(c);
  expiring_.erase(h);
  entries_.erase(it);
}

void connection_hub::set_session(handle h, store::session_source source,
                                 std::optional<millis> expires_at) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(h);
  if (it == entries_.end()) return;
  it->second.info.source = source;
  it->second.info.expires_at = expires_at;
  it->second.warned = false;
  if (expires_at)
    expiring_.insert(h);
  else
    expiring_.erase(h);
}

std::vector<std::shared_ptr<client_connection>> connection_hub::take_matching(
    const std::function<bool(const entry&)>& pred) {
  std::vector<std::shared_ptr<client_connection>> out;
  std::lock_guard lock(mutex_);
  std::vector<handle> hs;
  for (const auto& [h, e] : entries_)
    if (pred(e)) hs.push_back(h);
  for (auto h : hs) {
    out.push_back(entries_.at(h).conn);
    erase_locked(h);
  }
  return out;
}

void connection_hub::close_sessions(const std::vector<std::string>& session_hashes, int code,
                                    const std::string& reason) {
  std::vector<std::shared_ptr<client_connection>> doomed;
  {
    std::lock_guard lock(mutex_);
    for (const auto& s : session_hashes) {
      std::vector<handle> hs;
      auto [b, e] = by_session_.equal_range(s);
      for (auto it = b; it != e; ++it) hs.push_back(it->second);
      for (auto h : hs) {
        doomed.push_back(entries_.at(h).conn);
        erase_locked(h);
      }
    }
  }
  for (auto& c : doomed) c->close(code, reason);
}

void connection_hub::close_user(const std::string& app_id, const std::string& user_id, int code,
                                const std::string& reason) {
  close_user_if(
      app_id, user_id, [](const entry&) { return true; }, code, reason);
}

void connection_hub::close_user_sessions(const std::string& app_id, const std::string& user_id,
                                         store::session_source source, int code,
                                         const std::string& reason) {
  close_user_if(
      app_id, user_id, [source](const entry& e) { return e.info.source == source; }, code, reason);
}

void connection_hub::close_user_if(const std::string& app_id, const std::string& user_id,
                                   const std::function<bool(const entry&)>& pred, int code,
                                   const std::string& reason) {
  std::vector<std::shared_ptr<client_connection>> doomed;
  {
    std::lock_guard lock(mutex_);
    std::vector<handle> hs;
    auto [b, e] = by_user_.equal_range(user_key(app_id, user_id));
    for (auto it = b; it != e; ++it)
      if (pred(entries_.at(it->second))) hs.push_back(it->second);
    for (auto h : hs) {
      doomed.push_back(entries_.at(h).conn);
      erase_locked(h);
    }
  }
  for (auto& c : doomed) c->close(code, reason);
}

void connection_hub::close_app(const std::string& app_id, int code, const std::string& reason) {
  auto doomed = take_matching([&](const entry& e) { return e.info.app_id == app_id; });
  for (auto& c : doomed) c->close(code, reason);
}

void connection_hub::sweep(millis now, millis lead_ms, const warn_fn& warn,
                           const expire_fn& expire) {
  std::vector<std::pair<std::shared_ptr<client_connection>, millis>> to_warn;
  std::vector<std::shared_ptr<client_connection>> to_expire;
  {
    std::lock_guard lock(mutex_);
    std::vector<handle> expired;
    for (auto h : expiring_) {
      auto& e = entries_.at(h);
      auto at = *e.info.expires_at;
      if (now >= at) {
        expired.push_back(h);
      } else if (!e.warned && now >= at - lead_ms) {
        e.warned = true;
        to_warn.emplace_back(e.conn, at);
      }
    }
    for (auto h : expired) {
      to_expire.push_back(entries_.at(h).conn);
      erase_locked(h);
    }
  }
  for (auto& [c, at] : to_warn) warn(*c, at);
  for (auto& c : to_expire) expire(*c);
}

std::size_t connection_hub::send_to_user(const std::string& app_id, const std::string& user_id,
                                         const std::string& text,
                                         const std::string& except_connection) {
  std::vector<std::shared_ptr<client_connection>> targets;
  {
    std::lock_guard lock(mutex_);
    auto [b, e] = by_user_.equal_range(user_key(app_id, user_id));
    for (auto it = b; it != e; ++it) {
      const auto& en = entries_.at(it->second);
      if (except_connection.empty() || en.info.connection_id != except_connection)
        targets.push_back(en.conn);
    }
  }
  std::size_t delivered = 0;
  for (auto& c : targets)
    if (c->send(text)) ++delivered;
  return delivered;
}

bool connection_hub::send_to_connection(const std::string& connection_id, const std::string& text) {
  std::shared_ptr<client_connection> target;
  {
    std::lock_guard lock(mutex_);
    auto it = by_connection_.find(connection_id);
    if (it == by_connection_.end()) return false;
    target = entries_.at(it->second).conn;
  }
  return target->send(text);
}

std::size_t connection_hub::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace parley::services
