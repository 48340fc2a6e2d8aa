// Test support for queue, delivery and bounce tests: a temporary data dir, a config pointing at
// it, and an in-memory Directory with users, aliases and forwards.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>

#include "config/config.hpp"
#include "directory/directory.hpp"

namespace mailroom::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mailroom-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline config::Config test_config(const std::string& data_dir) {
  auto cfg = config::default_config();
  cfg.server.data_dir = data_dir;
  cfg.server.hostname = "mx.example.test";
  cfg.server.local_domains = {"example.test"};
  return cfg;
}

// Local domain "example.test"; users added with add_user; aliases map to lists of targets
// (local addresses or remote forwards). Plus-addressing "user+tag" yields folder "tag".
class FakeDirectory : public directory::Directory {
 public:
  void add_user(const std::string& user) {
    std::lock_guard l(m_);
    users_[user] = true;
  }
  void add_alias(const std::string& local, std::vector<std::string> targets) {
    std::lock_guard l(m_);
    aliases_[local] = std::move(targets);
  }
  bool is_local_domain(std::string_view d) const override { return d == "example.test"; }
  std::vector<std::string> local_domains() const override { return {"example.test"}; }
  bool verify_password(std::string_view, std::string_view) const override { return false; }

  directory::Resolution resolve(std::string_view address) const override {
    std::lock_guard l(m_);
    directory::Resolution r;
    auto at = address.rfind('@');
    std::string local(address.substr(0, at));
    std::string domain(at == std::string_view::npos ? "" : address.substr(at + 1));
    if (domain != "example.test") {
      r.status = directory::Resolution::Status::NotLocal;
      return r;
    }
    std::string folder;
    if (auto plus = local.find('+'); plus != std::string::npos) {
      folder = local.substr(plus + 1);
      local = local.substr(0, plus);
    }
    if (auto it = aliases_.find(local); it != aliases_.end()) {
      r.status = directory::Resolution::Status::Ok;
      for (const auto& t : it->second) {
        auto tat = t.rfind('@');
        if (t.substr(tat + 1) == "example.test" && users_.count(t.substr(0, tat))) {
          r.mailboxes.push_back({t.substr(0, tat), "example.test", ""});
        } else {
          r.forwards.push_back(t);
        }
      }
      return r;
    }
    if (users_.count(local)) {
      r.status = directory::Resolution::Status::Ok;
      r.mailboxes.push_back({local, domain, folder});
      return r;
    }
    r.status = directory::Resolution::Status::UnknownUser;
    return r;
  }

 private:
  mutable std::mutex m_;
  std::map<std::string, bool> users_;
  std::map<std::string, std::vector<std::string>> aliases_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(path, ec)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mailroom::testing
