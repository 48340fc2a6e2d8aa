// Fuzzes the EHLO capability parser (smtp::parse_ehlo_reply, RFC 5321 4.1.1.1): any reply gives
// a value; keywords do not depend on case; mechanisms are valid, uppercased and unique; every
// unknown line is one of the reply's lines; and what mailroom announces (ehlo_keywords) reads
// back as announced, whatever else the reply holds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/ehlo_capabilities.hpp"
#include "smtp/ehlo_keywords.hpp"
#include "util/ascii.hpp"

using namespace mailroom::smtp;
namespace util = mailroom::util;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

std::vector<std::string> split_lines(std::string_view in) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t lf = in.find('\n', start);
    out.emplace_back(in.substr(start, lf == std::string_view::npos ? lf : lf - start));
    if (lf == std::string_view::npos) return out;
    start = lf + 1;
  }
}

// Everything but the verbatim parts (greeting, unknown lines, mechanism spelling).
bool same_meaning(const EhloCapabilities& a, const EhloCapabilities& b) {
  return a.size == b.size && a.pipelining == b.pipelining && a.dsn == b.dsn &&
         a.enhanced_status_codes == b.enhanced_status_codes && a.starttls == b.starttls &&
         a.auth == b.auth && a.auth_mechanisms == b.auth_mechanisms &&
         a.eight_bit_mime == b.eight_bit_mime && a.binary_mime == b.binary_mime &&
         a.chunking == b.chunking && a.smtputf8 == b.smtputf8 &&
         a.unknown.size() == b.unknown.size();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  std::string_view in(reinterpret_cast<const char*>(data + 3), size - 3);
  Reply reply{250, "", split_lines(in)};
  EhloCapabilities caps = parse_ehlo_reply(reply);

  for (const auto& m : caps.auth_mechanisms) {
    check(!m.empty() && m.size() <= 20);
    for (char c : m)
      check(util::is_ascii_digit(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '_');
    std::size_t copies = 0;
    for (const auto& other : caps.auth_mechanisms) copies += other == m;
    check(copies == 1);
    check(caps.offers_auth(util::to_ascii_lower(m)));
  }
  if (!caps.auth_mechanisms.empty()) check(caps.auth);
  check(caps.unknown.size() < reply.lines.size());  // the first line is the greeting
  for (const auto& u : caps.unknown) {
    bool found = false;
    for (std::size_t i = 1; i < reply.lines.size() && !found; ++i) found = reply.lines[i] == u;
    check(found);
  }

  // Case does not matter for keywords (RFC 5321 2.4).
  Reply upper = reply, lower = reply;
  for (auto& l : upper.lines) l = util::to_ascii_upper(l);
  for (auto& l : lower.lines) l = util::to_ascii_lower(l);
  check(same_meaning(parse_ehlo_reply(upper), parse_ehlo_reply(lower)));

  // A non-2xx reply offers nothing.
  check(parse_ehlo_reply(Reply{500, "", reply.lines}) == EhloCapabilities{});

  // What mailroom announces reads back, with the fuzzed lines appended after it.
  Capabilities announced{static_cast<std::uint64_t>(data[0]) << (data[1] % 40), (data[2] & 1) != 0,
                         (data[2] & 2) != 0};
  Reply ours = replies::ehlo("mx.example.test", "192.0.2.1", ehlo_keywords(announced));
  EhloCapabilities back = parse_ehlo_reply(ours);
  check(back.size == announced.max_size);
  check(back.starttls == announced.starttls);
  check(back.auth == announced.auth);
  check(back.unknown.empty());
  ours.lines.insert(ours.lines.end(), reply.lines.begin() + 1, reply.lines.end());
  EhloCapabilities mixed = parse_ehlo_reply(ours);
  check(!announced.starttls || mixed.starttls);
  check(mixed.pipelining && mixed.chunking && mixed.smtputf8);
  return 0;
}
