// Fuzzes the outbound engine (smtp::ClientSession) with random servers and random callers: the
// input is a script of server bytes (raw or picked from realistic replies), TLS and connection
// events, messages and body steps. Whatever happens, the engine must never crash, never emit a
// byte that is not part of a CRLF-terminated command line without CR, LF or NUL inside it, never
// emit anything once finished, give every recipient of a started message exactly one result
// before its MessageResult (counts matching the replies' classes), and be finished after
// "connection lost".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/client_session.hpp"

using namespace mailroom::smtp;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

constexpr std::string_view kReplies[] = {
    "220 mx.example.org ESMTP\r\n",
    "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-STARTTLS\r\n250-DSN\r\n"
    "250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN LOGIN XOAUTH2\r\n250 CHUNKING\r\n",
    "250-mx\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250 AUTH=LOGIN\r\n",
    "250 ok\r\n",
    "250 2.1.5 ok\r\n",
    "354 go ahead\r\n",
    "334 VXNlcm5hbWU6\r\n",
    "334 \r\n",
    "235 2.7.0 ok\r\n",
    "220 2.0.0 Ready to start TLS\r\n",
    "421 4.7.0 bye\r\n",
    "450 4.2.0 later\r\n",
    "550 5.1.1 no\r\n",
    "500 5.5.1 what\r\n",
    "221 2.0.0 bye\r\n",
    "250-a\r\n550 mixed\r\n",
    "garbage\r\n",
};

constexpr std::string_view kAddresses[] = {
    "kate@fabrikam.com",        "a@b.example",          "Postmaster",
    "\xe7\x94\xa8@example.org", "x@y\r\nRCPT TO:<z@w>", "bad>@x",
};

struct Cursor {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos = 0;
  bool empty() const { return pos >= size; }
  std::uint8_t byte() { return pos < size ? data[pos++] : 0; }
  std::string_view bytes(std::size_t n) {
    n = std::min(n, size - std::min(pos, size));
    std::string_view out(reinterpret_cast<const char*>(data + pos), n);
    pos += n;
    return out;
  }
};

// Every output byte is part of a command line: text without CR/LF/NUL, then CRLF.
void check_lines(std::string_view out) {
  while (!out.empty()) {
    std::size_t crlf = out.find("\r\n");
    check(crlf != std::string_view::npos);
    std::string_view line = out.substr(0, crlf);
    check(line.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
    out.remove_prefix(crlf + 2);
  }
}

struct MessageTrack {
  std::size_t recipients = 0;
  std::vector<bool> seen;
  std::size_t delivered = 0, deferred = 0, bounced = 0;
  bool done = false;
};

struct Checker {
  std::map<std::uint32_t, MessageTrack> messages;

  void take(ClientSession& s, bool was_finished) {
    std::string out = s.take_output();
    if (was_finished) check(out.empty());
    check_lines(out);
    for (auto& e : s.take_events()) {
      if (auto* r = std::get_if<RecipientResult>(&e)) {
        auto it = messages.find(r->message);
        check(it != messages.end() && !it->second.done);
        MessageTrack& m = it->second;
        check(r->recipient < m.recipients && !m.seen[r->recipient]);
        m.seen[r->recipient] = true;
        check(r->reply.code >= 200 && r->reply.code <= 599);
        // Delivered means the server took the data: only an end-of-data reply says so.
        if (r->reply.positive()) check(r->stage == ClientState::EndOfData && r->from_server);
        (r->reply.positive() ? m.delivered : r->reply.transient() ? m.deferred : m.bounced)++;
      } else if (auto* d = std::get_if<MessageResult>(&e)) {
        auto it = messages.find(d->message);
        check(it != messages.end() && !it->second.done);
        MessageTrack& m = it->second;
        for (bool seen : m.seen) check(seen);
        check(d->delivered == m.delivered && d->deferred == m.deferred && d->bounced == m.bounced);
        m.done = true;
      } else if (auto* f = std::get_if<SessionFailed>(&e)) {
        check(f->reply.code >= 400 && !f->reply.lines.empty());
      }
    }
    check(static_cast<std::size_t>(s.state()) < kClientStateCount);
    (void)default_timeout_s(s.state());
  }
};

OutboundMessage make_message(Cursor& c) {
  OutboundMessage m;
  std::uint8_t flags = c.byte();
  m.sender = (flags & 1) ? "" : "chris@contoso.com";
  std::size_t n = c.byte() % 5;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t pick = c.byte();
    m.recipients.push_back(OutboundRecipient{std::string(kAddresses[pick % std::size(kAddresses)]),
                                             static_cast<unsigned>((pick >> 3) & 0x0f),
                                             (pick & 0x80) ? "rfc822;kate@fabrikam.com" : ""});
  }
  if (flags & 2) m.size = std::uint64_t{c.byte()} * 16;
  m.body = static_cast<BodyType>((flags >> 2) & 3);
  m.smtputf8 = flags & 16;
  if (flags & 32) m.ret = "HDRS";
  if (flags & 64) m.envid = "id+1";
  if (flags & 128) m.auth = "";
  return m;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Cursor c{data, size};
  std::uint8_t o = c.byte();
  ClientOptions options;
  options.helo_name = "client.example.net";
  options.lmtp = o & 1;
  options.tls = static_cast<TlsPolicy>((o >> 1) % 3);
  options.pipelining = o & 8;
  options.chunking = o & 16;
  options.implicit_tls = o & 32;
  options.allow_plaintext_auth = o & 64;
  if (o & 128)
    options.credentials = ClientCredentials{"user", "pass", (o & 4) ? "tok" : "", "", ""};
  options.bdat_flight_max_bytes = std::uint64_t{c.byte()} * 8;

  ClientSession s(options);
  Checker checker;
  checker.take(s, false);
  while (!c.empty()) {
    bool was_finished = s.finished();
    std::uint8_t op = c.byte();
    switch (op % 11) {
      case 0:
        s.on_bytes(c.bytes(c.byte() % 64));
        break;
      case 1:
      case 2:
        s.on_bytes(kReplies[c.byte() % std::size(kReplies)]);
        break;
      case 3:
        s.on_tls_established();
        break;
      case 4:
        s.on_tls_failed();
        break;
      case 5: {
        OutboundMessage m = make_message(c);
        std::uint32_t number = s.messages_started();
        SubmitResult r = s.send_message(m);
        if (r.status == SubmitStatus::Started) {
          check(!was_finished && s.messages_started() == number + 1);
          checker.messages[number] = MessageTrack{
              m.recipients.size(), std::vector<bool>(m.recipients.size()), 0, 0, 0, false};
        } else {
          check(s.messages_started() == number);
        }
        break;
      }
      case 6:
        s.data_body_sent();
        break;
      case 7:
        if (s.bdat_chunk(c.byte(), c.byte() & 1)) check(!was_finished);
        break;
      case 8:
        if (s.quit()) check(!was_finished);
        break;
      case 9:
        s.on_connected();
        break;
      case 10:
        s.on_connection_lost(static_cast<ConnectionEnd>(c.byte() % 3));
        check(s.finished());
        break;
    }
    checker.take(s, was_finished);
    if (s.finished()) check(!s.may_send_chunk() && !s.quit());
  }
  bool was_finished = s.finished();
  s.on_connection_lost();
  check(s.finished());
  checker.take(s, was_finished);
  for (const auto& [number, m] : checker.messages) check(m.done);
  return 0;
}
