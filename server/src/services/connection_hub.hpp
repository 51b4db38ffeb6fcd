#pragma once
// Every authenticated WebSocket of this node, indexed by session and by user. Revocation,
// deletion and replacement find their connections here; the expiry sweep runs over the
// connections whose session expires. Thread-safe: one mutex guards the indexes, and messages
// and closes are issued after it is released.

#include "common/clock.hpp"
#include "services/client_connection.hpp"
#include "store/records.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace parley::services {

struct connection_info {
  std::string connection_id;
  std::string app_id;
  std::string user_id;
  std::string session_hash;
  std::string device_id;  // empty: replaces nothing and is never replaced
  std::optional<millis> expires_at;
  store::session_source source = store::session_source::access_token;
};

class connection_hub {
 public:
  using handle = std::uint64_t;

  // Registers a connection. A live connection with the same session and device id is closed
  // with 4004 (replaced).
  handle add(std::shared_ptr<client_connection> conn, connection_info info);
  void remove(handle h);

  // After a refresh: the session's new source and expiry.
  void set_session(handle h, store::session_source source, std::optional<millis> expires_at);

  // Closes every connection of these sessions / this user / this app with `code`.
  void close_sessions(const std::vector<std::string>& session_hashes, int code,
                      const std::string& reason);
  void close_user(const std::string& app_id, const std::string& user_id, int code,
                  const std::string& reason);
  // Closes the user's connections whose session comes from `source` (its revocation).
  void close_user_sessions(const std::string& app_id, const std::string& user_id,
                           store::session_source source, int code, const std::string& reason);
  void close_app(const std::string& app_id, int code, const std::string& reason);

  // Session expiry: `warn` for connections within `lead_ms` of expiry (once per expiry value),
  // `expire` for those past it (they are removed from the sweep).
  using warn_fn = std::function<void(client_connection&, millis expires_at)>;
  using expire_fn = std::function<void(client_connection&)>;
  void sweep(millis now, millis lead_ms, const warn_fn& warn, const expire_fn& expire);

  std::size_t size() const;

  // Delivery to live connections (single node). Returns how many connections queued the message
  // (a connection closing, or whose queue is full, drops it: not counted, and false).
  std::size_t send_to_user(const std::string& app_id, const std::string& user_id,
                           const std::string& text, const std::string& except_connection = {});
  bool send_to_connection(const std::string& connection_id, const std::string& text);

 private:
  struct entry {
    std::shared_ptr<client_connection> conn;
    connection_info info;
    bool warned = false;
  };
  static std::string user_key(const std::string& app_id, const std::string& user_id) {
    return app_id + '\n' + user_id;
  }
  void erase_locked(handle h);
  void close_user_if(const std::string& app_id, const std::string& user_id,
                     const std::function<bool(const entry&)>& pred, int code,
                     const std::string& reason);
  std::vector<std::shared_ptr<client_connection>> take_matching(
      const std::function<bool(const entry&)>& pred);

  mutable std::mutex mutex_;
  handle next_ = 1;
  std::unordered_map<handle, entry> entries_;
  std::unordered_multimap<std::string, handle> by_session_;
  std::unordered_multimap<std::string, handle> by_user_;
  std::unordered_map<std::string, handle> by_connection_;
  std::unordered_set<handle> expiring_;
};

}  // namespace parley::services
