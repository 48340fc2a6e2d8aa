// smtp/header_field_capture: the value of one header field (RFC 5322 2.2) of a message as it
// streams past, for logs (the tracking log's Message-ID). Only the header section is kept, and
// at most `max_header_bytes` of it; folded values are unfolded (2.2.3), the first occurrence
// wins, and the value is cut at 998 octets (2.1.1's line limit).
// Pure: bytes in, a string out. Never: keeps anything past the header section.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailroom::smtp {

class HeaderFieldCapture {
 public:
  explicit HeaderFieldCapture(std::string field_name, std::size_t max_header_bytes = 65536);
  void feed(std::string_view message_bytes);
  // The value, trimmed of surrounding white space; empty when the field is absent.
  std::string value() const;

 private:
  std::string name_;
  std::size_t max_header_bytes_;
  std::string header_;
  bool complete_ = false;
};

}  // namespace mailroom::smtp
