// Fuzzes what `mailroom track` does with each line of a tracking log, and the protocol log's
// escaping: a damaged line is rejected, never a crash; a line that parses survives a round
// trip (formatted again, it parses to the same event); escaped text is printable ASCII only;
// a redacted AUTH command keeps nothing after its mechanism.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "journal/protocol_log.hpp"
#include "journal/track_reader.hpp"
#include "journal/tracking_event.hpp"

using namespace mailroom::journal;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

bool valid_utf8(std::string_view s) {
  // nlohmann replaces invalid UTF-8 on output; compare only fields that were valid.
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)looks_like_object(in);
  if (auto e = parse_tracking_line(in)) {
    auto again = format_tracking_line(*e);
    check(!again.empty() && again.back() == '\n');
    check(again.find('\n') == again.size() - 1);  // one line, whatever the fields held
    auto back = parse_tracking_line(std::string_view(again).substr(0, again.size() - 1));
    check(back.has_value());
    check(back->event == e->event || !valid_utf8(e->event));
    if (valid_utf8(e->id)) check(back->id == e->id);
    if (valid_utf8(e->recipient)) check(back->recipient == e->recipient);
    check(back->recipients.size() == e->recipients.size());
  }
  for (unsigned char c : escape_bytes(in)) check(c >= 0x20 && c <= 0x7e);
  auto redacted = redact_command(in);
  if (redacted.size() >= 9 && redacted.compare(redacted.size() - 9, 9, " <secret>") == 0)
    check(redacted.size() <= in.size() + 9);
  return 0;
}
