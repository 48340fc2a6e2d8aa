// Test helpers for the directory tests: a temporary directory and a config pointing into it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "config/config.hpp"

namespace mailroom::directory::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mailroom-dir-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Embedded defaults with data_dir inside `dir` and local domain example.test.
inline config::Config test_config(const TempDir& dir) {
  auto cfg = config::default_config();
  cfg.server.data_dir = (dir.path() / "data").string();
  cfg.server.local_domains = {"example.test"};
  return cfg;
}

}  // namespace mailroom::directory::testing
