// server/recipient_policy: who may send to whom through this listener (RFC 5321 3.6, 7.9).
//
// The relay decision in one place: a recipient in a local domain is validated against the
// directory; any other recipient is accepted only if the listener's relay rule allows this client
// (authenticated, or inside relay_ranges). Must never let an address trick relay: local parts
// holding '%', '!' or '@' (percent hack, bang paths, quoted "a@b") in a local domain are refused
// as unknown users. An address literal is local only when it is this server's own address on the
// connection (RFC 5321 4.1.3): postmaster@[that address] is the local postmaster (4.5.1), any
// other local part under it names no mailbox (550 5.1.1); other literals go to the relay rule.
// Pure: no I/O.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "directory/directory.hpp"
#include "smtp/address.hpp"
#include "smtp/reply.hpp"
#include "util/cidr.hpp"

namespace mailroom::server {

struct ClientIdentity {
  std::string ip;
  bool authenticated = false;
};

struct RecipientDecision {
  bool accepted = false;
  smtp::Reply reply;  // 250 2.1.5 Recipient OK, or the precise refusal
  // The recipient as the envelope records it: the address given, except that a bare
  // <Postmaster> is qualified with the first local domain (as Postfix appends @$myorigin), so
  // every accepted recipient names its domain.
  std::string address;
  bool relayed = false;    // accepted for a non-local domain
  std::string log_reason;  // for the session log
};

class RecipientPolicy {
 public:
  RecipientPolicy(const config::ListenerConfig& listener, const directory::Directory& dir);
  // `local_ip`: the server's address on this connection ("" if unknown), which an address
  // literal may name.
  RecipientDecision check(const smtp::Address& rcpt, const ClientIdentity& client,
                          std::string_view local_ip = {}) const;
  bool may_relay(const ClientIdentity& client) const;

 private:
  const config::ListenerConfig& listener_;
  const directory::Directory& dir_;
  std::vector<util::Cidr> relay_ranges_;
};

}  // namespace mailroom::server
