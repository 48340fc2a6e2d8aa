// Fuzzes the client's reply parser (smtp::ReplyParser, RFC 5321 4.2): bytes fed whole or in
// arbitrary pieces give the same replies and the same error; nothing exceeds the limits; reply
// text never holds CR, LF or NUL; and every parsed reply survives Reply::wire() and back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply_parser.hpp"

using namespace mailroom::smtp;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

struct Outcome {
  std::vector<ReceivedReply> replies;
  std::optional<ReplyParseError> error;
};

Outcome drain(ReplyParser& p) {
  Outcome o;
  while (auto r = p.next()) o.replies.push_back(std::move(*r));
  o.error = p.error();
  return o;
}

bool same_error(const std::optional<ReplyParseError>& a, const std::optional<ReplyParseError>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->kind == b->kind && a->line_number == b->line_number && a->reply_code == b->reply_code &&
         a->excerpt == b->excerpt;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // First bytes pick the limits and the cut pattern; the rest is what the server sent.
  ReplyLimits limits{std::size_t{4} + data[0] * 4u, std::size_t{1} + data[1] % 32};
  unsigned step = data[2];
  std::string_view in(reinterpret_cast<const char*>(data + 3), size - 3);

  ReplyParser whole_parser(limits);
  whole_parser.feed(in);
  Outcome whole = drain(whole_parser);

  ReplyParser split_parser(limits);
  std::size_t pos = 0;
  std::vector<ReceivedReply> taken;
  while (pos < in.size()) {
    std::size_t len = step % 23;  // empty pieces too
    step = step * 1103515245u + 12345u;
    split_parser.feed(in.substr(pos, len));
    pos += std::min(len, in.size() - pos);
    if (step & 0x100) {  // take replies as they complete, sometimes
      while (auto r = split_parser.next()) taken.push_back(std::move(*r));
    }
  }
  Outcome split = drain(split_parser);
  taken.insert(taken.end(), split.replies.begin(), split.replies.end());

  check(taken.size() == whole.replies.size());
  check(same_error(split.error, whole.error));
  for (std::size_t i = 0; i < taken.size(); ++i) {
    check(taken[i].reply == whole.replies[i].reply);
    check(taken[i].raw_lines == whole.replies[i].raw_lines);
  }
  if (whole.error) {
    check(whole.error->excerpt.size() <= 80);
    check(!whole_parser.mid_reply());
  }

  for (const auto& r : whole.replies) {
    const Reply& reply = r.reply;
    check(reply.code >= 200 && reply.code <= 599);
    check(!reply.lines.empty() && reply.lines.size() <= limits.max_lines);
    check(r.raw_lines.size() == reply.lines.size());
    for (const auto& raw : r.raw_lines) check(raw.size() <= limits.max_line_bytes);
    for (const auto& line : reply.lines) {
      check(line.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    }
    if (!reply.enhanced.empty()) check(reply.enhanced[0] - '0' == reply.code / 100);
    // The inverse of Reply::wire(): what was parsed is rendered and parsed back unchanged.
    ReplyParser again(ReplyLimits{limits.max_line_bytes + 16, limits.max_lines});
    again.feed(reply.wire());
    auto back = again.next();
    check(back.has_value() && !again.error() && again.ready() == 0);
    check(back->reply == reply);
  }
  return 0;
}
