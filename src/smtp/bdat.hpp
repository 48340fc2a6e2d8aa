// smtp/bdat: arguments of the BDAT command (RFC 3030 2, 4): "BDAT" SP chunk-size [SP "LAST"].
//
// Never: accept a size that does not fit in 64 bits, a sign, or trailing tokens; the session
// trusts `size` to know how many raw bytes follow.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "smtp/outcome.hpp"

namespace mailroom::smtp {

struct BdatArgs {
  std::uint64_t size = 0;
  bool last = false;
};

// "1000", "0 LAST", "1000 last"; anything else -> replies::invalid_arguments() (501 5.5.4).
Outcome<BdatArgs> parse_bdat_args(std::string_view args);

// 1 to 20 ASCII digits that fit in uint64_t; nullopt otherwise. Shared by SIZE= and BDAT.
std::optional<std::uint64_t> parse_decimal_u64(std::string_view digits);

}  // namespace mailroom::smtp
