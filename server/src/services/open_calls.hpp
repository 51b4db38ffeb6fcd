#pragma once
// The calls not ended, as last committed by this process: what find and relay read before every
// transition and every signal, so that the call path reads no database and waits on no store
// lock. It holds its own locks (one per shard, held for a copy).
//
// Filled only by writes: call_service puts a call after its create or compare-and-set committed,
// in commit order, and an ended call leaves. It never takes a row read from the store, which may
// be older than a commit whose put is still to come (refresh only corrects a kept copy). A call
// missing here (created by another
// process, ended, or dropped at max_calls) is read from the store instead.

#include "store/call_record.hpp"

#include <array>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace parley::services {

class open_calls {
 public:
  static constexpr std::size_t max_calls = 100'000;

  // The call if it is open here and belongs to `app_id`.
  std::optional<store::call_record> find(const std::string& app_id,
                                         const std::string& call_id) const;
  // Keeps a committed `c` unless a later version is already kept; forgets it once ended.
  void put(const store::call_record& c);
  // A row read from the store after a lost compare-and-set: replaces a kept copy that is older
  // (the call was changed by another process) and never adds one, so a read that raced with a
  // commit cannot bring back a call that commit ended.
  void refresh(const store::call_record& c);
  void erase(const std::string& call_id);
  void erase_app(const std::string& app_id);
  std::size_t size() const;

 private:
  static constexpr std::size_t shard_count = 16;
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, store::call_record> calls;
  };
  shard& shard_of(const std::string& call_id) const;

  mutable std::array<shard, shard_count> shards_;
};

}  // namespace parley::services
