#include "transport/static_files.hpp"

#include "api/router.hpp"
#include "common/log.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace parley::transport {

namespace fs = std::filesystem;

namespace {
std::string mime_type(const fs::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ts") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// Bytes no file name we serve contains: NUL and the other C0 controls, DEL, and the backslash
// (a path separator to some clients and tools, never part of a name we ship).
bool refused_byte(unsigned char c) {
  return c < 0x20 || c == 0x7f || c == '\\';
}
}  // namespace

bool is_api_path(std::string_view path) {
  return path.starts_with("/v1/") || path.starts_with("/admin/") || path.starts_with("/demo/") ||
         path == "/healthz" || path == "/metrics";
}

static_dir::static_dir(const std::string& root) {
  if (root.empty()) return;
  std::error_code ec;
  auto canonical = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical, ec)) {
    log::warn("static_root_missing", {{"path", root}});
    return;
  }
  root_ = std::move(canonical);
}

std::optional<fs::path> static_dir::inside(const fs::path& p) const {
  std::error_code ec;
  auto real = fs::canonical(p, ec);
  if (ec) return std::nullopt;
  // Component-wise: "/srv/web-evil" is not under "/srv/web", which a string prefix would allow.
  auto [r, q] = std::mismatch(root_->begin(), root_->end(), real.begin(), real.end());
  if (r != root_->end()) return std::nullopt;
  return real;
}

std::optional<fs::path> static_dir::resolve(std::string_view target) const {
  if (!root_) return std::nullopt;
  auto path_part = target.substr(0, target.find('?'));
  if (!path_part.starts_with('/')) return std::nullopt;
  // Decoded once (api::percent_decode: Boost.URL): "%252e" stays "%2e", a literal name, never a
  // second "..". The confinement below judges the decoded bytes, whatever decoded them.
  auto decoded = api::percent_decode(path_part);
  if (!decoded) return std::nullopt;
  if (std::any_of(decoded->begin(), decoded->end(),
                  [](char c) { return refused_byte(static_cast<unsigned char>(c)); }))
    return std::nullopt;

  // Relative components only: appending one never replaces the root.
  fs::path p = *root_;
  std::string_view rest = *decoded;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    p /= fs::path(std::string(part));
  }

  auto real = inside(p);
  if (!real) return std::nullopt;
  std::error_code ec;
  if (fs::is_directory(*real, ec)) {
    real = inside(*real / "index.html");
    if (!real) return std::nullopt;
  }
  if (!fs::is_regular_file(*real, ec)) return std::nullopt;
  return real;
}

bool static_dir::serve(std::string_view target, api::http_response& out) const {
  if (!root_ || is_api_path(target.substr(0, target.find('?')))) return false;
  auto p = resolve(target);
  if (!p) return false;
  std::ifstream in(*p, std::ios::binary);
  if (!in) return false;
  std::ostringstream body;
  body << in.rdbuf();
  out.status = 200;
  out.body = body.str();
  out.content_type = mime_type(*p);
  out.route = "static";
  return true;
}

}  // namespace parley::transport
