// Fuzzes the command path a client controls: line framing, verb split and every argument parser,
// checking that a parsed address survives its canonical round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/auth.hpp"
#include "smtp/bdat.hpp"
#include "smtp/command.hpp"
#include "smtp/line_buffer.hpp"
#include "smtp/mail_args.hpp"

using namespace mailroom::smtp;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

template <typename T>
void check_outcome(const ParseResult<T>& o) {
  if (!o.ok()) check(o.error.code >= 500 && o.error.code < 600 && !o.error.lines.empty());
}

void check_round_trip(const Address& a, bool recipient) {
  if (a.is_null) return;
  std::string text = (recipient ? "TO:<" : "FROM:<") + a.str() + "> SMTPUTF8";
  Address again;
  if (recipient) {
    auto r = parse_rcpt_args("TO:<" + a.str() + ">", true);
    check(r.ok());
    again = r.value->recipient;
  } else {
    auto r = parse_mail_args(text);
    check(r.ok());
    again = r.value->sender;
  }
  check(again.local_part == a.local_part);
  check(again.domain == a.domain);
  check(again.utf8 == a.utf8);
}

void parse_line(std::string_view line) {
  Command cmd = parse_command(line);
  (void)contains_forbidden_bytes(line);
  check(cmd.args.size() <= line.size());
  auto mail = parse_mail_args(cmd.args);
  check_outcome(mail);
  if (mail.ok()) check_round_trip(mail.value->sender, false);
  for (bool utf8 : {false, true}) {
    auto rcpt = parse_rcpt_args(cmd.args, utf8);
    check_outcome(rcpt);
    if (rcpt.ok()) {
      check(utf8 || !rcpt.value->recipient.utf8);
      if (!rcpt.value->recipient.domain.empty()) check_round_trip(rcpt.value->recipient, true);
    }
  }
  check_outcome(parse_bdat_args(cmd.args));
  check_outcome(parse_auth_args(cmd.args));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  parse_line(input);

  // The same bytes as a pipelined stream: framing in 7-byte reads must give the same lines as
  // framing the whole input at once, and memory stays bounded.
  constexpr std::size_t kMaxLine = 64, kChunk = 7;
  std::vector<LineBuffer::Line> chunked;
  LineBuffer lines(kMaxLine);
  for (std::size_t pos = 0; pos < input.size(); pos += kChunk) {
    lines.append(input.substr(pos, kChunk));
    check(lines.buffered() <= kMaxLine + 1 + kChunk);
    while (auto line = lines.next_line()) {
      check(line->text.size() <= kMaxLine);
      parse_line(line->text);
      chunked.push_back(std::move(*line));
    }
  }
  LineBuffer whole(kMaxLine);
  whole.append(input);
  std::size_t i = 0;
  while (auto line = whole.next_line()) {
    check(i < chunked.size());
    check(line->text == chunked[i].text && line->too_long == chunked[i].too_long);
    ++i;
  }
  check(i == chunked.size());
  return 0;
}
