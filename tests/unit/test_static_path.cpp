// Static path resolution: every way out of the static directory is refused.
#include "common/mime_types.hpp"
#include "common/static_path.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

namespace crier {
namespace {

namespace fs = std::filesystem;

class static_path : public ::testing::Test {
protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("crier-static-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_ / "root" / "sub");
    fs::create_directories(base_ / "outside");
    write(base_ / "root" / "index.html");
    write(base_ / "root" / "app.js");
    write(base_ / "root" / "sub" / "index.html");
    write(base_ / "root" / "sub" / "page.css");
    write(base_ / "outside" / "secret.txt");
    fs::create_symlink(base_ / "outside" / "secret.txt", base_ / "root" / "leak.txt");
    fs::create_directory_symlink(base_ / "outside", base_ / "root" / "leakdir");
    fs::create_symlink(base_ / "root" / "app.js", base_ / "root" / "alias.js");
    root_ = fs::canonical(base_ / "root");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(fs::path const& p) { std::ofstream(p) << "x"; }

  std::variant<fs::path, static_path_error> resolve(std::string_view target) const {
    return resolve_static_path(root_, target);
  }
  void expect_file(std::string_view target, fs::path const& relative) const {
    auto r = resolve(target);
    ASSERT_TRUE(std::holds_alternative<fs::path>(r)) << target;
    EXPECT_EQ(std::get<fs::path>(r), root_ / relative) << target;
  }
  void expect_error(std::string_view target, static_path_error e) const {
    auto r = resolve(target);
    ASSERT_TRUE(std::holds_alternative<static_path_error>(r)) << target << " resolved to " << std::get<fs::path>(r);
    EXPECT_EQ(std::get<static_path_error>(r), e) << target;
  }

  fs::path base_;
  fs::path root_;
};

TEST_F(static_path, serves_files_and_index_pages) {
  expect_file("/", "index.html");
  expect_file("/index.html", "index.html");
  expect_file("/app.js", "app.js");
  expect_file("/app.js?v=3", "app.js");
  expect_file("/app.js#frag", "app.js");
  expect_file("/sub/", "sub/index.html");
  expect_file("/sub", "sub/index.html");
  expect_file("/sub/page.css", "sub/page.css");
  expect_file("/%61pp.js", "app.js");
  expect_file("//app.js", "app.js"); // empty segments are skipped, never made absolute
  expect_file("/alias.js", "app.js"); // a symlink that stays inside is fine
}

TEST_F(static_path, missing_files_are_not_found) {
  expect_error("/nope.html", static_path_error::not_found);
  expect_error("/sub/nope", static_path_error::not_found);
}

TEST_F(static_path, dot_dot_segments_are_refused) {
  expect_error("/../outside/secret.txt", static_path_error::forbidden);
  expect_error("/sub/../../outside/secret.txt", static_path_error::forbidden);
  expect_error("/sub/../index.html", static_path_error::forbidden);
  expect_error("/./index.html", static_path_error::forbidden);
  expect_error("/..", static_path_error::forbidden);
}

TEST_F(static_path, percent_encoded_traversal_is_refused) {
  expect_error("/%2e%2e/outside/secret.txt", static_path_error::forbidden);
  expect_error("/%2E%2E/outside/secret.txt", static_path_error::forbidden);
  expect_error("/.%2e/outside/secret.txt", static_path_error::forbidden);
  expect_error("/..%2foutside%2fsecret.txt", static_path_error::forbidden);
  expect_error("/sub%2f..%2f..%2foutside/secret.txt", static_path_error::forbidden);
  expect_error("/%2fetc/passwd", static_path_error::forbidden);
  expect_error("/..%5coutside%5csecret.txt", static_path_error::forbidden);
  expect_error("/..\\outside\\secret.txt", static_path_error::forbidden);
  expect_error("/index.html%00.js", static_path_error::forbidden);
}

TEST_F(static_path, absolute_and_malformed_targets_are_refused) {
  expect_error("", static_path_error::bad_request);
  expect_error("index.html", static_path_error::bad_request);
  expect_error("http://example.com/index.html", static_path_error::bad_request);
  expect_error("/%zz", static_path_error::bad_request);
  expect_error("/%2", static_path_error::bad_request);
  expect_error("/abc%", static_path_error::bad_request);
  expect_error("//etc/passwd", static_path_error::not_found); // stays under the root: no such file there
}

TEST_F(static_path, symlinks_that_lead_out_are_refused) {
  expect_error("/leak.txt", static_path_error::forbidden);
  expect_error("/leakdir/secret.txt", static_path_error::forbidden);
}

TEST(mime_types, common_types) {
  EXPECT_EQ(mime_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("/a/b/app.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type("logo.svg"), "image/svg+xml");
  EXPECT_EQ(mime_type("font.woff2"), "font/woff2");
  EXPECT_EQ(mime_type("data.bin"), "application/octet-stream");
  EXPECT_EQ(mime_type("Makefile"), "application/octet-stream");
}

} // namespace
} // namespace crier
