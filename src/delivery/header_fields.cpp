#include "delivery/header_fields.hpp"

#include "util/ascii.hpp"

namespace mailroom::delivery {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Calls fn(name, full_field_text) for each header field (a line plus its continuation lines).
template <typename Fn>
void for_each_field(std::string_view headers, Fn fn) {
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t end = pos;
    do {
      auto nl = headers.find('\n', end);
      end = nl == std::string_view::npos ? headers.size() : nl + 1;
    } while (end < headers.size() && (headers[end] == ' ' || headers[end] == '\t'));
    std::string_view field = headers.substr(pos, end - pos);
    auto colon = field.find(':');
    fn(colon == std::string_view::npos ? std::string_view() : trim(field.substr(0, colon)), field);
    pos = end;
  }
}

}  // namespace

std::string without_return_path(std::string_view headers) {
  std::string out;
  out.reserve(headers.size());
  for_each_field(headers, [&](std::string_view name, std::string_view field) {
    if (!util::iequals(name, "Return-Path")) out.append(field);
  });
  return out;
}

bool has_delivered_to(std::string_view headers, std::string_view address) {
  bool found = false;
  for_each_field(headers, [&](std::string_view name, std::string_view field) {
    if (!util::iequals(name, "Delivered-To")) return;
    auto value = trim(field.substr(field.find(':') + 1));
    if (value.size() >= 2 && value.front() == '<' && value.back() == '>')
      value = value.substr(1, value.size() - 2);
    if (util::iequals(value, address)) found = true;
  });
  return found;
}

std::size_t count_fields(std::string_view headers, std::string_view name) {
  std::size_t n = 0;
  for_each_field(headers, [&](std::string_view field_name, std::string_view) {
    if (util::iequals(field_name, name)) ++n;
  });
  return n;
}

}  // namespace mailroom::delivery
