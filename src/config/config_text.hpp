// config/config_text: what the configuration's raw text must be before toml++ reads it.
//
// TOML is UTF-8 (TOML 1.0 "Spec"). Debian's toml++ 3.3 reaches __builtin_unreachable (undefined
// behaviour: a crash or worse, in `mailroom serve` as in `check-config`) on some input, found by
// fuzz/config_fuzz.cpp and upstream (marzer/tomlplusplus#190, #295): its test for non-ASCII
// whitespace has no answer for U+00A1..U+0499 and is asked about any code point met where
// whitespace may stand. So before toml++ sees the text, check_config_text refuses, each with one
// line naming the place ("<source>:<line>:<column>: ... (byte offset N)"):
//   - bytes that are not well-formed UTF-8 (util/utf8.hpp);
//   - a non-ASCII character outside strings and comments (never valid TOML: keys, values and
//     whitespace outside strings are ASCII). A quote counts as opening a string only where a
//     key or value may begin (at a line's start, after = [ { , or .): toml++ takes a quote
//     anywhere else as part of the malformed token before it and reads on;
//   - in a multi-line basic string, a non-ASCII character right after a backslash, or as the
//     first character after a line-ending backslash. The first is never valid TOML; the second
//     is, but is exactly toml++'s bug #190, so it is refused with the way around it (\uXXXX).
// A UTF-8 byte order mark at the very start is allowed (toml++ skips it). Non-ASCII text inside
// strings and comments is untouched.
#pragma once

#include <string>
#include <string_view>

namespace mailroom::config {

// Throws ConfigError for the first problem found; returns when toml++ may parse the text.
void check_config_text(std::string_view text, const std::string& source_name);

}  // namespace mailroom::config
