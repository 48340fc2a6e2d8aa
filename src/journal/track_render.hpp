// journal/track_render: what `mailroom track` prints — a table of events, oldest first, then
// each message's final state per recipient (the last of DELIVER, SEND, FAIL, EXPIRE, DEFER,
// DELETE seen for it; "pending" when only RECEIVE is known) — or one JSON document:
//   {"messages": [{"id", "final": {recipient: state}, "events": [event objects as logged]}],
//    "damaged_lines": N, "files_read": N, "files_skipped": N}
// Also the --since parser. Pure: values in, text out.
// Never: prints control characters from the log (addresses and replies come from strangers).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "journal/track_reader.hpp"

namespace mailroom::journal {

std::string render_track_table(const TrackResult& result);
std::string render_track_json(const TrackResult& result);

// "2026-11-30", "2026-11-30T12:00[:00][Z]", "2026-11-30 12:00:00", or an age: "90s", "30m",
// "2h", "7d" before `now_unix`. -> Unix seconds; nullopt when unreadable.
std::optional<std::int64_t> parse_since(std::string_view text, std::int64_t now_unix);

}  // namespace mailroom::journal
