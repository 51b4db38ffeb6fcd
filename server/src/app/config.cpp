#include "app/config.hpp"

#include "app/data_files.hpp"

#include <filesystem>
#include <stdexcept>

namespace parley::app {

std::string sqlite_path_for(const std::string& data_dir, const std::string& store_url) {
  if (store_url.empty()) {
    prepare_private_dir(data_dir);
    return (std::filesystem::path(data_dir) / "parley.db").string();
  }
  constexpr std::string_view sqlite = "sqlite://";
  if (store_url.starts_with(sqlite)) {
    auto path = store_url.substr(sqlite.size());
    if (path.empty()) throw std::runtime_error("--store sqlite:// needs a path");
    auto parent = std::filesystem::path(path).parent_path();
    // A directory made for the store is private; one that exists is the operator's.
    if (!parent.empty() && !std::filesystem::exists(parent)) prepare_private_dir(parent);
    return path;
  }
  if (store_url.starts_with("postgresql://") || store_url.starts_with("postgres://"))
    throw std::runtime_error("the PostgreSQL store is not in this build yet; use sqlite://");
  throw std::runtime_error("--store must be sqlite:///path");
}

}  // namespace parley::app
