#include "smtp/ehlo_keywords.hpp"

#include <fmt/format.h>

namespace mailroom::smtp {

std::vector<std::string> ehlo_keywords(const Capabilities& caps) {
  std::vector<std::string> out;
  out.push_back(caps.max_size > 0 ? fmt::format("SIZE {}", caps.max_size) : "SIZE");
  out.emplace_back("PIPELINING");
  out.emplace_back("DSN");
  out.emplace_back("ENHANCEDSTATUSCODES");
  if (caps.starttls) out.emplace_back("STARTTLS");
  if (caps.auth) out.emplace_back("AUTH PLAIN LOGIN");
  out.emplace_back("8BITMIME");
  out.emplace_back("BINARYMIME");
  out.emplace_back("CHUNKING");
  out.emplace_back("SMTPUTF8");
  return out;
}

}  // namespace mailroom::smtp
