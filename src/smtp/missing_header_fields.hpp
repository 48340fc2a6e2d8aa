// smtp/missing_header_fields: RFC 6409 8.2-8.3 for a message submission agent — a message that
// an authenticated user submits without Date: or Message-ID: gets them, as Postfix's
// always_add_missing_headers and every MSA does; mail relayed from other MTAs is left alone.
//
// Streaming: the message passes through feed(); the header section (up to its empty line, RFC
// 5322 2.1) is held back until it is complete, then written with the missing fields prepended.
// A header section longer than `max_header_bytes` is let through unchanged (nothing can be
// inserted after bytes already written), and so is everything after the header section.
// Pure: bytes in, bytes out; the caller supplies the field values.
// Never: alters a byte of the message beyond inserting the two fields before its first header.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailroom::smtp {

class MissingHeaderFields {
 public:
  // `date` and `message_id` are the values to use ("Mon, 30 Nov 2026 12:00:00 +0000",
  // "<id@host>").
  MissingHeaderFields(std::string date, std::string message_id,
                      std::size_t max_header_bytes = 65536);

  // Appends to `out` the bytes that may be written now.
  void feed(std::string_view in, std::string& out);
  // End of the message: whatever is still held (a message that is all header section).
  void finish(std::string& out);

  bool added_date() const { return added_date_; }
  bool added_message_id() const { return added_message_id_; }

 private:
  void release(std::string& out, bool complete);

  std::string date_;
  std::string message_id_;
  std::size_t max_header_bytes_;
  std::string held_;
  bool passing_ = false;  // the header section is out: everything else passes through
  bool added_date_ = false;
  bool added_message_id_ = false;
};

}  // namespace mailroom::smtp
