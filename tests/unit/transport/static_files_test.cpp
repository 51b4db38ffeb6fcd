// static_dir: nothing outside the root is ever served, whatever the encoding of the path.

#include "transport/static_files.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using parley::transport::static_dir;

namespace {

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// A temporary tree:
//   base/outside/secret.txt        "SECRET"        (never to be served)
//   base/root-evil/secret.txt      "SECRET"        (shares the root's name as a string prefix)
//   base/root/index.html           "INDEX"
//   base/root/sub/a.txt            "A"
//   base/root/sub/index.html       "SUBINDEX"
//   base/root/%2e%2e/x.txt         "LITERAL"       (a directory whose name is "%2e%2e")
//   base/root/link-abs   -> base/outside/secret.txt  (absolute symlink out)
//   base/root/link-up    -> ../outside/secret.txt    (relative symlink out)
//   base/root/link-evil  -> ../root-evil/secret.txt  (out, to a sibling with the same prefix)
//   base/root/link-dir   -> ../outside               (a directory out)
//   base/root/link-etc   -> /etc
//   base/root/link-in    -> sub/a.txt                 (inside: served)
class static_files_test : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/parley-static-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ / "root";
    write_file(base_ / "outside" / "secret.txt", "SECRET");
    write_file(base_ / "root-evil" / "secret.txt", "SECRET");
    write_file(root_ / "index.html", "INDEX");
    write_file(root_ / "sub" / "a.txt", "A");
    write_file(root_ / "sub" / "index.html", "SUBINDEX");
    write_file(root_ / "%2e%2e" / "x.txt", "LITERAL");
    fs::create_symlink(base_ / "outside" / "secret.txt", root_ / "link-abs");
    fs::create_symlink("../outside/secret.txt", root_ / "link-up");
    fs::create_symlink("../root-evil/secret.txt", root_ / "link-evil");
    fs::create_directory_symlink("../outside", root_ / "link-dir");
    fs::create_directory_symlink("/etc", root_ / "link-etc");
    fs::create_symlink("sub/a.txt", root_ / "link-in");
  }
  void TearDown() override { fs::remove_all(base_); }

  // The body served for `target`, or "" when nothing is.
  std::string get(const static_dir& dir, const std::string& target) {
    parley::api::http_response out;
    if (!dir.serve(target, out)) return "";
    EXPECT_EQ(out.status, 200);
    return out.body;
  }

  fs::path base_, root_;
};

TEST_F(static_files_test, serves_files_inside_the_root) {
  static_dir dir(root_.string());
  EXPECT_EQ(get(dir, "/"), "INDEX");
  EXPECT_EQ(get(dir, "/index.html"), "INDEX");
  EXPECT_EQ(get(dir, "/sub/a.txt"), "A");
  EXPECT_EQ(get(dir, "/sub/"), "SUBINDEX");
  EXPECT_EQ(get(dir, "/sub"), "SUBINDEX");
  EXPECT_EQ(get(dir, "/sub/a.txt?v=1"), "A");
  EXPECT_EQ(get(dir, "/sub//a.txt"), "A");  // empty components are dropped
  EXPECT_EQ(get(dir, "/./sub/./a.txt"), "A");
  EXPECT_EQ(get(dir, "/%73ub/a.txt"), "A");  // an encoded ordinary letter is fine
  EXPECT_EQ(get(dir, "/link-in"), "A");      // a symlink inside to inside
  // Decoded once: "%252e%252e" is the literal directory "%2e%2e", not "..".
  EXPECT_EQ(get(dir, "/%252e%252e/x.txt"), "LITERAL");
}

TEST_F(static_files_test, root_given_through_a_symlink_or_relative_still_serves) {
  fs::create_directory_symlink(root_, base_ / "root-link");
  static_dir via_link((base_ / "root-link").string());
  EXPECT_EQ(get(via_link, "/sub/a.txt"), "A");
  EXPECT_EQ(get(via_link, "/link-up"), "");
  static_dir with_dots((base_ / "outside" / ".." / "root").string());
  EXPECT_EQ(get(with_dots, "/sub/a.txt"), "A");
  EXPECT_EQ(get(with_dots, "/link-up"), "");
}

TEST_F(static_files_test, no_encoding_reaches_outside_the_root) {
  static_dir dir(root_.string());
  const std::string secret = (base_ / "outside" / "secret.txt").string();  // absolute
  const std::string secret_rel = "outside/secret.txt";
  std::vector<std::string> attacks = {
      // absolute paths through doubled or encoded slashes
      "/" + secret,
      "//" + secret,
      "///" + secret,
      "/%2f" + secret.substr(1),
      "/%2F" + secret.substr(1),
      "%2f" + secret.substr(1),
      "/%2f%2f" + secret.substr(1),
      "//etc/passwd",
      "/%2fetc/passwd",
      "/%2Fetc%2Fpasswd",
      "//proc/self/cmdline",
      "/%2fproc/self/cmdline",
      "/%2fproc%2fself%2fenviron",
      // climbing
      "/../" + secret_rel,
      "/sub/../../" + secret_rel,
      "/%2e%2e/" + secret_rel,
      "/%2E%2E/" + secret_rel,
      "/%2e%2e%2f" + secret_rel,
      "/..%2f" + secret_rel,
      "/..%2F" + secret_rel,
      "/.%2e/" + secret_rel,
      "/%2e./" + secret_rel,
      "/sub/%2e%2e/%2e%2e/" + secret_rel,
      "/../../../../../../../../etc/passwd",
      "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      // backslashes
      "/..\\" + secret_rel,
      "/..%5c" + secret_rel,
      "/..%5C" + secret_rel,
      "/%5c..%5c" + secret_rel,
      "/%5cetc%5cpasswd",
      // double encoding (decoded once: these are literal names that do not exist)
      "/%252e%252e/" + secret_rel,
      "/%252e%252e%252f" + secret_rel,
      "/%252fetc/passwd",
      // overlong UTF-8 for '/' and '.' (not decoded as such: literal bytes, and absent)
      "/%c0%af" + secret.substr(1),
      "/..%c0%af" + secret_rel,
      "/%c0%ae%c0%ae/" + secret_rel,
      "/%e0%80%af" + secret.substr(1),
      // NUL and control bytes
      "/index.html%00",
      "/%00/" + secret,
      "/..%00/" + secret_rel,
      "/sub/a.txt%0a",
      "/sub%09/a.txt",
      "/sub/a.txt%7f",
      // trailing dots and slashes
      "/../" + secret_rel + ".",
      "/../" + secret_rel + "/",
      "/..",
      "/../",
      "/.../" + secret_rel,
      "/link-up/",
      "/link-up/.",
      // bad escapes
      "/%2",
      "/%zz/etc/passwd",
      "/%/etc/passwd",
      // query strings and fragments do not change the path
      "/../" + secret_rel + "?x=1",
      "/%2fetc/passwd?/index.html",
      "/?/../../etc/passwd",
      "/#/../" + secret_rel,
      // symlinks that leave the root
      "/link-abs",
      "/link-up",
      "/link-evil",
      "/link-dir/secret.txt",
      "/link-dir/",
      "/link-etc/passwd",
      "/link-etc/hostname",
      // not origin-form
      "http://localhost/../" + secret_rel,
      "*",
      "",
  };
  for (const auto& t : attacks) {
    SCOPED_TRACE(t);
    auto body = get(dir, t);
    EXPECT_EQ(body.find("SECRET"), std::string::npos);
    auto resolved = dir.resolve(t);
    if (resolved) {
      auto rel = resolved->lexically_relative(fs::canonical(root_));
      EXPECT_FALSE(rel.empty() || *rel.begin() == "..") << resolved->string();
    }
  }
  // "/" still serves the index after all of that: refusals change nothing.
  EXPECT_EQ(get(dir, "/"), "INDEX");
}

TEST_F(static_files_test, sdk_prefix_variants_stay_inside) {
  // The HTTP session strips "/sdk" and hands the rest to the SDK directory.
  static_dir sdk((root_ / "sub").string());
  for (std::string t :
       {"/sdk//etc/passwd", "/sdk/%2fetc/passwd", "/sdk//proc/self/cmdline", "/sdk/../index.html",
        "/sdk/%2e%2e/index.html", "/sdk/..%2findex.html", "/sdk/../../outside/secret.txt"}) {
    SCOPED_TRACE(t);
    auto rest = t.substr(4);
    EXPECT_EQ(get(sdk, rest), "");
  }
  EXPECT_EQ(get(sdk, std::string("/sdk/a.txt").substr(4)), "A");
}

TEST_F(static_files_test, api_paths_are_never_files) {
  write_file(root_ / "healthz", "FILE");
  write_file(root_ / "v1" / "x", "FILE");
  static_dir dir(root_.string());
  EXPECT_EQ(get(dir, "/healthz"), "");
  EXPECT_EQ(get(dir, "/v1/x"), "");
}

TEST_F(static_files_test, a_missing_or_empty_root_serves_nothing) {
  static_dir none("");
  EXPECT_FALSE(none.enabled());
  EXPECT_EQ(get(none, "/etc/passwd"), "");
  static_dir missing((base_ / "nope").string());
  EXPECT_FALSE(missing.enabled());
  EXPECT_EQ(get(missing, "//etc/passwd"), "");
}

}  // namespace
