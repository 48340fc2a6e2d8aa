// delivery/maildir: writing messages into Maildir (https://cr.yp.to/proto/maildir.html) and
// Maildir++ folders, so Dovecot, Courier or mutt read them unchanged.
//
// A mailbox lives at <mailbox_root>/<domain>/<user>/{tmp,new,cur}; a Maildir++ folder at
// <mailbox>/.<folder>/{tmp,new,cur}. Delivery follows the spec: create the file in tmp/ under a
// unique name (time.M<usec>P<pid>Q<counter>.<host>), write it, fsync it, rename it into new/
// (adding ",S=<bytes>,W=<bytes with CRLF>" as Dovecot does), fsync new/. A file is in new/ only
// once its contents are durable. Line endings are converted from SMTP's CRLF to LF (the Maildir
// convention; Postfix's local and virtual agents do the same), except for LineEnds::AsReceived:
// a BODY=BINARYMIME message (RFC 3030 3) must be passed on unaltered, and its CRLF, bare LF and
// bare CR octets cannot be told apart from line ends, so it is stored byte for byte as received
// (a CRLF Maildir file; Dovecot reads CRLF and LF files alike).
//
// The delivery identifier carries the queue id of the message ("Q7_<queue id>"), so that after a
// crash between the rename into new/ and the queue's record of it, the recovered message can see
// that this Maildir already has its copy (queue_ids_in_maildir) instead of delivering it twice.
// The name stays a valid Maildir name (no '/' or ':'), and readers keep it when moving to cur/.
//
// Batched: stage() writes any number of tmp files, commit() syncs them all at once, renames them
// and syncs each distinct new/ once (sync_pool.hpp explains why concurrent syncs are cheap).
// Never follows a user, domain or folder name containing '/', a leading '.', or control
// characters; never overwrites an existing file (O_EXCL in tmp/, link-free rename of a unique
// name into new/).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "directory/directory.hpp"
#include "util/sync_pool.hpp"

namespace mailroom::delivery {

// How a staged message's line ends are written: SMTP's CRLF as LF, or every octet as received.
enum class LineEnds { Lf, AsReceived };

// A safe single path component for a Maildir name (user, domain or folder).
bool is_safe_maildir_component(std::string_view name);

// The Maildir a message for `mailbox` goes to: the mailbox's Maildir++ folder ".<folder>" when
// mailbox.folder names one that exists, else the mailbox's INBOX. nullopt for unsafe names.
std::optional<std::string> maildir_for(const std::string& mailbox_root,
                                       const directory::Mailbox& mailbox);

// "1700000000.M123456P4242Q7.mx.example.test" with '/' and ':' in the host written as \057, \072;
// with a queue id: "1700000000.M123456P4242Q7_<queue id>.mx.example.test".
std::string maildir_base_name(std::int64_t unix_s, std::int64_t usec, long pid,
                              std::uint64_t counter, std::string_view host,
                              std::string_view queue_id = {});

// Queue ids named by the files in <maildir>/new and <maildir>/cur (see maildir_base_name).
// Costs one directory scan: used only for messages recovered after a crash.
std::set<std::string> queue_ids_in_maildir(const std::string& maildir);

// Creates <maildir>/{tmp,new,cur} (and parents) when missing, fsyncing each parent changed.
std::error_code ensure_maildir(const std::string& maildir);

class MaildirBatch {
 public:
  MaildirBatch(util::SyncPool& sync_pool, std::string hostname);
  ~MaildirBatch();  // removes tmp files of a batch that was never committed
  MaildirBatch(const MaildirBatch&) = delete;
  MaildirBatch& operator=(const MaildirBatch&) = delete;

  // Writes `headers` (CRLF) followed by bytes [body_offset, body_end) of `source_path` (CRLF)
  // to a new tmp file of `maildir`, converting line endings as `ends` says. Returns the entry's
  // index; a write error is kept and reported by commit().
  std::size_t stage(const std::string& maildir, std::string_view headers,
                    const std::string& source_path, std::uint64_t body_offset,
                    std::uint64_t body_end, std::string_view queue_id = {},
                    LineEnds ends = LineEnds::Lf);

  // Makes every staged file durable in new/. One result per stage() call, in order.
  std::vector<std::error_code> commit();

  // The final path of entry i after a successful commit (for tests and logs).
  const std::string& delivered_path(std::size_t i) const { return entries_[i].final_path; }

 private:
  struct Entry {
    std::string maildir;
    std::string tmp_path;
    std::string base_name;
    std::string final_path;
    int fd = -1;
    std::uint64_t bytes = 0;
    std::uint64_t virtual_bytes = 0;
    std::error_code error;
  };
  std::error_code write_entry(Entry& e, std::string_view headers, const std::string& source_path,
                              std::uint64_t body_offset, std::uint64_t body_end,
                              std::string_view queue_id, LineEnds ends);

  util::SyncPool& sync_pool_;
  std::string hostname_;
  std::vector<Entry> entries_;
  bool committed_ = false;
};

}  // namespace mailroom::delivery
