// Arbitrary bytes as a DNS response: the parser must never read out of bounds or loop, every name
// it returns must be at most 255 octets of presentation text without raw control octets, and
// interpreting the message for each question type must not crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dns/answer.hpp"
#include "dns/wire.hpp"

using namespace mailroom::dns;

namespace {

void check_name(const std::string& name) {
  // Escaped presentation form ("\DDD") may take up to four octets per wire octet.
  if (name.size() > 4 * 255) std::abort();
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto message = parse_message(std::span<const std::uint8_t>(data, size));
  if (!message) return 0;
  check_name(message->question_name);
  for (const auto* section : {&message->answers, &message->authority}) {
    for (const auto& rr : *section) {
      check_name(rr.owner);
      if (auto* target = std::get_if<std::string>(&rr.data)) check_name(*target);
      if (auto* mx = std::get_if<MxData>(&rr.data)) check_name(mx->exchange);
    }
  }
  for (RrType type : {RrType::A, RrType::AAAA, RrType::MX, RrType::TXT, RrType::PTR})
    (void)interpret_response(*message, message->question_name, type, {});
  return 0;
}
