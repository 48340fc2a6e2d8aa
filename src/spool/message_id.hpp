// queue/message_id: globally unique, time-sortable message ids.
//
// An id is 21 characters of lowercase Crockford base32 (0-9, a-z without i, l, o, u):
//   11 characters  microseconds since the Unix epoch (55 bits, sorts by arrival time)
//    4 characters  a per-process counter (20 bits, wraps)
//    6 characters  30 random bits drawn once per process (libsodium), so two processes that
//                  start in the same microsecond still differ.
// The alphabet is in ascending ASCII order, so ids sort like their timestamps. Ids are safe as
// file names and as the local part of a Message-ID (RFC 5322 3.6.4 dot-atom-text).
// Never put anything secret or guessable-in-a-useful-way into an id: it is shown to clients.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailroom::spool {

inline constexpr std::size_t kMessageIdLength = 21;

class MessageIdGenerator {
 public:
  MessageIdGenerator();
  // Thread-safe.
  std::string next();
  std::string next_at(std::uint64_t unix_us);  // for tests: a chosen timestamp

 private:
  std::uint32_t process_random_;
};

// True when `id` has the shape next() produces; used before an id from the command line or a
// directory listing is turned into a path.
bool is_valid_message_id(std::string_view id);

// The queue id inside what a person pastes: "1k0y...", "<1k0y...@mx.example.test>" (the 250
// reply's form) or "1k0y...@mx.example.test", in any case (Crockford base32 ignores case).
// The host part is not checked: ids are globally unique, so a foreign id is simply not found.
// Returns the text lowercased and stripped; the caller still checks is_valid_message_id().
std::string normalize_message_id(std::string_view text);

// Microseconds since the epoch encoded in a valid id.
std::uint64_t message_id_time_us(std::string_view id);

// The RFC 5322 Message-ID form "<id@hostname>" (with angle brackets).
std::string message_id_header_value(std::string_view id, std::string_view hostname);

}  // namespace mailroom::spool
