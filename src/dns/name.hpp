// dns/name: the names this resolver agrees to ask about, and the reverse-lookup names of
// addresses (RFC 1035 3.5 in-addr.arpa, RFC 3596 2.5 ip6.arpa).
//
// A name is asked about in one canonical form, so the cache and the sharing of identical
// in-flight lookups see "Example.TEST." and "example.test" as the same question.
// Never: send a name with an empty or over-long label, a backslash (c-ares would read it as an
// escape) or a non-ASCII octet (internationalized names must arrive as A-labels, RFC 5890).
#pragma once

#include <asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::dns {

// ASCII-lowercased, without one trailing dot; nullopt when the name is not one we will send:
// empty, longer than 253 characters, a label empty or longer than 63, or an octet outside
// printable ASCII, or a backslash.
std::optional<std::string> normalize_name(std::string_view name);

// "4.3.2.1.in-addr.arpa" for 1.2.3.4; 32 nibbles then "ip6.arpa" for IPv6. A v4-mapped IPv6
// address is looked up as the IPv4 address it carries.
std::string reverse_name(const asio::ip::address& address);

}  // namespace mailroom::dns
