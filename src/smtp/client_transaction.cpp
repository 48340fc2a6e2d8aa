// The mail transaction half of ClientSession: local verdicts before MAIL, the MAIL/RCPT/DATA or
// BDAT exchange (pipelined or not), and per-recipient results (RFC 5321 4.1.1.2-4.1.1.4,
// RFC 2920, RFC 3030, RFC 2033 4.2).
#include <fmt/format.h>

#include "smtp/client_session.hpp"
#include "smtp/utf8.hpp"

namespace mailroom::smtp {

namespace {

bool needs_smtputf8(const OutboundMessage& m) {
  if (m.smtputf8 || !is_ascii(m.sender)) return true;
  for (const auto& r : m.recipients) {
    if (!is_ascii(r.address)) return true;
  }
  return false;
}

SubmitResult result(SubmitStatus status, CommandError error = CommandError::None,
                    std::optional<std::size_t> recipient = std::nullopt) {
  return SubmitResult{status, error, recipient};
}

}  // namespace

SubmitResult ClientSession::send_message(const OutboundMessage& m) {
  if (finished() || phase_ != ClientState::Ready || !expects_.empty() || tx_) {
    return result(SubmitStatus::NotReady);
  }
  if (m.recipients.empty()) return result(SubmitStatus::NoRecipients);
  // Every parameter is checked as if the server offered everything, so an envelope is refused
  // (or not) whichever server it meets.
  MailParams full{m.sender, m.size, m.body, m.ret, m.envid, needs_smtputf8(m), m.auth};
  if (auto line = mail_command(full); !line.ok()) {
    return result(SubmitStatus::InvalidEnvelope, line.error);
  }
  for (std::size_t i = 0; i < m.recipients.size(); ++i) {
    const auto& r = m.recipients[i];
    if (auto line = rcpt_command({r.address, r.notify, r.orcpt}); !line.ok()) {
      return result(SubmitStatus::InvalidEnvelope, line.error, i);
    }
  }
  // RFC 3030 3: BINARYMIME needs both BINARYMIME and BDAT; RFC 6152: 8-bit data needs 8BITMIME.
  // Converting the body is the caller's (and with it the decision to bounce instead, 5.6.3).
  if (m.body == BodyType::BinaryMime && !(esmtp_ && caps_.binary_mime && caps_.chunking)) {
    return result(SubmitStatus::NeedsConversion);
  }
  if (m.body == BodyType::EightBitMime && !(esmtp_ && caps_.eight_bit_mime)) {
    return result(SubmitStatus::NeedsSevenBit);
  }

  Transaction tx;
  tx.number = messages_++;
  tx.rcpt.assign(m.recipients.size(), RcptState::Pending);
  tx.dsn = esmtp_ && caps_.dsn;
  tx.pipelined = pipelining();
  tx.mode = esmtp_ && caps_.chunking && (options_.chunking || m.body == BodyType::BinaryMime)
                ? BodyMode::Bdat
                : BodyMode::Data;
  tx.message = m;
  tx_ = std::move(tx);
  if (local_verdicts(m)) return result(SubmitStatus::Started);

  // What goes on the wire: only what this server offered (RFC 1870, RFC 6152, RFC 3461,
  // RFC 4954 5).
  MailParams sent;
  sent.sender = m.sender;
  if (esmtp_ && caps_.size) sent.size = m.size;
  if (esmtp_ && (m.body != BodyType::SevenBit || caps_.eight_bit_mime)) sent.body = m.body;
  if (tx_->dsn) {
    sent.ret = m.ret;
    sent.envid = m.envid;
  }
  sent.smtputf8 = full.smtputf8;
  if (authenticated_ && caps_.auth) sent.auth = m.auth;
  tx_->mail_line = mail_command(sent).wire;
  for (const auto& r : m.recipients) {
    tx_->rcpt_lines.push_back(tx_->dsn ? rcpt_command({r.address, r.notify, r.orcpt}).wire
                                       : rcpt_command({r.address, 0, ""}).wire);
  }
  start_transaction();
  return result(SubmitStatus::Started);
}

// Refusals that need no round trip: the server said enough in its EHLO reply.
bool ClientSession::local_verdicts(const OutboundMessage& m) {
  std::optional<Reply> verdict;
  if (needs_smtputf8(m) && !(esmtp_ && caps_.smtputf8)) {
    verdict = make_reply(554, "5.6.7", "SMTPUTF8 is required, but was not offered by the server");
  } else if (esmtp_ && caps_.size && *caps_.size > 0 && m.size && *m.size > *caps_.size) {
    verdict = make_reply(
        552, "5.3.4",
        fmt::format("message size {} exceeds size limit {} of server", *m.size, *caps_.size));
  }
  if (!verdict) return false;
  settle_pending(ClientState::Mail, *verdict, false, false);
  finish_message();
  become_ready();
  return true;
}

void ClientSession::start_transaction() {
  Transaction& tx = *tx_;
  phase_ = ClientState::Mail;
  if (!tx.pipelined) {
    if (need_rset_) {
      need_rset_ = false;
      tx.rset_first = true;
      send(kRsetCommand);
      expect(ClientState::Rset);
      return;
    }
    send(tx.mail_line);
    expect(ClientState::Mail);
    return;
  }
  // RFC 2920 3.1: RSET, MAIL and RCPT may be grouped; DATA ends the group.
  if (need_rset_) {
    need_rset_ = false;
    send(kRsetCommand);
    expect(ClientState::Rset);
  }
  send(tx.mail_line);
  expect(ClientState::Mail);
  for (std::size_t i = 0; i < tx.rcpt_lines.size(); ++i) {
    send(tx.rcpt_lines[i]);
    expect(ClientState::Rcpt, i);
  }
  tx.next_rcpt = tx.rcpt_lines.size();
  if (tx.message.envelope_only) return;
  if (tx.mode == BodyMode::Data) {
    send(kDataCommand);
    expect(ClientState::Data);
  } else if (tx.message.size && *tx.message.size <= options_.bdat_flight_max_bytes) {
    want_body();  // RFC 3030 4.2: small messages' chunks join the flight
  }
}

void ClientSession::on_rset(const Reply& r) {
  if (r.code / 100 != 2) return fail(ClientState::Rset, FailureCause::ServerReply, r, true);
  if (tx_ && tx_->rset_first) {
    tx_->rset_first = false;
    send(tx_->mail_line);
    expect(ClientState::Mail);
    return;
  }
  if (!tx_ && phase_ == ClientState::Rset) become_ready();  // rset() between messages
}

void ClientSession::on_mail(const Reply& r) {
  if (!tx_) return;
  Transaction& tx = *tx_;
  if (r.code / 100 == 2) {
    tx.mail_accepted = true;
    if (!tx.pipelined) {
      send(tx.rcpt_lines[0]);
      expect(ClientState::Rcpt, 0);
      tx.next_rcpt = 1;
    }
    return;
  }
  // The sender was refused: so is every recipient, with that reply. Pipelined RCPT and DATA
  // replies (503 "need MAIL") still come and are consumed.
  tx.failed = true;
  settle_pending(ClientState::Mail, r, true, false);
  maybe_finish();
}

void ClientSession::on_rcpt(const Reply& r, std::size_t index) {
  if (!tx_) return;
  Transaction& tx = *tx_;
  if (tx.rcpt[index] == RcptState::Pending) {
    if (r.code / 100 == 2) {
      tx.rcpt[index] = RcptState::Accepted;
      ++tx.accepted;
      if (tx.message.envelope_only) {
        tx.rcpt_replies.resize(tx.rcpt.size());
        tx.rcpt_replies[index] = r;
      }
    } else {
      settle(index, ClientState::Rcpt, r, true);
    }
  }
  if (!tx.pipelined && tx.next_rcpt < tx.rcpt_lines.size()) {
    send(tx.rcpt_lines[tx.next_rcpt]);
    expect(ClientState::Rcpt, tx.next_rcpt);
    ++tx.next_rcpt;
    return;
  }
  if (index + 1 == tx.rcpt.size()) after_rcpts();
}

void ClientSession::after_rcpts() {
  Transaction& tx = *tx_;
  if (tx.message.envelope_only) {
    for (std::size_t i = 0; i < tx.rcpt.size(); ++i)
      if (tx.rcpt[i] == RcptState::Accepted) settle(i, ClientState::Rcpt, tx.rcpt_replies[i], true);
    return maybe_finish();
  }
  if (tx.accepted == 0 || tx.failed) {
    tx.failed = true;
    return maybe_finish();  // a pipelined DATA or BDAT reply may still be on its way
  }
  if (tx.mode == BodyMode::Data) {
    if (!tx.pipelined) {
      send(kDataCommand);
      expect(ClientState::Data);
    }
    return;
  }
  if (!tx.body_wanted) want_body();
}

void ClientSession::on_data(const Reply& r) {
  if (!tx_) return;
  Transaction& tx = *tx_;
  if (r.code / 100 == 3) {
    if (tx.accepted > 0 && !tx.failed) {
      tx.body_open = true;
      return want_body();
    }
    // RFC 2920 3.1: the server wants data although every recipient was refused; an empty
    // message ends it, and the server refuses that too.
    send(kEmptyDataEnd);
    expect(ClientState::EndOfData, 0, true);
    return;
  }
  if (tx.accepted > 0 && !tx.failed) {
    tx.failed = true;
    settle_pending(ClientState::Data, r, true, true);
  }
  maybe_finish();
}

void ClientSession::want_body() {
  tx_->body_wanted = true;
  phase_ = ClientState::DataBody;
  emit(BodyWanted{tx_->number, tx_->mode});
}

void ClientSession::data_body_sent() {
  if (finished() || !tx_ || tx_->mode != BodyMode::Data || !tx_->body_open) return;
  tx_->body_open = false;
  tx_->last_sent = true;
  expect(ClientState::EndOfData);
}

bool ClientSession::may_send_chunk() const {
  if (finished() || !tx_) return false;
  const Transaction& tx = *tx_;
  return tx.mode == BodyMode::Bdat && tx.body_wanted && !tx.failed && !tx.last_sent &&
         (tx.pipelined || expects_.empty());
}

bool ClientSession::bdat_chunk(std::uint64_t size, bool last) {
  if (!may_send_chunk()) return false;
  send(bdat_command(size, last));
  if (last) {
    tx_->last_sent = true;
    expect(ClientState::EndOfData);
  } else {
    expect(ClientState::Bdat);
  }
  return true;
}

void ClientSession::on_bdat(const Reply& r) {
  if (!tx_) return;
  Transaction& tx = *tx_;
  if (r.code / 100 == 2) {
    if (!tx.pipelined && !tx.failed && !tx.last_sent) want_body();  // one chunk per BodyWanted
    return maybe_finish();
  }
  // RFC 3030 2: after a failed chunk the transaction is over; no more chunks, RSET before the
  // next MAIL.
  if (tx.accepted > 0 && !tx.failed) settle_pending(ClientState::Bdat, r, true, true);
  tx.failed = true;
  maybe_finish();
}

void ClientSession::on_end_of_data(const Reply& r) {
  if (!tx_) return;
  Transaction& tx = *tx_;
  if (!tx.failed) {
    tx.ended_by_server = true;
    if (!options_.lmtp) {
      settle_pending(ClientState::EndOfData, r, true, true);
    } else {
      // RFC 2033 4.2: one reply per accepted recipient, in RCPT order. Which recipients were
      // accepted is known by now: their RCPT replies came before this one.
      std::size_t remaining = 0;
      for (std::size_t i = 0; i < tx.rcpt.size(); ++i) {
        if (tx.rcpt[i] != RcptState::Accepted) continue;
        if (remaining++ == 0) settle(i, ClientState::EndOfData, r, true);
      }
      if (remaining > 1) expects_.push_front(Expect{ClientState::EndOfData});
    }
  }
  maybe_finish();
}

void ClientSession::settle(std::size_t index, ClientState stage, const Reply& r, bool from_server) {
  Transaction& tx = *tx_;
  tx.rcpt[index] = RcptState::Final;
  ++tx.finals;
  if (r.positive()) {
    ++tx.delivered;
  } else if (r.transient()) {
    ++tx.deferred;
  } else {
    ++tx.bounced;
  }
  // RFC 3461 5.2.2: a next hop with DSN takes NOTIFY along and with it the duty to report
  // success; one without it leaves us a "relayed" report. An LMTP server is the final delivery
  // (RFC 2033): the report is "delivered", from us, either way.
  const bool success_asked =
      r.positive() && (tx.message.recipients[index].notify & kNotifySuccess) != 0;
  const bool relayed = success_asked && !tx.dsn && !options_.lmtp;
  const bool passed_on = success_asked && tx.dsn && !options_.lmtp;
  emit(RecipientResult{tx.number, index, stage, r, from_server, relayed, passed_on});
}

void ClientSession::settle_pending(ClientState stage, const Reply& r, bool from_server,
                                   bool accepted_only) {
  for (std::size_t i = 0; i < tx_->rcpt.size(); ++i) {
    RcptState s = tx_->rcpt[i];
    if (s == RcptState::Final || (accepted_only && s != RcptState::Accepted)) continue;
    settle(i, stage, r, from_server);
  }
}

void ClientSession::maybe_finish() {
  if (!tx_ || failed_) return;
  const Transaction& tx = *tx_;
  if (tx.finals < tx.rcpt.size() || !expects_.empty() || tx.body_open) return;
  finish_message();
  become_ready();
}

void ClientSession::finish_message() {
  Transaction& tx = *tx_;
  emit(MessageResult{tx.number, tx.delivered, tx.deferred, tx.bounced});
  // A transaction the server did not close itself (no end-of-data reply) may still hold a
  // sender or recipients: the next MAIL would get 503 "nested MAIL".
  if (tx.mail_accepted && !tx.ended_by_server) need_rset_ = true;
  tx_.reset();
}

}  // namespace mailroom::smtp
