// spool/queue_file: the on-disk form of one queued message, and the queue directory layout.
//
// Layout under queue_dir:
//   incoming/<id>   being received or being committed; never delivered; removed at start
//   messages/<id>   committed: the rename from incoming/ into messages/ is the commit marker
//   spare/<n>       emptied files of delivered messages, reused for new ones (queue/spare_files)
//   corrupt/<id>    files that failed their checksum: kept for the admin, never delivered
//   state.db        recipient states and admin commands (queue/state_db.hpp)
//   lock            flock()ed by the running server (queue/runtime.hpp)
//
// A queue file is written once and never modified afterwards:
//   <message bytes, CRLF, as received, Received: header included>
//   <envelope record: text lines "key value", values percent-escaped>
//   <footer, exactly kFooterBytes:
//      "MAILROOM-QUEUE-V2 <body bytes:20> <envelope bytes:10> <XXH3-128 of body+envelope:32>\n">
// V2 is what this version writes; V1 files (BLAKE2b-128 checksum) are still read and verified, so
// a queue written by an older mailroom is delivered after an upgrade. The checksum guards against
// torn writes and disk damage, not against an attacker who can write the queue (why XXH3:
// bench/ANALYSIS.md). The envelope goes last so a message that spilled to disk while being
// received is committed by appending to the same file. A file renamed into messages/ may be torn
// by a power cut before its fsync (queue/group_commit.hpp): recovery skips a file whose footer does
// not match its size, and delivery verifies the checksum before writing a message anywhere.
//
// Never: writes outside queue_dir, or turns an id into a path before is_valid_message_id().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "spool/envelope.hpp"

namespace mailroom::spool {

inline constexpr std::size_t kFooterBytes = 83;

// The footer versions and their checksums.
enum class QueueFileFormat {
  V1,  // BLAKE2b-128 (libsodium crypto_generichash): read only
  V2,  // XXH3-128 (libxxhash), canonical big-endian: written
};
inline constexpr QueueFileFormat kCurrentQueueFileFormat = QueueFileFormat::V2;

// Incremental checksum of a queue file's body and envelope, in the given format's algorithm.
class QueueFileHasher {
 public:
  explicit QueueFileHasher(QueueFileFormat format = kCurrentQueueFileFormat);
  void update(std::string_view bytes);
  std::string finish_hex();  // 32 lowercase hex digits; call once
  QueueFileFormat format() const { return format_; }

 private:
  QueueFileFormat format_;
  alignas(64) unsigned char state_[640];  // crypto_generichash_state or XXH3_state_t
};

struct QueuePaths {
  explicit QueuePaths(std::string queue_dir);
  std::string root;
  std::string incoming_dir() const { return root + "/incoming"; }
  std::string messages_dir() const { return root + "/messages"; }
  std::string spare_dir() const { return root + "/spare"; }
  std::string corrupt_dir() const { return root + "/corrupt"; }
  std::string incoming_file(std::string_view id) const;
  std::string message_file(std::string_view id) const;
  std::string state_db() const { return root + "/state.db"; }
  std::string lock_file() const { return root + "/lock"; }
};

// The envelope record plus footer that follow `body_bytes` of message data; `hasher` has seen
// exactly those body bytes.
std::string encode_trailer(const Envelope& envelope, std::uint64_t body_bytes,
                           QueueFileHasher& hasher);

// Parses an envelope record (without footer). Returns nullopt on any malformed line.
std::optional<Envelope> decode_envelope(std::string_view record);

// A committed queue file, opened for reading.
struct QueueFileInfo {
  Envelope envelope;
  QueueFileFormat format = kCurrentQueueFileFormat;
  std::string checksum_hex;
  std::uint64_t body_bytes = 0;
  std::uint64_t file_bytes = 0;
};

// Reads the footer and envelope of `path`. Errors: the file's errno, or
// std::errc::illegal_byte_sequence for a file that is not a complete queue file.
std::error_code read_queue_file_info(const std::string& path, QueueFileInfo& out);

// Recomputes the checksum of a queue file. std::errc::illegal_byte_sequence when it differs.
std::error_code verify_queue_file(const std::string& path, const QueueFileInfo& info);

// Reads message bytes [offset, offset + max_bytes) of a queue file, stopping at the body's end.
std::error_code read_body(const std::string& path, std::uint64_t body_bytes, std::string& out,
                          std::uint64_t max_bytes = UINT64_MAX);

// Reads only the header section (up to the first empty line) of a queue file's message.
std::error_code read_headers(const std::string& path, std::uint64_t body_bytes, std::string& out);

// Creates queue_dir, incoming/, messages/ and spare/ if missing and fsyncs what it created.
std::error_code ensure_queue_dirs(const QueuePaths& paths);

// Ids of the committed messages, sorted (so by arrival time).
std::vector<std::string> list_committed_ids(const QueuePaths& paths);

// Removes everything in incoming/: files left by a crash mid-receive or mid-commit. Returns how
// many were removed.
std::size_t remove_incoming_leftovers(const QueuePaths& paths);

// Moves messages/<id> into corrupt/ (created when missing), where it is kept for the admin and
// never delivered.
void quarantine_queue_file(const QueuePaths& paths, std::string_view id);

}  // namespace mailroom::spool
