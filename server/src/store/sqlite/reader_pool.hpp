#pragma once
// Read-only connections, one per thread that looks something up (find_app, find_user,
// find_session): in WAL mode readers run beside the writer, so those lookups wait neither for the
// writer's mutex nor for a commit or checkpoint in progress, and several I/O threads look up at
// once. Each statement is its own read transaction, so it sees everything committed before it
// started.

#include "store/sqlite/statements.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace parley::store::sqlite {

class reader_pool {
 public:
  struct reader {
    sqlite3* db = nullptr;
    statement_set statements;  // reader_statements()
  };

  explicit reader_pool(std::string path) : path_(std::move(path)) {}
  ~reader_pool() { close(); }
  reader_pool(const reader_pool&) = delete;
  reader_pool& operator=(const reader_pool&) = delete;

  // This thread's reader, opened on first use; nullptr when it cannot be opened (the next call
  // tries again).
  reader* local();
  // Closes every reader (before the database's last connection closes).
  void close();

 private:
  std::string path_;
  // Tells this pool's readers from those of an earlier pool at the same address in the
  // thread-local cache of local().
  std::uint64_t serial_ = next_serial();
  std::mutex mutex_;
  std::unordered_map<std::thread::id, std::unique_ptr<reader>> readers_;  // guarded by mutex_

  static std::uint64_t next_serial();
};

}  // namespace parley::store::sqlite
