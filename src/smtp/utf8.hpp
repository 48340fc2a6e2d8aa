// smtp/utf8: well-formedness checks for the UTF-8 that RFC 6531 lets into addresses.
// Internal to smtp/. Never: accept overlong forms, surrogates or code points above U+10FFFF
// (RFC 3629 4), which would let two different byte strings name the same mailbox.
#pragma once

#include <cstddef>
#include <string_view>

namespace mailroom::smtp {

// Length of the well-formed non-ASCII UTF-8 sequence starting at text[pos], or 0 if the bytes
// there are not one (including when text[pos] is ASCII).
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos);

// True if every byte is ASCII or part of a well-formed UTF-8 sequence.
bool is_well_formed_utf8(std::string_view text);

bool is_ascii(std::string_view text);

}  // namespace mailroom::smtp
