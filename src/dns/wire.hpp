// dns/wire: a DNS response as sent by a server, parsed into records (RFC 1035 4.1, 3.3).
//
// We parse answers ourselves instead of with c-ares 1.18's ares_parse_*_reply: those drop TTLs
// (except for A/AAAA), the RCODE and the authority section, and a mail system needs all three
// (cache lifetimes, NXDOMAIN vs NODATA, the SOA that bounds a negative answer, RFC 2308 5).
//
// Names come out in presentation form: ASCII-lowercased (names compare case-insensitively,
// RFC 4343), without the trailing dot ("." for the root), with '.', '\' and non-printable
// octets inside a label escaped as "\.", "\\" and "\DDD" so a hostile label cannot pose as two.
// TTLs with the top bit set read as 0 (RFC 2181 8). Only class IN records are kept.
//
// Never: read past the buffer, follow a compression pointer that does not point strictly
// backwards (so decoding a name always ends), or accept a name longer than 255 octets.
#pragma once

#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace mailroom::dns {

// Any 16-bit type value is valid (RFC 3597); these are the ones decoded below.
enum class RrType : std::uint16_t {
  A = 1,
  NS = 2,
  CNAME = 5,
  SOA = 6,
  PTR = 12,
  MX = 15,
  TXT = 16,
  AAAA = 28,
};

// "MX", "AAAA", or "TYPE52" for types without a name here (RFC 3597 5).
std::string to_string(RrType type);

struct MxData {
  std::uint16_t preference = 0;
  std::string exchange;  // "." for a null MX (RFC 7505)
  bool operator==(const MxData&) const = default;
};

struct TxtData {
  std::vector<std::string> strings;  // the character-strings, each at most 255 octets
  // SPF (RFC 7208 3.3) and DKIM (RFC 6376 3.6.2.2) read a record as its strings concatenated.
  std::string joined() const;
  bool operator==(const TxtData&) const = default;
};

struct SoaData {
  std::string mname;
  std::string rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
  bool operator==(const SoaData&) const = default;
};

// Decoded RDATA: std::string is the target name of CNAME, PTR and NS; monostate means a type
// not decoded here (its bytes are in ResourceRecord::rdata).
using RecordData = std::variant<std::monostate, asio::ip::address_v4, asio::ip::address_v6,
                                std::string, MxData, TxtData, SoaData>;

struct ResourceRecord {
  std::string owner;
  RrType type = RrType::A;
  std::uint32_t ttl_s = 0;
  RecordData data;
  std::vector<std::uint8_t> rdata;  // as sent: names inside may be compression pointers
};

struct Message {
  std::uint16_t id = 0;
  std::uint8_t rcode = 0;  // RFC 1035 4.1.1: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED...
  bool truncated = false;
  std::string question_name;  // empty when the response carries no question
  RrType question_type = RrType::A;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  // The additional section is not parsed: nothing in it is trusted (RFC 2181 5.4.1).
};

inline constexpr std::uint8_t kRcodeNoError = 0;
inline constexpr std::uint8_t kRcodeServFail = 2;
inline constexpr std::uint8_t kRcodeNxDomain = 3;
inline constexpr std::uint8_t kRcodeRefused = 5;

// nullopt when the bytes are not a well-formed response up to the end of its authority section.
std::optional<Message> parse_message(std::span<const std::uint8_t> bytes);

}  // namespace mailroom::dns
