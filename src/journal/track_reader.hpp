// journal/track_reader: answers `mailroom track` from the tracking log files in a directory.
//
// A message is found by its queue id, or by filters on its RECEIVE event (Message-ID header,
// sender, a recipient, a start time); then every event of each message found is gathered, and
// of the DSNs it caused, one level down. For speed on a month of logs, a file is read only if
// it can hold the id: a closed file's sidecar index (journal/rotating_file) gives its time range
// and its queue ids, and a queue id embeds its arrival time (spool/message_id), so files that end
// before the message arrived, or whose index lacks its id, are skipped; files without an index
// are read whole. Within a file read for ids, only lines holding an id are parsed.
// Damaged lines (not a JSON object of the expected shape: a crash mid-write, a disk error,
// editing) are skipped and counted, never fatal. Lines that do not even look like an object
// ("{...}") are counted wherever they are read; lines that look like one only when parsed.
// Never: writes to the directory; throws on file contents.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "journal/tracking_event.hpp"

namespace mailroom::journal {

struct TrackQuery {
  std::string id;                 // queue id, normalised (lowercase)
  std::int64_t id_time_unix = 0;  // its arrival time (from the id), 0: unknown
  std::string message_id;         // Message-ID header, with or without <>
  std::string from;               // envelope sender (case-insensitive)
  std::string to;                 // a recipient (case-insensitive)
  std::string since;              // "2026-11-30T12:00:00.000Z": events at or after it
  std::int64_t since_unix = 0;    // the same instant
};

struct TrackResult {
  std::vector<TrackingEvent> events;  // by time
  std::uint64_t damaged_lines = 0;
  std::uint64_t files_read = 0;
  std::uint64_t files_skipped = 0;
  std::uint64_t bytes_read = 0;
};

TrackResult track(const std::string& directory, const TrackQuery& query);

// Exposed for tests and the fuzz target: the cheap shape test applied to every line read.
bool looks_like_object(std::string_view line);

}  // namespace mailroom::journal
