#pragma once
// The calls ringing now, counted per caller and per callee, so that a dial past the app's limits
// (app_settings::max_ringing_per_caller / _per_callee) is refused in the same critical section as
// the insert that would pass them: exact under concurrent dials, with no query per dial.
//
// Not thread-safe: the store guards it with the mutex its writes hold. A call enters when its
// insert is written and leaves when it is seen in any other state (a call never rings again).

#include "common/errors.hpp"
#include "store/call_record.hpp"

#include <optional>
#include <string>
#include <unordered_map>

namespace parley::store {

// Limits of one dial; 0 is no limit.
struct ringing_limits {
  int per_caller = 0;
  int per_callee = 0;
};

class ringing_registry {
 public:
  // Why `c` may not start ringing, or nullopt: rate_limited when its caller already has
  // `per_caller` calls ringing (retry_after_s: the longest a ringing call lasts, at most 60 s),
  // invalid_call_state when its callee already has `per_callee`.
  std::optional<failure> refuse(const call_record& c, const ringing_limits& lim) const;
  // Counts `c` if it is ringing and not counted yet; a call in any other state is forgotten.
  void note(const call_record& c);
  // Forgets the call (idempotent).
  void forget(const std::string& call_id);

  int ringing_as_caller(const std::string& app_id, const std::string& user_id) const;
  int ringing_as_callee(const std::string& app_id, const std::string& user_id) const;
  std::size_t size() const { return calls_.size(); }

 private:
  static std::string key(const std::string& app_id, const std::string& user_id) {
    return app_id + '\n' + user_id;
  }
  static int count_of(const std::unordered_map<std::string, int>& m, const std::string& k);

  struct entry {
    std::string caller_key;
    std::string callee_key;
  };
  std::unordered_map<std::string, entry> calls_;  // by call_id
  std::unordered_map<std::string, int> as_caller_;
  std::unordered_map<std::string, int> as_callee_;
};

}  // namespace parley::store
