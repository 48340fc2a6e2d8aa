// Builds DNS messages byte by byte (RFC 1035 4.1) for the parser tests and the scripted server.
// Names are written uncompressed; tests that need compression pointers write raw bytes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::dns::testing {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

inline void put32(Bytes& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}

// "mx.example.test" -> 2 m x 7 e x a m p l e 4 t e s t 0; "." -> 0.
inline Bytes wire_name(std::string_view name) {
  Bytes out;
  while (!name.empty() && name != ".") {
    auto dot = name.find('.');
    auto label = name.substr(0, dot);
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  }
  out.push_back(0);
  return out;
}

inline Bytes rdata_a(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return {a, b, c, d};
}

inline Bytes rdata_mx(std::uint16_t preference, std::string_view exchange) {
  Bytes out;
  put16(out, preference);
  Bytes name = wire_name(exchange);
  out.insert(out.end(), name.begin(), name.end());
  return out;
}

inline Bytes rdata_txt(std::initializer_list<std::string_view> strings) {
  Bytes out;
  for (auto s : strings) {
    out.push_back(static_cast<std::uint8_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

inline Bytes rdata_soa(std::uint32_t minimum) {
  Bytes out = wire_name("ns.example.test");
  Bytes rname = wire_name("hostmaster.example.test");
  out.insert(out.end(), rname.begin(), rname.end());
  for (std::uint32_t v : {2024u, 3600u, 600u, 86400u}) put32(out, v);
  put32(out, minimum);
  return out;
}

class PacketBuilder {
 public:
  // flags: 0x8180 is a response with RD and RA set and RCODE 0; OR in the RCODE.
  explicit PacketBuilder(std::uint16_t id = 0x1234, std::uint16_t flags = 0x8180)
      : id_(id), flags_(flags) {}

  PacketBuilder& question(std::string_view name, std::uint16_t type) {
    append(questions_, wire_name(name));
    put16(questions_, type);
    put16(questions_, 1);
    ++qdcount_;
    return *this;
  }
  PacketBuilder& answer(std::string_view owner, std::uint16_t type, std::uint32_t ttl,
                        const Bytes& rdata, std::uint16_t klass = 1) {
    record(answers_, owner, type, ttl, rdata, klass);
    ++ancount_;
    return *this;
  }
  PacketBuilder& authority(std::string_view owner, std::uint16_t type, std::uint32_t ttl,
                           const Bytes& rdata) {
    record(authority_, owner, type, ttl, rdata, 1);
    ++nscount_;
    return *this;
  }

  Bytes bytes() const {
    Bytes out;
    put16(out, id_);
    put16(out, flags_);
    put16(out, qdcount_);
    put16(out, ancount_);
    put16(out, nscount_);
    put16(out, 0);
    append(out, questions_);
    append(out, answers_);
    append(out, authority_);
    return out;
  }

 private:
  static void append(Bytes& out, const Bytes& more) {
    out.insert(out.end(), more.begin(), more.end());
  }
  static void record(Bytes& out, std::string_view owner, std::uint16_t type, std::uint32_t ttl,
                     const Bytes& rdata, std::uint16_t klass) {
    append(out, wire_name(owner));
    put16(out, type);
    put16(out, klass);
    put32(out, ttl);
    put16(out, static_cast<std::uint16_t>(rdata.size()));
    append(out, rdata);
  }

  std::uint16_t id_, flags_;
  std::uint16_t qdcount_ = 0, ancount_ = 0, nscount_ = 0;
  Bytes questions_, answers_, authority_;
};

// Test vectors are written as hex, as captured from dnsmasq 2.90.
inline Bytes from_hex(std::string_view hex) {
  Bytes out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  return out;
}

}  // namespace mailroom::dns::testing
