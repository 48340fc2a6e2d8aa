// smtp/utf8: well-formedness checks for the UTF-8 that RFC 6531 lets into addresses; the checks
// themselves are util/utf8.hpp's (config/ validates its text with the same code).
#pragma once

#include "util/utf8.hpp"

namespace mailroom::smtp {

using util::is_ascii;
using util::is_well_formed_utf8;
using util::utf8_sequence_length;

}  // namespace mailroom::smtp
