#include "transport/static_files.hpp"

#include "api/router.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace parley::transport {

namespace {
std::string mime_type(const std::filesystem::path& p) {
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
}  // namespace

bool serve_static(const std::string& root, const std::string& target, api::http_response& out) {
  auto path_part = target.substr(0, target.find('?'));
  if (path_part.starts_with("/v1/") || path_part.starts_with("/admin/") ||
      path_part.starts_with("/demo/") || path_part == "/healthz" || path_part == "/metrics")
    return false;
  auto decoded = api::percent_decode(path_part);
  if (!decoded || decoded->find("..") != std::string::npos ||
      decoded->find('\0') != std::string::npos)
    return false;
  std::filesystem::path p = std::filesystem::path(root) / decoded->substr(1);
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) p /= "index.html";
  if (!std::filesystem::is_regular_file(p, ec)) return false;
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream body;
  body << in.rdbuf();
  out.status = 200;
  out.body = body.str();
  out.content_type = mime_type(p);
  out.route = "static";
  return true;
}

}  // namespace parley::transport
