#include "store/sqlite/reader_pool.hpp"

#include <atomic>
#include <stdexcept>

namespace parley::store::sqlite {

std::uint64_t reader_pool::next_serial() {
  static std::atomic<std::uint64_t> n{0};
  return ++n;
}

reader_pool::reader* reader_pool::local() {
  thread_local std::uint64_t owner = 0;
  thread_local reader* mine = nullptr;
  if (owner == serial_) return mine;
  std::lock_guard lock(mutex_);
  auto& slot = readers_[std::this_thread::get_id()];
  if (!slot) {
    auto r = std::make_unique<reader>();
    if (sqlite3_open_v2(path_.c_str(), &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      sqlite3_close(r->db);
      return nullptr;  // not remembered: the next call tries again
    }
    sqlite3_busy_timeout(r->db, 5000);
    // No memory map here: a read transaction that finds the WAL changed since its last one
    // (every time, under a stream of commits) unmaps the whole file and maps it again, a munmap
    // of the whole database with its TLB shootdowns per lookup. pread of the few pages a lookup
    // needs is cheaper.
    for (const char* pragma : {"PRAGMA query_only=1", "PRAGMA mmap_size=0",
                               "PRAGMA cache_size=-8192", "PRAGMA temp_store=MEMORY"})
      sqlite3_exec(r->db, pragma, nullptr, nullptr, nullptr);
    try {
      r->statements.prepare(r->db, reader_statements());
    } catch (const std::logic_error&) {
      r->statements.finalize();
      sqlite3_close(r->db);
      return nullptr;
    }
    slot = std::move(r);
  }
  owner = serial_;
  mine = slot.get();
  return mine;
}

void reader_pool::close() {
  std::lock_guard lock(mutex_);
  for (auto& [thread, r] : readers_) {
    if (!r) continue;
    r->statements.finalize();
    sqlite3_close(r->db);
    r->db = nullptr;
  }
  readers_.clear();
}

}  // namespace parley::store::sqlite
