// delivery/outbound_message: the envelope an outbound agent sends for one message — the sender
// and its parameters (SIZE, BODY, SMTPUTF8, RET, ENVID) and the recipients it is handed, each
// with NOTIFY and ORCPT (RFC 3461). Pure: no I/O.
//
// For LMTP a recipient routed to a mailbox folder is sent as user+folder@domain, so the LMTP
// server files it there. A recipient that a forward rewrote keeps its original address as ORCPT
// (RFC 3461 4.2) unless the sender gave one.
// Never: drops or reorders recipients: the i-th recipient is the i-th item given, so replies map
// back by index.
#pragma once

#include <cstddef>
#include <vector>

#include "delivery/agent.hpp"
#include "smtp/client_events.hpp"

namespace mailroom::delivery {

// The message of `job` for the items at indexes `items` of job.items, in that order.
smtp::OutboundMessage outbound_message(const AgentJob& job, const std::vector<std::size_t>& items,
                                       bool lmtp);

}  // namespace mailroom::delivery
