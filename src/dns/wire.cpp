#include "dns/wire.hpp"

#include <array>

#include "util/ascii.hpp"

namespace mailroom::dns {
namespace {

constexpr std::size_t kHeaderBytes = 12;
constexpr std::size_t kMaxNameOctets = 255;  // RFC 1035 3.1, wire form including length octets
constexpr std::uint16_t kClassIn = 1;

// A cursor over the whole message: names inside RDATA point anywhere before them.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::size_t pos() const { return pos_; }
  void seek(std::size_t pos) { pos_ = pos; }
  bool has(std::size_t n) const { return pos_ <= bytes_.size() && bytes_.size() - pos_ >= n; }

  bool u8(std::uint8_t& out) {
    if (!has(1)) return false;
    out = bytes_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& out) {
    if (!has(2)) return false;
    out = static_cast<std::uint16_t>(bytes_[pos_] << 8 | bytes_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(std::uint32_t& out) {
    if (!has(4)) return false;
    out = static_cast<std::uint32_t>(bytes_[pos_]) << 24 |
          static_cast<std::uint32_t>(bytes_[pos_ + 1]) << 16 |
          static_cast<std::uint32_t>(bytes_[pos_ + 2]) << 8 | bytes_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  std::span<const std::uint8_t> take(std::size_t n) {
    auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

  // RFC 1035 4.1.4: a name is labels ending in the root label, or in a pointer to an earlier
  // name. Each pointer must point before the previous one, so the walk always ends.
  std::optional<std::string> name() {
    std::string out;
    std::size_t at = pos_;
    std::size_t resume = 0;  // where the cursor continues once a pointer has been followed
    std::size_t wire_octets = 1;
    for (;;) {
      if (at >= bytes_.size()) return std::nullopt;
      std::uint8_t len = bytes_[at];
      if ((len & 0xC0) == 0xC0) {
        if (at + 1 >= bytes_.size()) return std::nullopt;
        std::size_t target = static_cast<std::size_t>(len & 0x3F) << 8 | bytes_[at + 1];
        if (target >= at) return std::nullopt;
        if (resume == 0) resume = at + 2;
        at = target;
        continue;
      }
      if ((len & 0xC0) != 0) return std::nullopt;  // 0x40 and 0x80 label types: obsolete
      if (len == 0) {
        pos_ = resume != 0 ? resume : at + 1;
        break;
      }
      wire_octets += len + 1u;
      if (wire_octets > kMaxNameOctets || at + 1 + len > bytes_.size()) return std::nullopt;
      append_label(out, bytes_.subspan(at + 1, len));
      at += 1 + len;
    }
    if (out.empty()) return ".";
    out.pop_back();
    return out;
  }

 private:
  static void append_label(std::string& out, std::span<const std::uint8_t> label) {
    for (std::uint8_t octet : label) {
      char c = static_cast<char>(octet);
      if (c == '.' || c == '\\') {
        out += '\\';
        out += c;
      } else if (octet < 0x21 || octet > 0x7E) {
        std::array<char, 5> esc{'\\', static_cast<char>('0' + octet / 100),
                                static_cast<char>('0' + octet / 10 % 10),
                                static_cast<char>('0' + octet % 10), '\0'};
        out += esc.data();
      } else {
        out += util::ascii_lower(c);
      }
    }
    out += '.';
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

// RDATA names must end exactly where the RDATA does (RFC 1035 3.3).
bool name_fills(Reader& r, std::size_t end, std::string& out) {
  auto name = r.name();
  if (!name || r.pos() != end) return false;
  out = std::move(*name);
  return true;
}

bool decode_txt(std::span<const std::uint8_t> rdata, TxtData& out) {
  std::size_t at = 0;
  while (at < rdata.size()) {
    std::size_t len = rdata[at];
    if (rdata.size() - at - 1 < len) return false;
    out.strings.emplace_back(reinterpret_cast<const char*>(rdata.data() + at + 1), len);
    at += 1 + len;
  }
  return true;
}

// Decodes the RDATA at [start, end) for the types this module knows.
bool decode_rdata(Reader& r, RrType type, std::size_t start, std::size_t end,
                  std::span<const std::uint8_t> rdata, RecordData& out) {
  r.seek(start);
  switch (type) {
    case RrType::A: {
      if (rdata.size() != 4) return false;
      asio::ip::address_v4::bytes_type b;
      std::copy(rdata.begin(), rdata.end(), b.begin());
      out = asio::ip::address_v4(b);
      return true;
    }
    case RrType::AAAA: {
      if (rdata.size() != 16) return false;
      asio::ip::address_v6::bytes_type b;
      std::copy(rdata.begin(), rdata.end(), b.begin());
      out = asio::ip::address_v6(b);
      return true;
    }
    case RrType::CNAME:
    case RrType::PTR:
    case RrType::NS: {
      std::string target;
      if (!name_fills(r, end, target)) return false;
      out = std::move(target);
      return true;
    }
    case RrType::MX: {
      MxData mx;
      if (!r.u16(mx.preference) || !name_fills(r, end, mx.exchange)) return false;
      out = std::move(mx);
      return true;
    }
    case RrType::TXT: {
      TxtData txt;
      if (!decode_txt(rdata, txt)) return false;
      out = std::move(txt);
      return true;
    }
    case RrType::SOA: {
      SoaData soa;
      auto mname = r.name();
      auto rname = mname ? r.name() : std::nullopt;
      if (!rname || !r.u32(soa.serial) || !r.u32(soa.refresh) || !r.u32(soa.retry) ||
          !r.u32(soa.expire) || !r.u32(soa.minimum) || r.pos() != end)
        return false;
      soa.mname = std::move(*mname);
      soa.rname = std::move(*rname);
      out = std::move(soa);
      return true;
    }
  }
  out = std::monostate{};
  return true;
}

// One resource record (RFC 1035 4.1.3). Records of another class are read and dropped.
bool read_record(Reader& r, std::vector<ResourceRecord>& out) {
  ResourceRecord rr;
  auto owner = r.name();
  std::uint16_t type = 0, klass = 0, rdlength = 0;
  std::uint32_t ttl = 0;
  if (!owner || !r.u16(type) || !r.u16(klass) || !r.u32(ttl) || !r.u16(rdlength) ||
      !r.has(rdlength))
    return false;
  std::size_t start = r.pos();
  std::size_t end = start + rdlength;
  auto rdata = r.take(rdlength);
  if (klass != kClassIn) return true;
  rr.owner = std::move(*owner);
  rr.type = static_cast<RrType>(type);
  rr.ttl_s = (ttl & 0x80000000u) != 0 ? 0 : ttl;  // RFC 2181 8
  rr.rdata.assign(rdata.begin(), rdata.end());
  if (!decode_rdata(r, rr.type, start, end, rdata, rr.data)) return false;
  r.seek(end);
  out.push_back(std::move(rr));
  return true;
}

}  // namespace

std::string to_string(RrType type) {
  switch (type) {
    case RrType::A:
      return "A";
    case RrType::NS:
      return "NS";
    case RrType::CNAME:
      return "CNAME";
    case RrType::SOA:
      return "SOA";
    case RrType::PTR:
      return "PTR";
    case RrType::MX:
      return "MX";
    case RrType::TXT:
      return "TXT";
    case RrType::AAAA:
      return "AAAA";
  }
  return "TYPE" + std::to_string(static_cast<std::uint16_t>(type));
}

std::string TxtData::joined() const {
  std::string out;
  for (const auto& s : strings) out += s;
  return out;
}

std::optional<Message> parse_message(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes) return std::nullopt;
  Reader r(bytes);
  Message m;
  std::uint16_t flags = 0, qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  r.u16(m.id);
  r.u16(flags);
  r.u16(qdcount);
  r.u16(ancount);
  r.u16(nscount);
  r.u16(arcount);
  if ((flags & 0x8000) == 0) return std::nullopt;  // QR: a query, not a response
  m.truncated = (flags & 0x0200) != 0;
  m.rcode = static_cast<std::uint8_t>(flags & 0x000F);

  for (std::uint16_t i = 0; i < qdcount; ++i) {
    auto qname = r.name();
    std::uint16_t qtype = 0, qclass = 0;
    if (!qname || !r.u16(qtype) || !r.u16(qclass)) return std::nullopt;
    if (i == 0) {
      m.question_name = std::move(*qname);
      m.question_type = static_cast<RrType>(qtype);
    }
  }
  for (std::uint16_t i = 0; i < ancount; ++i)
    if (!read_record(r, m.answers)) return std::nullopt;
  for (std::uint16_t i = 0; i < nscount; ++i)
    if (!read_record(r, m.authority)) return std::nullopt;
  return m;
}

}  // namespace mailroom::dns
