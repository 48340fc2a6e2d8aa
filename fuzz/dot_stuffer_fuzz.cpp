// Fuzzes the DATA writer (smtp::DotStuffer, RFC 5321 4.5.2): any message, cut anywhere, gives the
// same wire bytes; those bytes hold no bare CR or LF and end exactly once, at the end, for
// DataReader; DataReader gives back the message (with bare line ends made CRLF and a final CRLF
// added when missing). In Refuse mode nothing after the first bare CR/LF is written.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/data_reader.hpp"
#include "smtp/dot_stuffer.hpp"

using namespace mailroom::smtp;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

// The reference rule, on the whole message: every bare CR and every bare LF becomes CRLF.
std::string normalised(std::string_view m) {
  std::string out;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r') {
      out += "\r\n";
      if (i + 1 < m.size() && m[i + 1] == '\n') ++i;
    } else if (m[i] == '\n') {
      out += "\r\n";
    } else {
      out.push_back(m[i]);
    }
  }
  return out;
}

std::size_t first_bare(std::string_view m) {
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r' && (i + 1 == m.size() || m[i + 1] != '\n')) return i;
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) return i;
  }
  return std::string_view::npos;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  unsigned step = data[0];
  std::string_view m(reinterpret_cast<const char*>(data + 1), size - 1);

  DotStuffer stuffer;
  std::string wire;
  for (std::size_t pos = 0; pos < m.size();) {
    std::size_t len = step % 11;
    step = step * 1103515245u + 12345u;
    check(stuffer.feed(m.substr(pos, len), wire));
    pos += std::min(len, m.size() - pos);
  }
  check(stuffer.finish(wire));
  check(wire == dot_stuff(m));

  DataReader reader(DataLimits{1u << 30, 1u << 30});
  std::string back;
  check(reader.feed(wire, back) == wire.size());
  check(reader.done() && !reader.bare_newline());
  std::string want = normalised(m);
  if (!want.empty() && want.back() != '\n') want += "\r\n";  // normalised: LF ends CRLF
  check(back == want);

  // Refuse: output is the stuffed form of the clean prefix, cut where the bare CR/LF was.
  std::size_t bare = first_bare(m);
  DotStuffer strict(BareLineEnd::Refuse);
  std::string strict_wire;
  bool ok = strict.feed(m, strict_wire) && strict.finish(strict_wire);
  check(ok == (bare == std::string_view::npos));
  if (ok) {
    check(strict_wire == wire);
  } else {
    check(strict.refused());
    DotStuffer prefix;
    std::string prefix_wire;
    prefix.feed(m.substr(0, bare), prefix_wire);
    check(strict_wire == prefix_wire);
  }
  return 0;
}
