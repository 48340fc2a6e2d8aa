#include "delivery/maildir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <map>

#include "spool/message_id.hpp"
#include "util/posix_file.hpp"

namespace mailroom::delivery {
namespace {

std::atomic<std::uint64_t> g_delivery_counter{0};

// CRLF -> LF (or, for LineEnds::AsReceived, no change at all) while counting the file size and
// Dovecot's virtual size (every LF not preceded by CR counted as CRLF). Works on spans between
// CRs (memchr), not byte by byte: 1 MB messages spent a fifth of their CPU here when every octet
// went through a std::string push (bench/ANALYSIS.md).
class LfWriter {
 public:
  LfWriter(int fd, LineEnds ends) : fd_(fd), convert_(ends == LineEnds::Lf) {
    buf_.reserve(kFlushAt);
  }
  void feed(std::string_view in) {
    if (!convert_) return put(in);
    while (!in.empty()) {
      if (pending_cr_) {
        pending_cr_ = false;
        if (in.front() == '\n') {
          put("\n");  // CRLF becomes LF
          in.remove_prefix(1);
          continue;
        }
        put("\r");  // a lone CR stays
      }
      auto cr = in.find('\r');
      put(in.substr(0, cr));
      if (cr == std::string_view::npos) break;
      pending_cr_ = true;  // emitted once we know whether an LF follows
      in.remove_prefix(cr + 1);
    }
  }
  std::error_code finish() {
    if (pending_cr_) put("\r");
    pending_cr_ = false;
    return flush();
  }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t virtual_bytes() const { return bytes_ + bare_lf_; }
  std::error_code error() const { return error_; }

 private:
  static constexpr std::size_t kFlushAt = 65536;
  // Appends output bytes, counting each LF not preceded by a CR in the output.
  void put(std::string_view out) {
    if (out.empty()) return;
    for (auto lf = out.find('\n'); lf != std::string_view::npos; lf = out.find('\n', lf + 1))
      if ((lf == 0 ? last_ : out[lf - 1]) != '\r') ++bare_lf_;
    last_ = out.back();
    bytes_ += out.size();
    buf_.append(out);
    if (buf_.size() >= kFlushAt) (void)flush();
  }
  std::error_code flush() {
    std::string_view rest = buf_;
    while (!rest.empty() && !error_) {
      ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? util::last_error() : std::make_error_code(std::errc::no_space_on_device);
        break;
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    buf_.clear();
    return error_;
  }
  int fd_;
  bool convert_;
  std::string buf_;
  bool pending_cr_ = false;
  char last_ = '\0';
  std::uint64_t bytes_ = 0;
  std::uint64_t bare_lf_ = 0;
  std::error_code error_;
};

}  // namespace

bool is_safe_maildir_component(std::string_view name) {
  if (name.empty() || name.size() > 255 || name[0] == '.') return false;
  for (unsigned char c : name)
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  return true;
}

std::optional<std::string> maildir_for(const std::string& mailbox_root,
                                       const directory::Mailbox& mailbox) {
  if (!is_safe_maildir_component(mailbox.domain) || !is_safe_maildir_component(mailbox.user))
    return std::nullopt;
  std::string inbox = mailbox_root + "/" + mailbox.domain + "/" + mailbox.user;
  if (!mailbox.folder.empty() && is_safe_maildir_component(mailbox.folder) &&
      mailbox.folder.find("..") == std::string::npos) {
    std::string folder = inbox + "/." + mailbox.folder;
    if (util::is_directory(folder)) return folder;
  }
  return inbox;
}

std::string maildir_base_name(std::int64_t unix_s, std::int64_t usec, long pid,
                              std::uint64_t counter, std::string_view host,
                              std::string_view queue_id) {
  std::string safe_host;
  for (char c : host) {
    if (c == '/')
      safe_host += "\\057";
    else if (c == ':')
      safe_host += "\\072";
    else
      safe_host += c;
  }
  if (queue_id.empty())
    return fmt::format("{}.M{}P{}Q{}.{}", unix_s, usec, pid, counter, safe_host);
  return fmt::format("{}.M{}P{}Q{}_{}.{}", unix_s, usec, pid, counter, queue_id, safe_host);
}

std::set<std::string> queue_ids_in_maildir(const std::string& maildir) {
  std::set<std::string> ids;
  for (const char* sub : {"/new", "/cur"}) {
    DIR* d = ::opendir((maildir + sub).c_str());
    if (!d) continue;
    while (auto* entry = ::readdir(d)) {
      std::string_view name = entry->d_name;
      // "<sec>.M<usec>P<pid>Q<n>_<queue id>.<host>[,S=..][:2,flags]"
      auto first_dot = name.find('.');
      auto underscore = name.find('_', first_dot == std::string_view::npos ? 0 : first_dot);
      if (first_dot == std::string_view::npos || underscore == std::string_view::npos) continue;
      auto id = name.substr(underscore + 1, spool::kMessageIdLength);
      if (underscore + 1 + id.size() < name.size() && name[underscore + 1 + id.size()] == '.' &&
          spool::is_valid_message_id(id))
        ids.emplace(id);
    }
    ::closedir(d);
  }
  return ids;
}

std::error_code ensure_maildir(const std::string& maildir) {
  if (auto ec = util::make_directories(maildir)) return ec;
  bool created = false;
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    std::string d = maildir + sub;
    if (::mkdir(d.c_str(), 0700) == 0) {
      created = true;
    } else if (errno != EEXIST) {
      return util::last_error();
    }
  }
  if (created) return util::fsync_directory(maildir);
  return {};
}

MaildirBatch::MaildirBatch(util::SyncPool& sync_pool, std::string hostname)
    : sync_pool_(sync_pool), hostname_(std::move(hostname)) {}

MaildirBatch::~MaildirBatch() {
  for (auto& e : entries_) {
    if (e.fd >= 0) ::close(e.fd);
    if (!committed_ && !e.tmp_path.empty()) ::unlink(e.tmp_path.c_str());
  }
}

std::size_t MaildirBatch::stage(const std::string& maildir, std::string_view headers,
                                const std::string& source_path, std::uint64_t body_offset,
                                std::uint64_t body_end, std::string_view queue_id, LineEnds ends) {
  entries_.push_back(Entry{});
  Entry& e = entries_.back();
  e.maildir = maildir;
  e.error = write_entry(e, headers, source_path, body_offset, body_end, queue_id, ends);
  if (e.error && !e.tmp_path.empty()) {
    ::unlink(e.tmp_path.c_str());
    e.tmp_path.clear();
  }
  return entries_.size() - 1;
}

std::error_code MaildirBatch::write_entry(Entry& e, std::string_view headers,
                                          const std::string& source_path, std::uint64_t body_offset,
                                          std::uint64_t body_end, std::string_view queue_id,
                                          LineEnds ends) {
  struct timeval tv {};
  ::gettimeofday(&tv, nullptr);
  e.base_name = maildir_base_name(tv.tv_sec, tv.tv_usec, static_cast<long>(::getpid()),
                                  g_delivery_counter.fetch_add(1), hostname_, queue_id);
  e.tmp_path = e.maildir + "/tmp/" + e.base_name;
  // Open first and create the Maildir only when tmp/ is missing: checking tmp/, new/ and cur/
  // before every file cost three mkdir calls per message (bench/ANALYSIS.md).
  e.fd = ::open(e.tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (e.fd < 0 && errno == ENOENT) {
    if (auto ec = ensure_maildir(e.maildir)) {
      e.tmp_path.clear();
      return ec;
    }
    e.fd = ::open(e.tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  }
  if (e.fd < 0) {
    auto ec = util::last_error();
    e.tmp_path.clear();  // not ours to unlink
    return ec;
  }
  LfWriter out(e.fd, ends);
  out.feed(headers);
  int src = ::open(source_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) return util::last_error();
  std::string chunk(65536, '\0');
  std::error_code ec;
  for (std::uint64_t off = body_offset; off < body_end && !out.error();) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), body_end - off));
    ssize_t n = ::pread(src, chunk.data(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ec = n < 0 ? util::last_error() : std::make_error_code(std::errc::io_error);
      break;
    }
    out.feed(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
    off += static_cast<std::uint64_t>(n);
  }
  ::close(src);
  if (ec) return ec;
  if (auto wec = out.finish()) return wec;
  e.bytes = out.bytes();
  e.virtual_bytes = out.virtual_bytes();
  return {};
}

std::vector<std::error_code> MaildirBatch::commit() {
  committed_ = true;
  std::vector<std::error_code> results(entries_.size());
  std::vector<util::SyncPool::Request> file_syncs;
  std::vector<std::size_t> file_index;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].error) continue;
    file_syncs.push_back({entries_[i].fd, true});
    file_index.push_back(i);
  }
  auto synced = sync_pool_.sync_all(file_syncs);
  for (std::size_t k = 0; k < file_index.size(); ++k)
    if (synced[k]) entries_[file_index[k]].error = synced[k];

  // Rename into new/, then make each new/ durable once.
  std::map<std::string, std::vector<std::size_t>> by_dir;
  for (auto& e : entries_) {
    if (e.fd >= 0) {
      ::close(e.fd);
      e.fd = -1;
    }
  }
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    auto& e = entries_[i];
    if (e.error) {
      if (!e.tmp_path.empty()) ::unlink(e.tmp_path.c_str());
      continue;
    }
    e.final_path =
        fmt::format("{}/new/{},S={},W={}", e.maildir, e.base_name, e.bytes, e.virtual_bytes);
    bool renamed = ::rename(e.tmp_path.c_str(), e.final_path.c_str()) == 0;
    if (!renamed && errno == ENOENT && !ensure_maildir(e.maildir))  // new/ removed meanwhile
      renamed = ::rename(e.tmp_path.c_str(), e.final_path.c_str()) == 0;
    if (!renamed) {
      e.error = util::last_error();
      ::unlink(e.tmp_path.c_str());
      continue;
    }
    by_dir[e.maildir + "/new"].push_back(i);
  }
  std::vector<int> dir_fds;
  std::vector<util::SyncPool::Request> dir_syncs;
  std::vector<std::vector<std::size_t>*> dir_entries;
  for (auto& [dir, idx] : by_dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      auto ec = util::last_error();
      for (auto i : idx) entries_[i].error = ec;
      continue;
    }
    dir_fds.push_back(fd);
    dir_syncs.push_back({fd, false});
    dir_entries.push_back(&idx);
  }
  auto dir_results = sync_pool_.sync_all(dir_syncs);
  for (std::size_t k = 0; k < dir_results.size(); ++k) {
    // The file is in new/ but its name may not survive a crash: report the error so the
    // recipient is retried (a possible duplicate beats a possible loss).
    if (dir_results[k])
      for (auto i : *dir_entries[k]) entries_[i].error = dir_results[k];
  }
  for (int fd : dir_fds) ::close(fd);
  for (std::size_t i = 0; i < entries_.size(); ++i) results[i] = entries_[i].error;
  return results;
}

}  // namespace mailroom::delivery
