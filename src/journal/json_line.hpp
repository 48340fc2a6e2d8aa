// journal/json_line: one flat JSON object written straight into a string, for the tracking log's
// lines: string, unsigned and string-array values, no spaces, strings escaped as RFC 8259 asks
// (", \, control characters) with UTF-8 kept as it is and each byte that starts no well-formed
// UTF-8 sequence replaced by U+FFFD, since addresses and replies come from clients and peers.
// Two such lines are written per message; building a nlohmann::json tree for each cost more
// than the rest of the tracking log (bench/ANALYSIS.md). The readers still parse with nlohmann.
// Never: keys out of ascending byte order (add() throws std::logic_error): track_reader finds
// "id" without parsing because the keys are sorted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::journal {

class JsonLine {
 public:
  JsonLine& add(std::string_view key, std::string_view value);
  JsonLine& add(std::string_view key, std::uint64_t value);
  JsonLine& add(std::string_view key, const std::vector<std::string>& values);
  // The object, closed and followed by "\n"; the builder is empty afterwards.
  std::string finish();

 private:
  void key(std::string_view k);
  std::string out_ = "{";
  std::string last_key_;
};

// `text` as a JSON string literal (quotes included) appended to `out`.
void append_json_string(std::string& out, std::string_view text);

}  // namespace mailroom::journal
