#include "smtp/bdat.hpp"

#include <limits>

#include "util/ascii.hpp"

namespace mailroom::smtp {

std::optional<std::uint64_t> parse_decimal_u64(std::string_view digits) {
  if (digits.empty() || digits.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (value > (kMax - d) / 10) return std::nullopt;
    value = value * 10 + d;
  }
  return value;
}

namespace {

// The next blank-separated token of `args`, consumed.
std::string_view next_token(std::string_view& args) {
  while (!args.empty() && (args.front() == ' ' || args.front() == '\t')) args.remove_prefix(1);
  std::size_t end = 0;
  while (end < args.size() && args[end] != ' ' && args[end] != '\t') ++end;
  std::string_view token = args.substr(0, end);
  args.remove_prefix(end);
  return token;
}

}  // namespace

std::optional<std::uint64_t> announced_chunk_size(std::string_view args) {
  return parse_decimal_u64(next_token(args));
}

ParseResult<BdatArgs> parse_bdat_args(std::string_view args) {
  // bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF (RFC 3030 4); runs of blanks are
  // tolerated between the tokens, nothing else is.
  auto size = parse_decimal_u64(next_token(args));
  if (!size) return ParseResult<BdatArgs>::failure(replies::invalid_arguments());
  BdatArgs result{*size, false};
  std::string_view marker = next_token(args);
  if (!marker.empty()) {
    if (!util::iequals(marker, "LAST"))
      return ParseResult<BdatArgs>::failure(replies::invalid_arguments());
    result.last = true;
  }
  if (!next_token(args).empty())
    return ParseResult<BdatArgs>::failure(replies::invalid_arguments());
  return ParseResult<BdatArgs>::success(result);
}

bool BdatBody::add(std::string_view piece) {
  if (!binary_) {
    for (char c : piece) {
      if ((pending_cr_ && c != '\n') || (c == '\n' && !pending_cr_)) bare_newline_ = true;
      pending_cr_ = c == '\r';
    }
  }
  // Saturating: a lying client cannot wrap the count back under the limit.
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  size_ = piece.size() > kMax - size_ ? kMax : size_ + piece.size();
  return !too_big();
}

void BdatBody::finish() {
  if (pending_cr_) bare_newline_ = true;
  pending_cr_ = false;
}

}  // namespace mailroom::smtp
