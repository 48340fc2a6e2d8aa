// SmtpClient over real loopback TCP against a scripted server in the same io_context: the
// dialogue, the body as sent (dot-stuffed), pipelined replies, timeouts and a refused connection.
#include "net/smtp_client.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <deque>
#include <filesystem>

#include "net/asio_tuple.hpp"
#include "net/tls_client.hpp"
#include "net/tls_context.hpp"

namespace mailroom::net {
namespace {

using asio::ip::tcp;

// Reads lines (and DATA bodies) and answers from a script; records everything received.
struct ScriptedServer {
  tcp::acceptor acceptor;
  std::string received;
  std::function<std::string(const std::string& line)> answer;  // "" = no reply yet
  explicit ScriptedServer(asio::io_context& io)
      : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  tcp::endpoint endpoint() const { return acceptor.local_endpoint(); }
};

asio::awaitable<void> serve(ScriptedServer& s, std::string greeting) {
  auto [ec, socket] = co_await s.acceptor.async_accept(mailroom::use_tuple);
  if (ec) co_return;
  co_await asio::async_write(socket, asio::buffer(greeting), mailroom::use_tuple);
  std::string buf;
  bool in_data = false;
  for (;;) {
    char chunk[4096];
    auto [rec, n] = co_await socket.async_read_some(asio::buffer(chunk), mailroom::use_tuple);
    if (rec) co_return;
    buf.append(chunk, n);
    s.received.append(chunk, n);
    std::string out;
    for (;;) {
      auto nl = buf.find("\r\n");
      if (nl == std::string::npos) break;
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 2);
      if (in_data) {
        if (line == ".") {
          in_data = false;
          out += "250 2.0.0 Ok: queued as X\r\n";
        }
        continue;
      }
      if (line == "DATA") in_data = true;
      out += s.answer(line);
    }
    if (!out.empty()) co_await asio::async_write(socket, asio::buffer(out), mailroom::use_tuple);
  }
}

std::string default_answer(const std::string& line) {
  if (line.rfind("EHLO", 0) == 0) return "250-mx.remote.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
  if (line == "DATA") return "354 go ahead\r\n";
  if (line == "QUIT") return "221 2.0.0 bye\r\n";
  return "250 2.0.0 Ok\r\n";
}

SmtpClientOptions options() {
  SmtpClientOptions o;
  o.session.helo_name = "client.example.test";
  o.session.tls = smtp::TlsPolicy::None;
  return o;
}

TEST(SmtpClient, DeliversAMessageDotStuffedAndQuits) {
  asio::io_context io;
  ScriptedServer server(io);
  server.answer = default_answer;
  asio::co_spawn(io, serve(server, "220 mx.remote.test ESMTP\r\n"), asio::detached);
  MessageDelivery delivery;
  bool opened = false;
  auto client = std::make_shared<SmtpClient>(io.get_executor(), options());
  ClientEndpoint where;
  where.tcp = server.endpoint();
  where.server_name = "mx.remote.test";
  StringBodySource body("Subject: t\r\n\r\n.dot\r\nend\r\n");
  smtp::OutboundMessage m;
  m.sender = "a@example.test";
  m.recipients = {{"b@remote.test", 0, ""}, {"c@remote.test", 0, ""}};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        opened = co_await client->open(where);
        if (!opened) co_return;
        delivery = co_await client->send(m, body);
        co_await client->quit();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(opened) << (client->failure() ? client->failure()->reply.summary() : "");
  ASSERT_EQ(delivery.recipients.size(), 2u);
  for (auto& r : delivery.recipients) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->reply.code, 250);
  }
  EXPECT_NE(server.received.find("MAIL FROM:<a@example.test>"), std::string::npos);
  EXPECT_NE(server.received.find("\r\n..dot\r\nend\r\n.\r\n"), std::string::npos)
      << server.received;
  EXPECT_NE(server.received.find("QUIT\r\n"), std::string::npos);
}

// The end-of-data dot is a small write right after the body: with Nagle's algorithm on, it waited
// for the server's delayed ACK (~40 ms per message; bench scenario (h) relayed at a third of the
// speed it has with TCP_NODELAY).
TEST(SmtpClient, TcpConnectionHasNagleOff) {
  asio::io_context io;
  ScriptedServer server(io);
  server.answer = default_answer;
  asio::co_spawn(io, serve(server, "220 mx.remote.test ESMTP\r\n"), asio::detached);
  auto client = std::make_shared<SmtpClient>(io.get_executor(), options());
  ClientEndpoint where;
  where.tcp = server.endpoint();
  where.server_name = "mx.remote.test";
  bool opened = false, nagle_off = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        opened = co_await client->open(where);
        nagle_off = client->nagle_off();
        co_await client->quit();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(opened);
  EXPECT_TRUE(nagle_off);
}

TEST(SmtpClient, RefusedConnectionIsAConnectFailure) {
  asio::io_context io;
  tcp::endpoint closed;
  {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed = a.local_endpoint();
  }
  auto client = std::make_shared<SmtpClient>(io.get_executor(), options());
  ClientEndpoint where;
  where.tcp = closed;
  where.server_name = "gone.test";
  bool opened = true;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { opened = co_await client->open(where); },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  EXPECT_FALSE(opened);
  ASSERT_TRUE(client->failure());
  EXPECT_EQ(client->failure()->reply.summary().substr(0, 9), "421 4.4.1");
  EXPECT_NE(client->failure()->reply.summary().find("Connection refused"), std::string::npos);
}

TEST(SmtpClient, SilentServerTimesOutInTheBannerState) {
  asio::io_context io;
  ScriptedServer server(io);
  server.answer = default_answer;
  asio::co_spawn(io, serve(server, ""), asio::detached);  // accepts, never greets
  auto o = options();
  o.timeouts_s[static_cast<std::size_t>(smtp::ClientState::Banner)] = 1;
  auto client = std::make_shared<SmtpClient>(io.get_executor(), o);
  ClientEndpoint where;
  where.tcp = server.endpoint();
  bool opened = true;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { opened = co_await client->open(where); },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  EXPECT_FALSE(opened);
  ASSERT_TRUE(client->failure());
  EXPECT_EQ(client->failure()->cause, smtp::FailureCause::Timeout);
  EXPECT_EQ(client->failure()->stage, smtp::ClientState::Banner);
}

// A server that offers STARTTLS and, once in TLS, answers EHLO and QUIT; `tls_ehlo` records
// whether an EHLO arrived over TLS.
asio::awaitable<void> serve_starttls(tcp::acceptor& acceptor, asio::ssl::context& ctx,
                                     bool& tls_ehlo) {
  auto [ec, socket] = co_await acceptor.async_accept(mailroom::use_tuple);
  if (ec) co_return;
  std::string greeting = "220 mx.remote.test ESMTP\r\n";
  co_await asio::async_write(socket, asio::buffer(greeting), mailroom::use_tuple);
  std::string buf;
  for (;;) {
    char chunk[4096];
    auto [rec, n] = co_await socket.async_read_some(asio::buffer(chunk), mailroom::use_tuple);
    if (rec) co_return;
    buf.append(chunk, n);
    if (buf.find("STARTTLS\r\n") != std::string::npos) break;
    if (buf.find("EHLO") != std::string::npos && buf.find("\r\n") != std::string::npos) {
      buf.clear();
      std::string caps = "250-mx.remote.test\r\n250 STARTTLS\r\n";
      co_await asio::async_write(socket, asio::buffer(caps), mailroom::use_tuple);
    }
  }
  std::string ready = "220 2.0.0 Ready to start TLS\r\n";
  co_await asio::async_write(socket, asio::buffer(ready), mailroom::use_tuple);
  asio::ssl::stream<tcp::socket&> tls(socket, ctx);
  auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::server, mailroom::use_tuple);
  if (hec) co_return;
  buf.clear();
  for (;;) {
    char chunk[4096];
    auto [rec, n] = co_await tls.async_read_some(asio::buffer(chunk), mailroom::use_tuple);
    if (rec) co_return;
    buf.append(chunk, n);
    std::string out;
    for (auto nl = buf.find("\r\n"); nl != std::string::npos; nl = buf.find("\r\n")) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 2);
      if (line.rfind("EHLO", 0) == 0) {
        tls_ehlo = true;
        out += "250 mx.remote.test\r\n";
      } else if (line == "QUIT") {
        out += "221 2.0.0 bye\r\n";
      }
    }
    if (!out.empty()) co_await asio::async_write(tls, asio::buffer(out), mailroom::use_tuple);
  }
}

// Found by test_remote_tls.py: the EHLO after the handshake was queued but not written before the
// client waited for its reply, so every STARTTLS session timed out in state tls-ehlo.
TEST(SmtpClient, StartTlsThenEhloOverTls) {
  char dir_template[] = "/tmp/smtp-client-tls-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  generate_self_signed("mx.remote.test", dir + "/cert.pem", dir + "/key.pem");
  asio::ssl::context server_ctx(asio::ssl::context::tls_server);
  server_ctx.use_certificate_chain_file(dir + "/cert.pem");
  server_ctx.use_private_key_file(dir + "/key.pem", asio::ssl::context::pem);
  auto client_ctx = make_client_tls_context(ClientTlsOptions{});

  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  bool tls_ehlo = false;
  asio::co_spawn(io, serve_starttls(acceptor, server_ctx, tls_ehlo), asio::detached);
  auto o = options();
  o.session.tls = smtp::TlsPolicy::Required;
  o.tls_context = client_ctx.get();
  for (auto& t : o.timeouts_s) t = 3;
  auto client = std::make_shared<SmtpClient>(io.get_executor(), o);
  ClientEndpoint where;
  where.tcp = acceptor.local_endpoint();
  where.server_name = "mx.remote.test";
  bool opened = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        opened = co_await client->open(where);
        if (opened) co_await client->quit();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(opened) << (client->failure() ? client->failure()->reply.summary() : "");
  EXPECT_TRUE(tls_ehlo);
  ASSERT_TRUE(client->tls());
  EXPECT_FALSE(client->tls()->trusted());  // self-signed: recorded, not refused (no "verify")
}

}  // namespace
}  // namespace mailroom::net
