#include "spool/message_id.hpp"

#include <sodium.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

namespace mailroom::spool {
namespace {

constexpr std::string_view kAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";
std::atomic<std::uint32_t> g_counter{0};

void append_base32(std::string& out, std::uint64_t value, int chars) {
  for (int i = chars - 1; i >= 0; --i) out += kAlphabet[(value >> (5 * i)) & 31];
}

int base32_value(char c) {
  auto pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

MessageIdGenerator::MessageIdGenerator() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  process_random_ = randombytes_uniform(1u << 30);
}

std::string MessageIdGenerator::next() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return next_at(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
}

std::string MessageIdGenerator::next_at(std::uint64_t unix_us) {
  std::uint32_t counter = g_counter.fetch_add(1, std::memory_order_relaxed);
  std::string id;
  id.reserve(kMessageIdLength);
  append_base32(id, unix_us, 11);
  append_base32(id, counter, 4);
  append_base32(id, process_random_, 6);
  return id;
}

bool is_valid_message_id(std::string_view id) {
  if (id.size() != kMessageIdLength) return false;
  for (char c : id)
    if (base32_value(c) < 0) return false;
  return true;
}

std::string normalize_message_id(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>')
    text = text.substr(1, text.size() - 2);
  if (auto at = text.find('@'); at != std::string_view::npos) text = text.substr(0, at);
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::uint64_t message_id_time_us(std::string_view id) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 11 && i < id.size(); ++i) {
    int d = base32_value(id[i]);
    if (d < 0) return 0;
    v = (v << 5) | static_cast<std::uint64_t>(d);
  }
  return v;
}

std::string message_id_header_value(std::string_view id, std::string_view hostname) {
  std::string out = "<";
  out.append(id);
  out += '@';
  out.append(hostname);
  out += '>';
  return out;
}

}  // namespace mailroom::spool
