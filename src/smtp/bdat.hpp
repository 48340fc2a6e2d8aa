// smtp/bdat: arguments of the BDAT command (RFC 3030 2, 4): "BDAT" SP chunk-size [SP "LAST"],
// and the body those chunks build (BdatBody).
//
// Never: accept a size that does not fit in 64 bits, a sign, or trailing tokens; the session
// trusts `size` to know how many raw bytes follow. BdatBody never judges a message by how it was
// cut into chunks or reads: a bare CR or LF split across chunks, or a CR that is the message's
// last octet, is found exactly as in a message sent whole (SMTP smuggling, CVE-2023-51764).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "smtp/parse_result.hpp"

namespace mailroom::smtp {

struct BdatArgs {
  std::uint64_t size = 0;
  bool last = false;
};

// "1000", "0 LAST", "1000 last"; anything else -> replies::invalid_arguments() (501 5.5.4).
ParseResult<BdatArgs> parse_bdat_args(std::string_view args);

// The chunk size a BDAT line announces, valid or not as a whole: its first token when that is a
// chunk-size ("5 LAST EXTRA" -> 5), so a session can skip that chunk and go on; nullopt when the
// size is unknown ("abc", "-5", "" or past 64 bits) and chunk bytes cannot be told from commands.
std::optional<std::uint64_t> announced_chunk_size(std::string_view args);

// The message a BDAT transaction builds, fed the chunk bytes in any pieces. Chunk contents are
// data, never commands: they are only measured and scanned. Unless BODY=BINARYMIME, a CR not
// followed by LF or an LF not preceded by CR marks the message for refusal (the same rule as
// DATA, smtp/data_reader.hpp). Past max_bytes the message is too big and no more is taken.
class BdatBody {
 public:
  BdatBody() = default;
  BdatBody(std::uint64_t max_bytes, bool binary) : max_bytes_(max_bytes), binary_(binary) {}

  // Takes the next piece; returns false when the message is (now) too big: store nothing more.
  bool add(std::string_view piece);
  // After the LAST chunk: a pending CR at the very end is a bare CR.
  void finish();

  std::uint64_t size() const { return size_; }  // every octet received, stored or not
  bool too_big() const { return size_ > max_bytes_; }
  bool bare_newline() const { return bare_newline_; }

 private:
  std::uint64_t max_bytes_ = 0;
  bool binary_ = false;
  std::uint64_t size_ = 0;
  bool pending_cr_ = false;
  bool bare_newline_ = false;
};

// 1 to 20 ASCII digits that fit in uint64_t; nullopt otherwise. Shared by SIZE= and BDAT.
std::optional<std::uint64_t> parse_decimal_u64(std::string_view digits);

}  // namespace mailroom::smtp
