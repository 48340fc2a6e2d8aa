// delivery/header_fields: the few header-section edits and checks final delivery needs
// (RFC 5322 2.2: a field is its line plus any continuation lines starting with SP or HTAB).
// Header names compare case-insensitively. Pure; input is a header section with CRLF line ends
// and no final empty line, as spool::read_headers returns it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailroom::delivery {

// The header section without any Return-Path field (RFC 5321 4.4: final delivery adds its own).
std::string without_return_path(std::string_view headers);
// True when a Delivered-To field names `address` (case-insensitive): a forwarding loop when we
// are about to add the same one.
bool has_delivered_to(std::string_view headers, std::string_view address);
// Number of fields named `name` (Received: for hop counting, RFC 5321 6.3).
std::size_t count_fields(std::string_view headers, std::string_view name);

}  // namespace mailroom::delivery
