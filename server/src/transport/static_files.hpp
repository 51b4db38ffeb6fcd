#pragma once
// Static files under --web-root (the demo page) and --sdk-dir (the browser SDK bundle at /sdk/).

#include "api/http_types.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace parley::transport {

// One directory served read-only. Construction resolves the root once (symlinks included); every
// request is then confined to it:
//   - the path (before any '?') is percent-decoded exactly once; a bad escape, NUL, backslash or
//     any other control byte refuses the request;
//   - the path is rebuilt from its relative components only (empty and "." components dropped,
//     a ".." component refuses), so no decoded form ("//etc", "/%2fetc", "%2e%2e") can make it
//     absolute or climb;
//   - the result is canonicalized (symlinks resolved) and must lie under the canonical root,
//     compared component by component: a symlink inside the root that points inside is served,
//     one that leads out is refused.
// A refused or missing file is simply not served (the caller answers 404): the answer says
// nothing about what exists outside the root.
// Thread-safe: const after construction.
class static_dir {
 public:
  // An empty `root` serves nothing. A root that does not exist serves nothing either (logged).
  explicit static_dir(const std::string& root);

  bool enabled() const { return root_.has_value(); }

  // Fills `out` and returns true when `target` (a request target: "/path?query") names a regular
  // file under the root; "/" and directories serve their index.html.
  bool serve(std::string_view target, api::http_response& out) const;

  // The canonical file `target` names under the root, or nothing (refused or absent). Exposed for
  // tests and for serve().
  std::optional<std::filesystem::path> resolve(std::string_view target) const;

 private:
  std::optional<std::filesystem::path> inside(const std::filesystem::path& p) const;
  std::optional<std::filesystem::path> root_;  // canonical
};

// Routes the server itself answers, never looked up as files.
bool is_api_path(std::string_view path);

}  // namespace parley::transport
