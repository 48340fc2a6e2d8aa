// client/reply_meaning: what a reply code means, in words, for the tester's annotations — the
// reply code (RFC 5321 4.2.1-4.2.3) and the enhanced status code (RFC 3463 class.subject.detail,
// with the registry's later additions such as X.7.11 "encryption required").
//
// Pure tables. A code that is not in them is explained by its class and subject alone; a text is
// never invented for a detail that is not in the registry.
#pragma once

#include <string>
#include <string_view>

#include "smtp/reply.hpp"

namespace mailroom::client {

// "Requested action completed" for 250; "" for codes outside RFC 5321's list.
std::string_view reply_code_meaning(int code);
// "Bad destination mailbox address" for "5.1.1"; the subject's meaning when the detail is
// unknown ("Addressing status"); "" when not an enhanced code.
std::string enhanced_code_meaning(std::string_view enhanced);
// "permanent failure" / "temporary failure" / "success" / "intermediate" for the class digit.
std::string_view reply_class(int code);

// A line as received, made safe to print: well-formed UTF-8 kept, every other octet (invalid
// UTF-8, control characters but TAB, DEL) written as \xNN, so a hostile server cannot move the
// cursor or garble the terminal, and the output stays valid UTF-8.
std::string printable(std::string_view line);

// One line for a reply: "250 2.1.5: success: requested action completed; destination address
// valid".
std::string explain(const smtp::Reply& reply);

}  // namespace mailroom::client
