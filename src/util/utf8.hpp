// util/utf8: well-formedness of UTF-8 (RFC 3629). Never: accept overlong forms, surrogates or
// code points above U+10FFFF, which would let two different byte strings name the same thing
// (a mailbox in smtp/, a key in config/).
#pragma once

#include <cstddef>
#include <string_view>

namespace mailroom::util {

// Length of the well-formed non-ASCII UTF-8 sequence starting at text[pos], or 0 if the bytes
// there are not one (including when text[pos] is ASCII).
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos);

// True if every byte is ASCII or part of a well-formed UTF-8 sequence.
bool is_well_formed_utf8(std::string_view text);

bool is_ascii(std::string_view text);

}  // namespace mailroom::util
