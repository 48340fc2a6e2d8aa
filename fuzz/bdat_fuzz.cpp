// Fuzzes the BDAT framer (smtp::BdatBody, RFC 3030): a message cut into chunks and reads at
// arbitrary points must get the same verdict as the same bytes judged whole by an independent,
// obviously-correct scan — bare CR/LF found wherever it falls (chunk edges, the last octet), the
// size counted exactly, the limit never passed unnoticed. Also fuzzes the BDAT argument parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/bdat.hpp"

using namespace mailroom::smtp;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

// The reference rule, on the whole message: every CR is followed by LF, every LF preceded by CR.
bool has_bare_newline(std::string_view m) {
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r' && (i + 1 == m.size() || m[i + 1] != '\n')) return true;
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) return true;
  }
  return false;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // First bytes: the size limit, BINARYMIME or not, and the cut pattern; the rest is the body.
  const std::uint64_t max = static_cast<std::uint64_t>(data[0]) * 8;
  const bool binary = data[1] & 1;
  unsigned step = data[2];
  std::string_view body(reinterpret_cast<const char*>(data + 3), size - 3);

  BdatBody framer(max, binary);
  std::string stored;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t len = step % 17;  // empty pieces too (BDAT 0)
    step = step * 1103515245u + 12345u;
    std::string_view piece = body.substr(pos, len);
    if (framer.add(piece)) stored.append(piece);
    pos += piece.size();
  }
  framer.finish();
  check(framer.size() == body.size());
  check(framer.too_big() == (body.size() > max));
  if (!framer.too_big()) check(stored == body);
  check(stored.size() <= max);
  check(framer.bare_newline() == (!binary && has_bare_newline(body)));

  // The same bytes as BDAT arguments: refused with 501, or a size that is exactly the first
  // blank-separated token's decimal value (the session trusts it to know how many raw bytes
  // follow), and LAST only when a second token is there.
  auto args = parse_bdat_args(body);
  if (!args.ok()) {
    check(args.error.code == 501);
  } else {
    const auto first = body.find_first_not_of(" \t");
    const auto first_end = body.find_first_of(" \t", first);
    check(parse_decimal_u64(body.substr(first, first_end - first)) == args.value->size);
    const bool second = first_end != std::string_view::npos &&
                        body.find_first_not_of(" \t", first_end) != std::string_view::npos;
    check(args.value->last == second);
  }
  return 0;
}
