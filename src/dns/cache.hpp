// dns/cache: answers kept for as long as their TTL allows (RFC 1035 3.2.1, RFC 2181 8), the
// negative ones too (NXDOMAIN and NODATA, RFC 2308 5), in a bounded least-recently-used table.
//
// Only answers about the name are stored: Ok, NoData, NxDomain with a TTL above zero (a zero TTL
// means "use once", RFC 1035 3.2.1). Temporary failures are not cached: the next delivery attempt
// asks again (RFC 2308 7 allows caching SERVFAIL for 5 minutes; one query per retry costs little).
// Time comes from an injectable clock so tests need not sleep.
// Never: return an answer past its TTL, or grow past max_entries.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dns/answer.hpp"

namespace mailroom::dns {

using Clock = std::function<std::chrono::steady_clock::time_point()>;

class AnswerCache {
 public:
  // max_entries 0 disables the cache. An empty clock means std::chrono::steady_clock::now.
  AnswerCache(std::size_t max_entries, Clock clock);

  // The stored answer with ttl_s (and each record's TTL) lowered by the time it has spent here,
  // from_cache set; nullopt when absent or expired (an expired entry is dropped).
  std::optional<Answer> find(std::string_view name, RrType type);
  void store(const Answer& answer);
  std::size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string key;
    Answer answer;
    std::chrono::steady_clock::time_point stored_at;
    std::chrono::steady_clock::time_point expires_at;
  };
  static std::string key_of(std::string_view name, RrType type);

  std::size_t max_entries_;
  Clock clock_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace mailroom::dns
