// queue/queue_file: the on-disk form of one queued message, and the queue directory layout.
//
// Layout under queue_dir:
//   incoming/<id>   being received or being committed; never delivered; removed at start
//   messages/<id>   committed: the rename from incoming/ into messages/ is the commit marker
//   state.db        recipient states and admin commands (see state_db.hpp)
//   lock            flock()ed by the running server (see runtime.hpp)
//
// A queue file is written once and never modified afterwards:
//   <message bytes, CRLF, as received, Received: header included>
//   <envelope record: text lines "key value", values percent-escaped>
//   <footer, exactly kFooterBytes: "MAILROOM-QUEUE-V1 <body bytes:20> <envelope bytes:10>\n">
// The envelope goes last so a message that spilled to disk while being received is committed by
// appending to the same file, without copying the body. A file whose footer does not match its
// size is not a queue file (the commit protocol makes that impossible inside messages/; recovery
// logs and skips such a file rather than deliver a truncated message).
//
// Never writes outside queue_dir; never follows an id that is not a valid message id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "queue/queue.hpp"

namespace mailroom::queue {

inline constexpr std::size_t kFooterBytes = 50;

struct QueuePaths {
  explicit QueuePaths(std::string queue_dir);
  std::string root;
  std::string incoming_dir() const { return root + "/incoming"; }
  std::string messages_dir() const { return root + "/messages"; }
  std::string incoming_file(std::string_view id) const;
  std::string message_file(std::string_view id) const;
  std::string state_db() const { return root + "/state.db"; }
  std::string lock_file() const { return root + "/lock"; }
};

// The envelope record plus footer that follow `body_bytes` of message data.
std::string encode_trailer(const Envelope& envelope, std::uint64_t body_bytes);

// Parses an envelope record (without footer). Returns nullopt on any malformed line.
std::optional<Envelope> decode_envelope(std::string_view record);

// A committed queue file, opened for reading.
struct QueueFileInfo {
  Envelope envelope;
  std::uint64_t body_bytes = 0;
  std::uint64_t file_bytes = 0;
};

// Reads the footer and envelope of `path`. Errors: the file's errno, or
// std::errc::illegal_byte_sequence for a file that is not a complete queue file.
std::error_code read_queue_file_info(const std::string& path, QueueFileInfo& out);

// Reads message bytes [offset, offset + max_bytes) of a queue file, stopping at the body's end.
std::error_code read_body(const std::string& path, std::uint64_t body_bytes, std::string& out,
                          std::uint64_t max_bytes = UINT64_MAX);

// Reads only the header section (up to the first empty line) of a queue file's message.
std::error_code read_headers(const std::string& path, std::uint64_t body_bytes, std::string& out);

// Creates queue_dir, incoming/ and messages/ if missing and fsyncs what it created.
std::error_code ensure_queue_dirs(const QueuePaths& paths);

// Ids of the committed messages, sorted (so by arrival time).
std::vector<std::string> list_committed_ids(const QueuePaths& paths);

// Removes everything in incoming/: files left by a crash mid-receive or mid-commit. Returns how
// many were removed.
std::size_t remove_incoming_leftovers(const QueuePaths& paths);

// fsync() of a directory; the way to make a create, rename or unlink in it durable.
std::error_code fsync_directory(const std::string& dir);

}  // namespace mailroom::queue
