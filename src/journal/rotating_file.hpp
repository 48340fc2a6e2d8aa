// journal/rotating_file: one log (protocol or tracking) as a series of files in one directory.
//
// Files are named <prefix>-<YYYYMMDDTHHMMSSZ>-<nnnn>.<ext> (UTC of opening, then a 4-digit
// counter for several files in one second), so sorting names sorts
// them by time. Each file starts with `header` (if any). A file is closed when the next line
// would take it past max_file_bytes or when it is rotate_interval_s old; at closing, an indexed
// log writes a sidecar <file>.idx: "#first=<unix> last=<unix>" then every key of the file, sorted,
// one per line (written to a temporary name and renamed: an index is whole or absent). Readers
// (journal/track_reader) use it to skip files; a file without one (the current file, or one left
// by a crash) is read whole. Closed files past max_age_days or over max_total_bytes are deleted,
// oldest first, each with its index.
// Errors are returned; after one the file is closed (no index) and the next write reopens.
// Used by one thread (the LogWriter's). Never: deletes the file it is writing.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <system_error>

#include "journal/log_options.hpp"
#include "util/posix_file.hpp"

namespace mailroom::journal {

struct LogSpec {
  std::string prefix;     // "protocol", "tracking"
  std::string extension;  // "csv", "jsonl"
  std::string header;     // first line of every file (with its "\n"), may be empty
  bool indexed = false;   // keep a sidecar index of keys
};

class RotatingFile {
 public:
  RotatingFile(LogSpec spec, LogOptions options);
  ~RotatingFile();
  RotatingFile(const RotatingFile&) = delete;
  RotatingFile& operator=(const RotatingFile&) = delete;

  // Appends one line (with its "\n"), rotating first if due. `keys` (space-separated) go to the
  // index. Nothing is buffered here: the caller batches and calls flush().
  std::error_code append(std::string_view line, std::string_view keys, std::int64_t now_unix);
  // Writes what append() gathered.
  std::error_code flush();
  // Closes the current file (with its index).
  void close();

  const std::string& current_path() const { return path_; }
  const LogSpec& spec() const { return spec_; }

 private:
  std::error_code open(std::int64_t now_unix);
  void write_index();
  void prune(std::int64_t now_unix);
  void fail();

  LogSpec spec_;
  LogOptions options_;
  util::UniqueFd fd_;
  std::string path_;
  std::string pending_;      // appended, not yet written
  std::uint64_t bytes_ = 0;  // in the file, pending included
  std::int64_t opened_unix_ = 0;
  std::int64_t first_unix_ = 0;
  std::int64_t last_unix_ = 0;
  std::set<std::string> keys_;
};

// "<prefix>-20261130T130501Z-0003.<ext>" for `unix` and sequence number `n`.
std::string log_file_name(const LogSpec& spec, std::int64_t unix, unsigned n);

}  // namespace mailroom::journal
