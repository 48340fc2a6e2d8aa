// util/rfc5322_date: dates as RFC 5322 3.3 writes them ("Fri, 5 Aug 2016 16:24:41 -0700"),
// for the 220 greeting, Received: headers and DSNs. Locale-independent.
#pragma once

#include <ctime>
#include <string>

namespace mailroom::util {

std::string rfc5322_date(std::time_t when);
inline std::string rfc5322_now() { return rfc5322_date(std::time(nullptr)); }

}  // namespace mailroom::util
