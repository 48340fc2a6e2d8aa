#include "server/control_files.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace mailroom::server {
namespace {

std::string pid_path(const std::string& dir) { return dir + "/mailroom.pid"; }
std::string status_path(const std::string& dir) { return dir + "/reload.status"; }

// Written beside and renamed into place: a reader never sees half a file.
void replace_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) {
      spdlog::warn("event=control_file_failed path={}", path);
      return;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    spdlog::warn("event=control_file_failed path={}", path);
}

// /proc/PID/comm of a mailroom is "mailroom" (or the name it was started under, for a renamed
// binary: then the command line's first word ends in "mailroom").
bool is_mailroom(pid_t pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  if (name == "mailroom") return true;
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(cmdline, argv0, '\0');
  return argv0.size() >= 8 && argv0.compare(argv0.size() - 8, 8, "mailroom") == 0;
}

}  // namespace

void write_pid_file(const std::string& data_dir) {
  replace_file(pid_path(data_dir), std::to_string(::getpid()) + "\n");
}

void remove_pid_file(const std::string& data_dir) { ::unlink(pid_path(data_dir).c_str()); }

std::optional<pid_t> running_server_pid(const std::string& data_dir) {
  std::ifstream in(pid_path(data_dir));
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return std::nullopt;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return std::nullopt;
  if (!is_mailroom(static_cast<pid_t>(pid))) return std::nullopt;
  return static_cast<pid_t>(pid);
}

void write_reload_status(const std::string& data_dir, const ReloadStatus& status) {
  replace_file(status_path(data_dir), std::to_string(status.attempt) +
                                          (status.ok ? " ok " : " failed ") + status.line + "\n");
}

std::optional<ReloadStatus> read_reload_status(const std::string& data_dir) {
  std::ifstream in(status_path(data_dir));
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  std::istringstream fields(text);
  ReloadStatus s;
  std::string result;
  if (!(fields >> s.attempt >> result) || (result != "ok" && result != "failed"))
    return std::nullopt;
  s.ok = result == "ok";
  std::getline(fields >> std::ws, s.line);
  return s;
}

}  // namespace mailroom::server
