// client/report_json: the JSON shapes the tester's commands share (a step, a host's steps, a TLS
// peer report), so `probe --json` and `send --json` describe the same things the same way.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "client/probe.hpp"

namespace mailroom::client {

// {"step", "verdict", "summary", "reply", "causes", "ms", "meaning"}
nlohmann::json step_json(const ProbeStep& step);
// {"protocol", "cipher", "subject", "issuer", "dns_names", "not_before", "not_after", "expired",
//  "trusted", "verify_error", "chain_length"} or null
nlohmann::json tls_json(const std::optional<net::TlsPeerReport>& tls);
// {"host", "address", "port", "failed_at", "steps", "tls"}
nlohmann::json host_json(const HostProbe& host);

}  // namespace mailroom::client
