#include "store/ringing_registry.hpp"

#include <algorithm>

namespace parley::store {

int ringing_registry::count_of(const std::unordered_map<std::string, int>& m,
                               const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

std::optional<failure> ringing_registry::refuse(const call_record& c,
                                                const ringing_limits& lim) const {
  if (c.state != call_state::ringing || calls_.contains(c.call_id)) return std::nullopt;
  if (lim.per_caller > 0 && count_of(as_caller_, key(c.app_id, c.caller_id)) >= lim.per_caller) {
    // One of the caller's calls stops ringing within its ringing timeout at the latest.
    auto f = fail(errc::rate_limited, "you have too many calls ringing; end one or wait");
    f.retry_after_s =
        static_cast<int>(std::clamp<millis>((c.ringing_timeout_ms + 999) / 1000, 1, 60));
    return f;
  }
  if (lim.per_callee > 0 && count_of(as_callee_, key(c.app_id, c.callee_id)) >= lim.per_callee)
    return fail(errc::invalid_call_state, "the callee has too many calls ringing");
  return std::nullopt;
}

void ringing_registry::note(const call_record& c) {
  if (c.state != call_state::ringing) return forget(c.call_id);
  auto [it, added] =
      calls_.try_emplace(c.call_id, entry{key(c.app_id, c.caller_id), key(c.app_id, c.callee_id)});
  if (!added) return;
  ++as_caller_[it->second.caller_key];
  ++as_callee_[it->second.callee_key];
}

void ringing_registry::forget(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) return;
  auto drop = [](std::unordered_map<std::string, int>& m, const std::string& k) {
    if (auto c = m.find(k); c != m.end() && --c->second <= 0) m.erase(c);
  };
  drop(as_caller_, it->second.caller_key);
  drop(as_callee_, it->second.callee_key);
  calls_.erase(it);
}

int ringing_registry::ringing_as_caller(const std::string& app_id,
                                        const std::string& user_id) const {
  return count_of(as_caller_, key(app_id, user_id));
}

int ringing_registry::ringing_as_callee(const std::string& app_id,
                                        const std::string& user_id) const {
  return count_of(as_callee_, key(app_id, user_id));
}

}  // namespace parley::store
