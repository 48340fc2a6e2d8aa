// config/value_checks: the shapes of the configuration's string values, private to src/config/.
//
// Addresses to bind or dial ("ip:port", "[v6]:port", "*:port": listeners, metrics, DNS servers),
// address ranges (CIDR), domain names, and next hops ("[host]:port", "[host]", "host:port",
// "host": Postfix's relayhost syntax). The check_* functions throw ConfigError naming `key` and
// the value; valid_nexthop answers yes or no and leaves the message to its caller.
// Never: accepts a range with host bits set (guessing the network or the host can open or close
// a relay), or an address whose host is not an IP literal or * (it is bound or dialled exactly as
// given; a name would only fail later, without the key).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::config {

bool valid_nexthop(std::string_view text);

void check_address(const std::string& key, const std::string& address);
void check_ranges(const std::string& key, const std::vector<std::string>& ranges);
void check_domain(const std::string& key, const std::string& domain);

}  // namespace mailroom::config
