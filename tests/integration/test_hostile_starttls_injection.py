"""STARTTLS command injection (CVE-2011-0411, Postfix; and the 2021 "NO STARTTLS" study by
Poddebniak et al., which found the same flaw in many servers a decade later).

The attack: a man in the middle appends plaintext commands to the client's STARTTLS in the same
TCP segment. A vulnerable server reads them into its input buffer before the handshake and then
executes them inside the TLS session, as if the client had sent them encrypted.
mailroom's rule (RFC 3207 4.2, src/server/session_commands.cpp): whatever is buffered after
STARTTLS is discarded and logged (event=starttls_injection); after the handshake the session
starts afresh — no EHLO, no transaction, no authentication carried over.

Each test checks that no injected command was answered or acted on inside TLS, that nothing was
queued, and that the TLS session then serves the real client normally.
"""
import base64
import socket

import pytest

from conftest import HOSTNAME, _client_tls
from test_hostile_support import (PASSWORD, USER, assert_nothing_new, connect, expect_queued,
                                  listener, log_mark, log_since, make_server, new_messages,
                                  no_reply_within, start_module_server, stored_messages)

AUTH_BLOB = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_module_server(tmp_path_factory.mktemp("starttls"), [listener(tls="starttls")])
    yield s
    s.stop()


def tls_upgrade(c):
    c.sock = _client_tls().wrap_socket(c.sock, server_hostname=HOSTNAME)


def inject_after_starttls(c, injected):
    c.send(b"STARTTLS\r\n" + injected)
    c.expect(None, 220, "2.0.0 Ready to start TLS")
    assert c.buf == b"", f"server answered injected commands before TLS: {c.buf!r}"
    tls_upgrade(c)


def test_injected_transaction_is_discarded(srv):
    before = stored_messages(srv)
    c = connect(srv)
    inject_after_starttls(c, b"EHLO evil\r\nMAIL FROM:<ceo@example.test>\r\n"
                             b"RCPT TO:<kate@example.test>\r\nDATA\r\n"
                             b"Subject: injected\r\n\r\nx\r\n.\r\nNOOP\r\n")
    # Inside TLS the server waits for us: no reply to anything injected.
    assert no_reply_within(c, 0.7)
    lines = c.expect("EHLO client.example.org", 250)
    assert lines[0] == f"250-{HOSTNAME} Hello [127.0.0.1]"
    assert not any("STARTTLS" in l for l in lines)
    # The injected MAIL left no transaction behind ("503 5.5.1 Sender already specified").
    expect_queued(c, [USER], "Subject: real\r\n\r\nreal\r\n")
    fresh = new_messages(srv, before)
    assert len(fresh) == 1 and b"injected" not in fresh[0].body
    c.expect("QUIT", 221)
    assert "event=starttls_injection" in srv.log_text()


def test_injected_auth_does_not_authenticate(srv):
    """An injected AUTH with valid credentials (e.g. replayed) must not log the TLS session in."""
    mark = log_mark(srv)
    c = connect(srv)
    inject_after_starttls(c, f"EHLO evil\r\nAUTH PLAIN {AUTH_BLOB}\r\n".encode())
    assert no_reply_within(c, 0.5)
    lines = c.expect("EHLO client.example.org", 250)
    assert any(l[4:].startswith("AUTH ") for l in lines)  # still offered: nobody logged in
    assert "event=auth_ok" not in log_since(srv, mark)
    c.expect(f"AUTH PLAIN {AUTH_BLOB}", 235, "2.7.0 Authentication succeeded")


def test_injected_commands_alone_get_no_answer(srv):
    """Without EHLO inside TLS, an executed injected MAIL would answer 503 Send hello first."""
    c = connect(srv)
    inject_after_starttls(c, b"MAIL FROM:<ceo@example.test>\r\nQUIT\r\n")
    assert no_reply_within(c, 0.5)
    c.expect("MAIL FROM:<a@client.example.org>", 503, "5.5.2 Send hello first")
    c.expect("NOOP", 250, "2.0.0 OK")  # the injected QUIT did not close the session


def test_plaintext_after_the_ready_reply_breaks_the_handshake(srv):
    """Plaintext sent after 220 Ready, where the ClientHello belongs, is never executed: the
    server answers no command in clear and the handshake fails."""
    before = stored_messages(srv)
    c = connect(srv)
    c.expect("STARTTLS", 220, "2.0.0 Ready to start TLS")
    c.send(b"MAIL FROM:<ceo@example.test>\r\nNOOP\r\n")
    c.sock.settimeout(10)
    received = b""
    try:
        while True:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            received += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    # Only a TLS alert (record type 0x15) or nothing may come back; never an SMTP reply.
    assert not received or received[:1] == b"\x15", received
    assert_nothing_new(srv, before)
    # The server is fine afterwards.
    c2 = connect(srv)
    c2.expect("NOOP", 250)


def test_starttls_resets_everything_learned_in_clear(srv):
    """RFC 3207 4.2: a transaction begun in clear does not survive the upgrade."""
    before = stored_messages(srv)
    c = connect(srv)
    c.expect("MAIL FROM:<ceo@example.test>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    c.starttls()
    c.expect("RCPT TO:<kate@example.test>", 503, "5.5.2 Send hello first")
    c.expect("EHLO client.example.org", 250)
    c.expect("RCPT TO:<kate@example.test>", 503, "5.5.2 Need mail command")
    c.expect("DATA", 503, "5.5.2 Need mail command")
    assert_nothing_new(srv, before)


def test_starttls_with_arguments_or_twice(srv):
    c = connect(srv)
    c.expect("STARTTLS now", 501, "5.5.4 Invalid arguments")
    c.starttls()
    c.expect("EHLO client.example.org", 250)
    c.expect("STARTTLS", 503, "5.5.1 TLS already active")
    c.expect("NOOP", 250, "2.0.0 OK")


def test_injection_on_a_listener_without_starttls(mailroom):
    """Where STARTTLS is not offered, the pipelined commands after it are ordinary commands,
    each answered in order; nothing is upgraded or skipped."""
    srv = make_server(mailroom, [listener(tls="none")])
    c = connect(srv)
    c.send(b"STARTTLS\r\nNOOP\r\n")
    c.expect(None, 454, "4.7.0 TLS not available due to temporary reason")
    c.expect(None, 250, "2.0.0 OK")


def test_tls_session_survives_garbage_handshake_attempts(srv):
    """Clients that abort or garble the handshake cost the server nothing lasting."""
    for garbage in (b"\x16\x03\x01\x00\x05hello", b"\x00" * 64, b"GET / HTTP/1.0\r\n\r\n"):
        c = connect(srv)
        c.expect("STARTTLS", 220)
        c.send(garbage)
        c.sock.shutdown(socket.SHUT_WR)
        c.close()
    c = connect(srv)
    c.starttls()
    c.expect("EHLO client.example.org", 250)
    c.expect(f"AUTH PLAIN {AUTH_BLOB}", 235)
    c.expect("QUIT", 221)
