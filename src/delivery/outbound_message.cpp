#include "delivery/outbound_message.hpp"

#include <string>

namespace mailroom::delivery {

namespace {

smtp::BodyType body_type_of(const std::string& name) {
  if (name == "8BITMIME") return smtp::BodyType::EightBitMime;
  if (name == "BINARYMIME") return smtp::BodyType::BinaryMime;
  if (name == "7BIT") return smtp::BodyType::SevenBit;
  return smtp::BodyType::Unspecified;
}

}  // namespace

smtp::OutboundMessage outbound_message(const AgentJob& job, const std::vector<std::size_t>& items,
                                       bool lmtp) {
  const auto& env = job.info.envelope;
  smtp::OutboundMessage m;
  m.sender = env.sender;
  m.size = job.info.body_bytes;
  m.body = body_type_of(env.body_type);
  m.smtputf8 = env.smtputf8;
  m.ret = env.ret;
  m.envid = env.envid;
  for (auto k : items) {
    const auto& item = job.items[k];
    const auto& original = env.recipients.at(item.recipient);
    smtp::OutboundRecipient r;
    r.address = item.destination.address;
    if (lmtp && !item.destination.mailbox.folder.empty())
      r.address = item.destination.mailbox.user + "+" + item.destination.mailbox.folder + "@" +
                  item.destination.mailbox.domain;
    r.notify = original.notify;
    // RFC 3461 4.2: a forward keeps telling the next hop who the recipient was originally.
    r.orcpt = original.orcpt;
    if (r.orcpt.empty() && item.destination.address != original.address)
      r.orcpt = "rfc822;" + original.address;
    m.recipients.push_back(std::move(r));
  }
  return m;
}

}  // namespace mailroom::delivery
