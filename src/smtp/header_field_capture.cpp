#include "smtp/header_field_capture.hpp"

#include "util/ascii.hpp"

namespace mailroom::smtp {

HeaderFieldCapture::HeaderFieldCapture(std::string field_name, std::size_t max_header_bytes)
    : name_(std::move(field_name)), max_header_bytes_(max_header_bytes) {}

void HeaderFieldCapture::feed(std::string_view in) {
  if (complete_) return;
  const auto room = max_header_bytes_ - header_.size();
  const auto old = header_.size();
  header_.append(in.substr(0, room));
  // The header section ends at the first empty line; look from just before the new bytes.
  const auto from = old >= 3 ? old - 3 : 0;
  auto end = header_.find("\r\n\r\n", from);
  if (end == std::string::npos && header_.rfind("\r\n", 1) == 0) end = 0;  // no header at all
  if (end != std::string::npos) {
    header_.resize(end + 2);
    complete_ = true;
  } else if (header_.size() >= max_header_bytes_) {
    complete_ = true;
  }
}

std::string HeaderFieldCapture::value() const {
  std::string_view h = header_;
  std::size_t pos = 0;
  while (pos < h.size()) {
    auto eol = h.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = h.size();
    auto line = h.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      auto name = line.substr(0, colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      if (util::iequals(name, name_)) {
        std::string v(line.substr(colon + 1));
        // Continuation lines start with white space (folding).
        auto next = eol + 2;
        while (next < h.size() && (h[next] == ' ' || h[next] == '\t')) {
          auto e2 = h.find("\r\n", next);
          if (e2 == std::string_view::npos) e2 = h.size();
          v += h.substr(next, e2 - next);
          next = e2 + 2;
        }
        auto b = v.find_first_not_of(" \t");
        if (b == std::string::npos) return "";
        auto e = v.find_last_not_of(" \t");
        v = v.substr(b, e - b + 1);
        if (v.size() > 998) v.resize(998);
        return v;
      }
    }
    pos = eol + 2;
  }
  return "";
}

}  // namespace mailroom::smtp
