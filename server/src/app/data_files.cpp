#include "app/data_files.hpp"

#include "app/config.hpp"
#include "common/log.hpp"
#include "store/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace parley::app {

namespace fs = std::filesystem;

namespace {

std::string octal(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0%03o", static_cast<unsigned>(m & 07777));
  return buf;
}

// Group or other may read, write or enter it.
bool loose(mode_t m) {
  return (m & 077) != 0;
}

void warn_if_loose(std::string_view event, const fs::path& p, mode_t mode) {
  if (!loose(mode)) return;
  log::warn(event, {{"path", p.string()},
                    {"mode", octal(mode)},
                    {"advice", "it holds secrets: chmod go-rwx it (0700 directory, 0600 files)"}});
}

}  // namespace

void prepare_private_dir(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw std::runtime_error(dir.string() + " is not a directory");
    warn_if_loose("data_dir_permissions", dir, st.st_mode);
    return;
  }
  auto parent = dir.parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create " + dir.string() + ": " + std::strerror(errno));
  // mkdir's mode passed through the umask: set it exactly (a umask can only take bits away, but
  // an odd one such as 0277 would leave the directory unusable).
  if (::chmod(dir.c_str(), 0700) != 0)
    throw std::runtime_error("cannot chmod " + dir.string() + ": " + std::strerror(errno));
}

void prepare_private_db_file(const fs::path& db) {
  struct stat st {};
  if (::stat(db.c_str(), &st) == 0) {
    warn_if_loose("data_file_permissions", db, st.st_mode);
    return;
  }
  // An empty file is a valid new SQLite database. O_EXCL: if another process made it meanwhile,
  // it is theirs to have made; check it like an existing one.
  int fd = ::open(db.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return prepare_private_db_file(db);
    throw std::runtime_error("cannot create " + db.string() + ": " + std::strerror(errno));
  }
  int rc = ::fchmod(fd, 0600);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("cannot chmod " + db.string() + ": " + std::strerror(err));
}

void check_db_files(const fs::path& db, bool new_db) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::path p = db.string() + suffix;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !loose(st.st_mode)) continue;
    if (new_db && ::chmod(p.c_str(), 0600) == 0) continue;
    warn_if_loose("data_file_permissions", p, st.st_mode);
  }
}

std::unique_ptr<store::store> open_private_store(const std::string& data_dir,
                                                 const std::string& store_url,
                                                 const store::sqlite_options& options) {
  fs::path db = sqlite_path_for(data_dir, store_url);
  std::error_code ec;
  bool new_db = !fs::exists(db, ec);
  prepare_private_db_file(db);
  auto st = store::open_sqlite_store(db.string(), options);
  check_db_files(db, new_db);
  return st;
}

}  // namespace parley::app
