// server/control_files: how `mailroom reload` finds the running server and hears how its reload
// went, through two small files in data_dir (Postfix keeps master.pid the same way).
//   mailroom.pid    the server's process id, written once it accepts, removed when it stops
//   reload.status   "<attempt> ok|failed <one line>", replaced whole (rename) after every reload
//                   attempt; attempt 0 is the start
// Never: trusts a pid file whose process is not a running mailroom (a kill -9 leaves the file
// behind, and the pid may be reused by another program).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace mailroom::server {

struct ReloadStatus {
  std::uint64_t attempt = 0;
  bool ok = false;
  std::string line;
};

void write_pid_file(const std::string& data_dir);
void remove_pid_file(const std::string& data_dir);
// The pid of the mailroom serving `data_dir`, or nullopt (no file, or no such mailroom process).
std::optional<pid_t> running_server_pid(const std::string& data_dir);

void write_reload_status(const std::string& data_dir, const ReloadStatus& status);
std::optional<ReloadStatus> read_reload_status(const std::string& data_dir);

}  // namespace mailroom::server
