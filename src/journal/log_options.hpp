// journal/log_options: where the protocol and tracking logs go and when their files rotate.
//
// Defaults follow Exchange's transport logs (10 MB files, 30 days, 1 GB per log) and the daily
// files of logrotate/Exchange: a file is closed when it reaches max_file_bytes or is
// rotate_interval_s old, whichever comes first; closed files older than max_age_days, or beyond
// max_total_bytes per log (oldest first), are deleted.
// Never: holds anything but plain settings (the config layer fills it, tests build their own).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mailroom::journal {

struct LogOptions {
  std::string directory;                       // created (mkdir -p) on first write
  std::uint64_t max_file_bytes = 10ull << 20;  // 10 MiB
  std::uint32_t rotate_interval_s = 86400;     // a new file at least daily
  std::uint32_t max_age_days = 30;             // closed files older than this are deleted
  std::uint64_t max_total_bytes = 1ull << 30;  // per log (protocol, tracking)
  std::size_t queue_lines = 65536;             // lines waiting for the writer; beyond: dropped
  bool tracking = true;                        // the message tracking log
};

}  // namespace mailroom::journal
