#include "impl/storage.hpp"

#include "impl/codec.hpp"
#include "impl/random.hpp"

#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace parley::detail {

namespace {

constexpr std::int64_t format_version = 1;

std::string_view to_string(credential_kind kind) {
  switch (kind) {
    case credential_kind::access_token:
      return "access_token";
    case credential_kind::session_token:
      return "session_token";
    case credential_kind::jwt:
      return "jwt";
    case credential_kind::none:
      break;
  }
  return "";
}

credential_kind credential_from_string(std::string_view s) {
  if (s == "access_token") return credential_kind::access_token;
  if (s == "session_token") return credential_kind::session_token;
  if (s == "jwt") return credential_kind::jwt;
  return credential_kind::none;
}

std::optional<push_token_type> push_token_type_from_string(std::string_view s) {
  for (auto t : {push_token_type::apns_voip, push_token_type::apns, push_token_type::fcm})
    if (parley::to_string(t) == s) return t;
  return std::nullopt;
}

json::object to_json(const stored_state& s) {
  json::array calls;
  for (const auto& c : s.calls) calls.emplace_back(detail::to_json(c));
  json::array tokens;
  for (const auto& t : s.push_tokens)
    tokens.emplace_back(json::object{{"type", parley::to_string(t.type)}, {"token", t.token}});
  json::object o{{"version", format_version},
                 {"app_id", s.app_id},
                 {"device_id", s.device_id},
                 {"user", nullptr},
                 {"session_key", nullptr},
                 {"session_expires_at", nullptr},
                 {"credential", to_string(s.credential)},
                 {"ice_servers", detail::to_json(s.ice_servers)},
                 {"calls", std::move(calls)},
                 {"push_tokens", std::move(tokens)}};
  if (s.current_user) o["user"] = detail::to_json(*s.current_user);
  if (s.session_key) o["session_key"] = *s.session_key;
  if (s.session_expires_at) o["session_expires_at"] = *s.session_expires_at;
  return o;
}

stored_state from_json(const json::object& o) {
  stored_state s;
  s.app_id = get_string(o, "app_id").value_or("");
  s.device_id = get_string(o, "device_id").value_or("");
  if (const auto* u = get_object(o, "user")) s.current_user = user_from_json(*u);
  s.session_key = get_string(o, "session_key");
  s.session_expires_at = get_int(o, "session_expires_at");
  s.credential = credential_from_string(get_string(o, "credential").value_or(""));
  if (auto it = o.find("ice_servers"); it != o.end())
    s.ice_servers = ice_servers_from_json(it->value()).value_or(std::vector<ice_server>{});
  if (const auto* calls = get_array(o, "calls"))
    for (const auto& c : *calls)
      if (auto call = call_from_json(c)) s.calls.push_back(std::move(*call));
  if (const auto* tokens = get_array(o, "push_tokens")) {
    for (const auto& t : *tokens) {
      if (!t.is_object()) continue;
      auto type = push_token_type_from_string(get_string(t.get_object(), "type").value_or(""));
      auto token = get_string(t.get_object(), "token");
      if (type && token && !token->empty()) s.remember_push_token(*type, *token);
    }
  }
  // A session needs both its key and its user; half of one is none.
  if (!s.current_user || !s.session_key) s.clear_session();
  return s;
}

}  // namespace

void stored_state::clear_session() {
  current_user.reset();
  session_key.reset();
  session_expires_at.reset();
  credential = credential_kind::none;
  ice_servers.clear();
  calls.clear();
  push_tokens.clear();
}

void stored_state::remember_push_token(push_token_type type, const std::string& token) {
  registered_push_token entry{type, token};
  if (std::find(push_tokens.begin(), push_tokens.end(), entry) == push_tokens.end())
    push_tokens.push_back(std::move(entry));
}

void stored_state::forget_push_tokens(push_token_type type,
                                      const std::optional<std::string>& token) {
  std::erase_if(push_tokens, [&](const registered_push_token& t) {
    return t.type == type && (!token || t.token == *token);
  });
}

bool adopt_app(stored_state& state, const std::string& app_id) {
  bool changed = false;
  if (state.app_id != app_id) {
    // Another app's user, session, device id and calls must not leak into this one.
    state = stored_state{};
    state.app_id = app_id;
    changed = true;
  }
  if (state.device_id.empty()) {
    state.device_id = make_device_id();
    changed = true;
  }
  return changed;
}

std::optional<std::string> state_store::prepare() const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return "cannot create data directory " + dir_.string() + ": " + ec.message();
  if (!std::filesystem::is_directory(dir_, ec))
    return "data directory " + dir_.string() + " is not a directory";
  return std::nullopt;
}

stored_state state_store::load(std::string& warning) const {
  std::ifstream in(path(), std::ios::binary);
  if (!in) return {};
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto v = parse_json(buffer.str());
  if (!v || !v->is_object()) {
    warning = "state file " + path().string() + " is not valid JSON; starting afresh";
    return {};
  }
  return from_json(v->get_object());
}

std::optional<std::string> state_store::save(const stored_state& state) const {
  auto text = json::serialize(to_json(state));
  text.push_back('\n');
  auto final_path = path();
  // A name of its own per writer: two clients on one directory must not write into one file.
  static std::atomic<std::uint64_t> counter{0};
  auto temp_path = final_path;
  temp_path += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(++counter);

  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write " + temp_path.string() + ": " + std::strerror(errno);
  std::size_t off = 0;
  while (off < text.size()) {
    auto n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string message = "cannot write " + temp_path.string() + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(temp_path.c_str());
      return message;
    }
    off += static_cast<std::size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    std::string message = "cannot write " + temp_path.string() + ": " + std::strerror(errno);
    ::unlink(temp_path.c_str());
    return message;
  }
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    std::string message = "cannot replace " + final_path.string() + ": " + std::strerror(errno);
    ::unlink(temp_path.c_str());
    return message;
  }
  return std::nullopt;
}

}  // namespace parley::detail
