#pragma once
// The data directory and the SQLite files hold every app's signing secret, webhook secret and
// push keys: only the server's user may read them.
//
// What parleyd creates is private whatever the umask: the data directory 0700, parley.db 0600
// (created empty before SQLite opens it; SQLite gives the -wal and -shm files it creates the
// database file's mode). What already exists is left as it is (the operator may have reasons)
// but each directory or file readable or writable by group or others is named in a warning log
// line at start (`data_dir_permissions` / `data_file_permissions`).

#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace parley::app {

// Creates `dir` 0700 when it does not exist (its missing parents with the usual umask-derived
// mode); warns when it exists with group or other bits. Throws std::runtime_error when it cannot
// be created.
void prepare_private_dir(const std::filesystem::path& dir);

// Creates the database file 0600 when it does not exist; warns when it exists with group or
// other bits. Throws std::runtime_error when it cannot be created.
void prepare_private_db_file(const std::filesystem::path& db);

// After the store is open: checks the database file and SQLite's -wal and -shm beside it; a file
// this process created (new_db) that is looser than 0600 is set to 0600; any other loose file
// is named in a warning.
void check_db_files(const std::filesystem::path& db, bool new_db);

// The store of `parleyd serve` and of the operator commands: sqlite_path_for (which prepares the
// data directory), then the three steps above around opening it with `options`.
std::unique_ptr<store::store> open_private_store(const std::string& data_dir,
                                                 const std::string& store_url,
                                                 const store::sqlite_options& options = {});

}  // namespace parley::app
