#include "smtp/missing_header_fields.hpp"

#include "util/ascii.hpp"

namespace mailroom::smtp {
namespace {

// True when a line at `pos` of the header section starts the field `name` ("Date").
bool has_field(std::string_view headers, std::string_view name) {
  std::size_t pos = 0;
  while (pos < headers.size()) {
    auto line = headers.substr(pos, headers.find('\n', pos) - pos);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        util::iequals(line.substr(0, name.size()), name))
      return true;
    auto nl = headers.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return false;
}

}  // namespace

MissingHeaderFields::MissingHeaderFields(std::string date, std::string message_id,
                                         std::size_t max_header_bytes)
    : date_(std::move(date)),
      message_id_(std::move(message_id)),
      max_header_bytes_(max_header_bytes) {}

void MissingHeaderFields::feed(std::string_view in, std::string& out) {
  if (passing_) {
    out.append(in);
    return;
  }
  const std::size_t searched = held_.size() >= 3 ? held_.size() - 3 : 0;
  held_.append(in);
  // The header section ends at the first empty line; a message may also start with one.
  std::size_t end = std::string::npos;
  if (held_.compare(0, 2, "\r\n") == 0) {
    end = 0;
  } else if (auto blank = held_.find("\r\n\r\n", searched); blank != std::string::npos) {
    end = blank + 2;
  }
  if (end != std::string::npos) {
    release(out, end <= max_header_bytes_);
    return;
  }
  if (held_.size() > max_header_bytes_) release(out, false);
}

void MissingHeaderFields::finish(std::string& out) {
  if (!passing_) release(out, true);
}

void MissingHeaderFields::release(std::string& out, bool complete) {
  passing_ = true;
  if (complete) {
    auto end = held_.compare(0, 2, "\r\n") == 0 ? 0 : held_.find("\r\n\r\n");
    std::string_view headers(held_.data(), end == std::string::npos ? held_.size() : end);
    if (!has_field(headers, "Date")) {
      out += "Date: " + date_ + "\r\n";
      added_date_ = true;
    }
    if (!has_field(headers, "Message-ID")) {
      out += "Message-ID: " + message_id_ + "\r\n";
      added_message_id_ = true;
    }
  }
  out += held_;
  std::string().swap(held_);
}

}  // namespace mailroom::smtp
