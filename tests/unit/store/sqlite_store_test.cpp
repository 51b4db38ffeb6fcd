// The SQLite store: the contract tests (store_contract_test.cpp) run on it, and what is its own
// (older schemas, the WAL's size).

#include "store/sqlite/sqlite_store.hpp"

#include "store/sqlite/migrations.hpp"
#include "store_contract.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>

namespace parley::store {
namespace {

store_factory sqlite_factory() {
  return {"sqlite", [](const std::filesystem::path& dir, const store_options& o) {
            sqlite_options options;
            options.prune_slice = o.prune_slice;
            options.max_sessions_per_user = o.max_sessions_per_user;
            return open_sqlite_store((dir / "p.db").string(), options);
          }};
}

INSTANTIATE_TEST_SUITE_P(sqlite, store_test, ::testing::Values(sqlite_factory()), factory_name);
INSTANTIATE_TEST_SUITE_P(sqlite, outbox_store_test, ::testing::Values(sqlite_factory()),
                         factory_name);

// The SQLite store's own tests, with the contract's fixture.
class sqlite_store_test : public store_test {};
INSTANTIATE_TEST_SUITE_P(sqlite, sqlite_store_test, ::testing::Values(sqlite_factory()),
                         factory_name);

// A database of schema 5, where sessions were keyed by the hash of a 43-character key.
TEST_P(sqlite_store_test, sessions_from_before_keys_carried_their_id_keep_working) {
  st_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  auto path = (dir_ / "p.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  auto exec = [&](const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
  };
  auto migrations = sqlite_migrations();
  ASSERT_GE(migrations.size(), 6u);
  for (std::size_t i = 0; i < 5; ++i) exec(std::string(migrations[i]));
  exec(
      "PRAGMA user_version=5;"
      "INSERT INTO apps VALUES('app1','one','h','s',1,'{}');"
      "INSERT INTO users(app_id,user_id,nickname,profile_url,metadata,created_at) "
      "VALUES('app1','alice','','','{}',1),('app1','bob','','','{}',1);"
      "INSERT INTO sessions VALUES('old-a','app1','alice',0,NULL,'d',1);"
      "INSERT INTO sessions VALUES('old-b','app1','bob',2,NULL,'d',1);");
  sqlite3_close(db);

  st_ = open_sqlite_store(path);
  auto a = st_->find_session(0, "old-a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->user_id, "alice");
  EXPECT_GT(a->id, 0);
  EXPECT_TRUE(st_->find_session(0, "old-b"));
  EXPECT_FALSE(st_->find_session(a->id, "old-b"));
  // New sessions get ids past the old rows, and revocation and deletion end the old ones.
  auto fresh = session("new", "app1", "alice", session_source::access_token);
  ASSERT_TRUE(st_->create_session(fresh));
  EXPECT_TRUE(found(fresh));
  ASSERT_TRUE(st_->set_access_token("app1", "alice", std::nullopt));
  EXPECT_FALSE(st_->find_session(0, "old-a"));
  EXPECT_FALSE(found(fresh));
  ASSERT_TRUE(st_->delete_user("app1", "bob", {}));
  ASSERT_TRUE(st_->create_user(user("app1", "bob")));
  EXPECT_FALSE(st_->find_session(0, "old-b"));
}

// Under a steady stream of commits the WAL must restart from its start now and then: a passive
// checkpoint from the background thread alone always trails the writer, and the file would grow
// without end. The writer checkpoints once the background pass left a short tail (or at twice
// the threshold), so the WAL never holds much more than 2 x checkpoint_pages.
TEST_P(sqlite_store_test, the_wal_restarts_under_a_steady_stream_of_commits) {
  st_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  st_ = open_sqlite_store((dir_ / "p.db").string(),
                          {.checkpoint_pages = 200, .backfill_pages = 50, .tail_pages = 32});
  add_apps();
  const auto wal = dir_ / "p.db-wal";
  constexpr std::uintmax_t frame = 4096 + 24;  // a page and its frame header
  std::uintmax_t largest = 0;
  constexpr int users = 4000;  // each its own transaction, ~10x the threshold in pages
  for (int i = 0; i < users; ++i) {
    auto u = user("app1", "u" + std::to_string(i));
    u.metadata = {{"padding", std::string(1000, static_cast<char>('a' + i % 26))}};
    ASSERT_TRUE(st_->create_user(u));
    if (i % 50 == 0) largest = std::max(largest, std::filesystem::file_size(wal));
  }
  largest = std::max(largest, std::filesystem::file_size(wal));
  EXPECT_GT(largest, 150 * frame);  // the stream did reach the threshold
  EXPECT_LE(largest, (2 * 200 + 20) * frame + 32);
  for (int i = 0; i < users; i += 397) {
    auto found = st_->find_user("app1", "u" + std::to_string(i));
    ASSERT_TRUE(found) << i;
    EXPECT_EQ(found->metadata.at("padding").size(), 1000u);
  }
  st_.reset();  // every committed user is still there after reopening
  st_ = open_sqlite_store((dir_ / "p.db").string());
  EXPECT_EQ(st_->list_users("app1", "", 10000)->size(), static_cast<std::size_t>(users));
}

// The WAL-index (the -shm file) as SQLite keeps it: the WAL's last frame (mxFrame, byte 16 of the
// header) and how many frames are copied into the database file (nBackfill, byte 96).
std::pair<std::uint32_t, std::uint32_t> wal_progress(const std::filesystem::path& shm) {
  char bytes[100] = {};
  std::ifstream in(shm, std::ios::binary);
  in.read(bytes, sizeof bytes);
  std::uint32_t frames = 0;
  std::uint32_t backfilled = 0;
  std::memcpy(&frames, bytes + 16, sizeof frames);
  std::memcpy(&backfilled, bytes + 96, sizeof backfilled);
  return {frames, backfilled};
}

// The background pass copies the WAL into the database file of a database this process created
// (its connection once took a new, empty file for a rollback-journal database and did nothing).
// The writer never checkpoints here (checkpoint_pages is out of reach), so only that pass can.
TEST_P(sqlite_store_test, the_background_pass_copies_the_wal_of_a_new_database) {
  st_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  st_ = open_sqlite_store((dir_ / "p.db").string(),
                          {.checkpoint_pages = 1'000'000, .backfill_pages = 20, .tail_pages = 32});
  add_apps();
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(st_->create_user(user("app1", "u" + std::to_string(i))));
  // A pass runs at least once a second: within a few, every frame is in the database file.
  std::uint32_t frames = 0;
  std::uint32_t backfilled = 0;
  for (int i = 0; i < 50; ++i) {
    std::tie(frames, backfilled) = wal_progress(dir_ / "p.db-shm");
    if (frames > 0 && backfilled == frames) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(frames, 100u);
  EXPECT_EQ(backfilled, frames);
}

}  // namespace
}  // namespace parley::store
