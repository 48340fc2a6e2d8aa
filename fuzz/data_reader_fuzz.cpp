// Fuzzes DATA framing: feeding the body in arbitrary splits must give exactly what feeding it
// whole gives (content, consumed length and every flag), and nothing may pass the size limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/data_reader.hpp"

using namespace mailroom::smtp;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

struct Snapshot {
  std::string out;
  std::size_t consumed = 0;
  bool done, too_big, bare, long_line;
  std::uint64_t size;
};

Snapshot finish(const DataReader& r, std::string out, std::size_t consumed) {
  return Snapshot{std::move(out),   consumed,          r.done(), r.too_big(),
                  r.bare_newline(), r.line_too_long(), r.size()};
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // First bytes pick the limits and the split pattern; the rest is the stream.
  DataLimits limits{static_cast<std::uint64_t>(data[0]) * 4, static_cast<std::size_t>(data[1])};
  std::uint8_t split_seed = data[2];
  std::string_view in(reinterpret_cast<const char*>(data + 3), size - 3);

  DataReader whole_reader(limits);
  std::string whole_out;
  std::size_t whole_consumed = whole_reader.feed(in, whole_out);
  Snapshot whole = finish(whole_reader, whole_out, whole_consumed);
  check(whole.consumed <= in.size());
  check(whole.done || whole.consumed == in.size());
  check(whole.out.size() <= limits.max_message_bytes);
  check(whole.out.size() <= whole.size);
  check(whole.too_big == (whole.size > limits.max_message_bytes));
  if (!whole.too_big) check(whole.out.size() == whole.size);
  if (whole.done) {
    check(whole.consumed >= 3);
    check(in.substr(whole.consumed - 3, 3) == ".\r\n");
    check(whole.consumed == 3 || in.substr(whole.consumed - 5, 2) == "\r\n");
  }

  DataReader split_reader(limits);
  std::string split_out;
  std::size_t consumed = 0;
  std::size_t pos = 0;
  unsigned step = split_seed;
  while (pos < in.size() && !split_reader.done()) {
    std::size_t len = 1 + step % 13;
    step = step * 1103515245u + 12345u;
    std::string_view part = in.substr(pos, len);
    std::size_t n = split_reader.feed(part, split_out);
    check(n <= part.size());
    check(n == part.size() || split_reader.done());
    consumed += n;
    pos += part.size();
  }
  Snapshot split = finish(split_reader, split_out, consumed);
  check(split.out == whole.out);
  check(split.consumed == whole.consumed);
  check(split.done == whole.done);
  check(split.too_big == whole.too_big);
  check(split.bare == whole.bare);
  check(split.long_line == whole.long_line);
  check(split.size == whole.size);
  return 0;
}
