#include "smtp/dot_stuffer.hpp"

namespace mailroom::smtp {

bool CrlfNormaliser::feed(std::string_view in, std::string& out) {
  if (refused_) return false;
  while (!in.empty()) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (in.front() == '\n') {
        out += "\r\n";
        at_line_start_ = true;
        in.remove_prefix(1);
        continue;
      }
      if (!bare(out)) return false;
    }
    std::size_t end = in.find_first_of("\r\n");
    emit(in.substr(0, end), out);
    if (end == std::string_view::npos) break;
    char c = in[end];
    in.remove_prefix(end + 1);
    if (c == '\r') {
      pending_cr_ = true;  // CRLF or bare CR: the next octet (maybe in the next feed) decides
    } else if (!bare(out)) {
      return false;
    }
  }
  return true;
}

bool CrlfNormaliser::finish(std::string& out) {
  if (refused_) return false;
  if (!pending_cr_) return true;
  pending_cr_ = false;
  return bare(out);
}

bool CrlfNormaliser::bare(std::string& out) {
  ++bare_line_ends_;
  if (policy_ == BareLineEnd::Refuse) {
    refused_ = true;
    return false;
  }
  out += "\r\n";
  at_line_start_ = true;
  return true;
}

void CrlfNormaliser::emit(std::string_view run, std::string& out) {
  if (run.empty()) return;
  // RFC 5321 4.5.2: a line starting with "." gets one more, so no content line reads as the end.
  if (stuff_dots_ && at_line_start_ && run.front() == '.') out.push_back('.');
  out.append(run);
  at_line_start_ = false;
}

bool DotStuffer::finish(std::string& out) {
  if (!CrlfNormaliser::finish(out)) return false;
  if (!at_line_start()) out += "\r\n";
  out += ".\r\n";
  return true;
}

std::string dot_stuff(std::string_view message) {
  DotStuffer stuffer;
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 5);
  stuffer.feed(message, out);
  stuffer.finish(out);
  return out;
}

}  // namespace mailroom::smtp
