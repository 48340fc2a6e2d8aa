#include "journal/rotating_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <vector>

namespace mailroom::journal {

namespace fs = std::filesystem;

std::string log_file_name(const LogSpec& spec, std::int64_t unix, unsigned n) {
  std::time_t t = static_cast<std::time_t>(unix);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{}-{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:04}.{}", spec.prefix, tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, n,
                     spec.extension);
}

RotatingFile::RotatingFile(LogSpec spec, LogOptions options)
    : spec_(std::move(spec)), options_(std::move(options)) {}

RotatingFile::~RotatingFile() {
  flush();
  close();
}

std::error_code RotatingFile::open(std::int64_t now_unix) {
  std::error_code ec;
  fs::create_directories(options_.directory, ec);
  if (ec) return ec;
  for (unsigned n = 0; n < 10000; ++n) {  // 4 digits: names sort by time
    auto path = (fs::path(options_.directory) / log_file_name(spec_, now_unix, n)).string();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return util::last_error();
    fd_.reset(fd);
    path_ = path;
    bytes_ = 0;
    opened_unix_ = now_unix;
    first_unix_ = now_unix;
    last_unix_ = now_unix;
    keys_.clear();
    pending_ = spec_.header;
    bytes_ = pending_.size();
    prune(now_unix);
    return {};
  }
  return std::make_error_code(std::errc::file_exists);
}

std::error_code RotatingFile::append(std::string_view line, std::string_view keys,
                                     std::int64_t now_unix) {
  if (fd_.valid()) {
    const bool full = bytes_ + line.size() > options_.max_file_bytes &&
                      bytes_ > spec_.header.size();  // a huge line still gets a file
    const bool old =
        now_unix - opened_unix_ >= static_cast<std::int64_t>(options_.rotate_interval_s);
    if (full || old) {
      if (auto ec = flush()) return ec;
      close();
    }
  }
  if (!fd_.valid()) {
    if (auto ec = open(now_unix)) return ec;
  }
  pending_.append(line);
  bytes_ += line.size();
  last_unix_ = now_unix;
  if (spec_.indexed) {
    while (!keys.empty()) {
      auto sp = keys.find(' ');
      auto key = keys.substr(0, sp);
      if (!key.empty()) keys_.emplace(key);
      keys = sp == std::string_view::npos ? std::string_view() : keys.substr(sp + 1);
    }
  }
  return {};
}

std::error_code RotatingFile::flush() {
  if (pending_.empty() || !fd_.valid()) return {};
  auto ec = util::write_all(fd_.get(), pending_);
  pending_.clear();
  if (ec) fail();
  return ec;
}

void RotatingFile::fail() {
  // A file that lost a write is left as it is, without an index: readers scan it whole.
  fd_.reset();
  pending_.clear();
  keys_.clear();
  path_.clear();
}

void RotatingFile::close() {
  if (!fd_.valid()) return;
  fd_.reset();
  if (spec_.indexed) write_index();
  path_.clear();
  keys_.clear();
}

void RotatingFile::write_index() {
  std::string text = fmt::format("#first={} last={}\n", first_unix_, last_unix_);
  for (const auto& k : keys_) {
    text += k;
    text += '\n';
  }
  const auto tmp = path_ + ".idx.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return;  // no index: the file is scanned whole, which is only slower
  util::UniqueFd owned(fd);
  if (util::write_all(fd, text) || ::rename(tmp.c_str(), (path_ + ".idx").c_str()) != 0)
    ::unlink(tmp.c_str());
}

void RotatingFile::prune(std::int64_t now_unix) {
  struct Entry {
    std::string name;
    std::uint64_t bytes;
    std::int64_t mtime;
  };
  std::vector<Entry> files;
  std::error_code ec;
  const std::string start = spec_.prefix + "-";
  const std::string end = "." + spec_.extension;
  for (auto it = fs::directory_iterator(options_.directory, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.rfind(start, 0) != 0 || name.size() < end.size() ||
        name.compare(name.size() - end.size(), end.size(), end) != 0)
      continue;
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0) continue;
    files.push_back({it->path().string(), static_cast<std::uint64_t>(st.st_size), st.st_mtime});
  }
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::uint64_t total = 0;
  for (auto& f : files) total += f.bytes;
  const std::int64_t max_age = static_cast<std::int64_t>(options_.max_age_days) * 86400;
  for (auto& f : files) {
    if (f.name == path_) continue;
    if (now_unix - f.mtime <= max_age && total <= options_.max_total_bytes) continue;
    ::unlink(f.name.c_str());
    ::unlink((f.name + ".idx").c_str());
    total -= f.bytes;
  }
}

}  // namespace mailroom::journal
