// smtp/parse_result: the result of parsing something a client sent: either the parsed value or the
// exact reply to send back. Parsers in smtp/ return this instead of throwing, so a malformed
// command can never unwind through the session.
#pragma once

#include <optional>
#include <utility>

#include "smtp/reply.hpp"

namespace mailroom::smtp {

template <typename T>
struct ParseResult {
  std::optional<T> value;
  Reply error;  // meaningful only when !value

  bool ok() const { return value.has_value(); }
  static ParseResult success(T v) { return ParseResult{std::optional<T>(std::move(v)), Reply{}}; }
  static ParseResult failure(Reply r) { return ParseResult{std::nullopt, std::move(r)}; }
};

}  // namespace mailroom::smtp
