"""Every error reply of the dialogue, provoked over real TCP; after each non-fatal one the same
session still delivers a message."""
import base64
import time

import pytest

INBOUND = {"name": "inbound", "tls": "starttls", "auth": "optional", "relay": "none"}


@pytest.fixture
def srv(mailroom):
    s = mailroom([dict(INBOUND), {"name": "plain", "tls": "none", "auth": "none", "relay": "none",
                                  "max_message_size": 10000, "max_recipients": 3}])
    s.add_user("kate@example.test", "kate-secret")
    return s.start()


def session(raw, port, ehlo=True):
    c = raw(port)
    assert c.reply()[0] == 220
    if ehlo:
        c.expect("EHLO client.example", 250)
    return c


def still_usable(c, srv, to="kate@example.test", sender="a@elsewhere.example"):
    """The session goes on: a complete transaction succeeds after the error."""
    c.expect("RSET", 250, "2.0.0 Resetting")
    c.expect(f"MAIL FROM:<{sender}>", 250, "2.1.0 Sender OK")
    c.expect(f"RCPT TO:<{to}>", 250, "2.1.5 Recipient OK")
    c.expect("DATA", 354)
    c.send("Subject: after error\r\n\r\nok\r\n")
    c.expect(".", 250)


@pytest.mark.parametrize("line,code,text", [
    ("EHLO", 501, "5.5.4 Invalid domain name"),
    ("EHLO bad_domain!", 501, "5.5.4 Invalid domain name"),
    ("HELO -bad-.example", 501, "5.5.4 Invalid domain name"),
    ("FOO bar", 500, "5.3.3 Unrecognized command"),
    ("MAIL FROM:<not an address>", 550, "5.1.7 Invalid address"),
    ("MAIL FROM:<a@b> FOO=BAR", 501, "5.5.4 Unrecognized parameter"),
    ("MAIL TO:<a@b>", 501, "5.5.4 Invalid arguments"),
    ("RCPT TO:<kate@example.test>", 503, "5.5.2 Need mail command"),
    ("DATA", 503, "5.5.2 Need mail command"),
    ("RSET now", 501, "5.5.4 Invalid arguments"),
    ("VRFY kate", 252, "2.1.5 Cannot VRFY user"),
    ("EXPN staff", 502, "5.5.1 EXPN command is disabled"),
    ("NOOP", 250, "2.0.0 OK"),
    ("AUTH CRAM-MD5", 538, "5.7.11 Encryption required for requested authentication mechanism"),
])
def test_command_errors_keep_session_usable(srv, raw, line, code, text):
    c = session(raw, srv.port("inbound"))
    c.expect(line, code, text)
    still_usable(c, srv)


@pytest.mark.parametrize("name", ["foo_bar.example", "DESKTOP_7F3K", "mail_gw.corp.example."])
def test_ehlo_name_with_underscore_is_accepted_like_postfix(srv, raw, name):
    c = session(raw, srv.port("inbound"), ehlo=False)
    c.expect(f"EHLO {name}", 250)
    c.expect(f"HELO {name}", 250)
    still_usable(c, srv)


def test_send_hello_first(srv, raw):
    c = session(raw, srv.port("inbound"), ehlo=False)
    c.expect("MAIL FROM:<a@elsewhere.example>", 503, "5.5.2 Send hello first")
    c.expect("HELO client.example", 250)
    still_usable(c, srv)


def test_need_rcpt_and_nested_mail(srv, raw):
    c = session(raw, srv.port("inbound"))
    c.expect("MAIL FROM:<a@elsewhere.example>", 250)
    c.expect("DATA", 503, "5.5.2 Need rcpt command")
    c.expect("MAIL FROM:<b@elsewhere.example>", 503, "5.5.1 Sender already specified")
    still_usable(c, srv)


def test_user_unknown_and_relay(srv, raw):
    c = session(raw, srv.port("inbound"))
    c.expect("MAIL FROM:<a@elsewhere.example>", 250)
    c.expect("RCPT TO:<nobody@example.test>", 550, "5.1.1 User unknown")
    c.expect("RCPT TO:<victim@elsewhere.example>", 550, "5.7.1 Unable to relay")
    c.expect("RCPT TO:<Postmaster>", 250, "2.1.5 Recipient OK")
    c.expect("RCPT TO:<kate@example.test>", 250)
    c.expect("DATA", 354)
    c.send("Subject: x\r\n\r\nx\r\n")
    c.expect(".", 250)


def test_null_sender_and_seed_forms(srv, raw):
    c = session(raw, srv.port("inbound"))
    c.expect("MAIL FROM:<>", 250, "2.1.0 Sender OK")
    c.expect("RSET", 250)
    for form in ["MAIL FROM:<chris@contoso.com>", "MAIL FROM: <chris@contoso.com>", "MAIL FROM:chris@contoso.com",
                 "mail from:chris@contoso.com"]:
        c.expect(form, 250, "2.1.0 Sender OK")
        c.expect("RSET", 250)


def test_size_limits(srv, raw):
    c = session(raw, srv.port("plain"))
    c.expect("MAIL FROM:<a@elsewhere.example> SIZE=20000", 552,
             "5.3.4 Message size exceeds fixed maximum message size")
    # A client that lies about SIZE is stopped during DATA.
    c.expect("MAIL FROM:<a@elsewhere.example> SIZE=100", 250)
    c.expect("RCPT TO:<kate@example.test>", 250)
    c.expect("DATA", 354)
    c.send(("x" * 70 + "\r\n") * 200)
    c.expect(".", 552, "5.3.4 Message size exceeds fixed maximum message size")
    still_usable(c, srv)


def test_too_many_recipients(srv, raw):
    c = session(raw, srv.port("plain"))
    c.expect("MAIL FROM:<a@elsewhere.example>", 250)
    for _ in range(3):
        c.expect("RCPT TO:<kate@example.test>", 250)
    c.expect("RCPT TO:<kate@example.test>", 452, "4.5.3 Too many recipients")
    c.expect("DATA", 354)
    c.send("Subject: x\r\n\r\nx\r\n")
    c.expect(".", 250)


def test_tls_not_available_on_plain_listener(srv, raw):
    c = session(raw, srv.port("plain"))
    c.expect("STARTTLS", 454, "4.7.0 TLS not available due to temporary reason")
    c.expect("AUTH LOGIN", 503, "5.5.1 Authentication not enabled")
    still_usable(c, srv)


def test_auth_unknown_mechanism_after_tls(srv, raw):
    c = session(raw, srv.port("inbound"))
    c.starttls()
    c.expect("EHLO client.example", 250)
    c.expect("AUTH CRAM-MD5", 504, "5.5.4 Unrecognized authentication type")
    c.expect("AUTH LOGIN", 334, "VXNlcm5hbWU6")
    c.expect("*", 501, "5.0.0 Authentication cancelled")
    c.expect("AUTH PLAIN " + base64.b64encode(b"\0kate@example.test\0kate-secret").decode(), 235,
             "2.7.0 Authentication succeeded")
    c.expect("AUTH PLAIN", 503, "5.5.1 Already authenticated")
    # Authenticated, kate may send only as herself (submission hygiene, test_submission.py).
    still_usable(c, srv, sender="kate@example.test")


def test_too_many_errors_closes(mailroom, raw):
    srv = mailroom(limits={"hard_error_limit": 5}).start()
    c = session(raw, srv.port())
    for _ in range(4):
        c.expect("BOGUS", 500, "5.3.3 Unrecognized command")
    c.send("BOGUS\r\n")
    assert c.reply() == (500, ["500 5.3.3 Unrecognized command"])
    assert c.reply() == (421, ["421 4.7.0 Too many errors on this connection, closing transmission channel"])
    assert c.closed()


def test_client_outside_remote_ranges(mailroom, raw):
    srv = mailroom([{"name": "inbound", "remote_ranges": ["192.0.2.0/24"]}]).start()
    c = raw(srv.port())
    assert c.reply() == (554, ["554 5.7.1 Client host rejected: access denied"])
    assert c.closed()


def test_idle_timeout_answers_421(mailroom, raw):
    srv = mailroom(limits={"idle_timeout_s": 1}).start()
    c = session(raw, srv.port())
    c.sock.settimeout(10)
    code, lines = c.reply()
    assert code == 421 and lines[0] == "421 4.4.2 mx.example.test Error: timeout exceeded"
    assert c.closed()


def test_pipelined_transaction_in_one_packet(srv, raw):
    c = session(raw, srv.port("inbound"))
    c.send("MAIL FROM:<a@elsewhere.example>\r\nRCPT TO:<kate@example.test>\r\n"
           "RCPT TO:<nobody@example.test>\r\nDATA\r\n")
    assert c.reply()[1] == ["250 2.1.0 Sender OK"]
    assert c.reply()[1] == ["250 2.1.5 Recipient OK"]
    assert c.reply()[1] == ["550 5.1.1 User unknown"]
    assert c.reply()[0] == 354
    c.send("Subject: pipelined\r\n\r\nbody\r\n.\r\nMAIL FROM:<b@elsewhere.example>\r\n"
           "RCPT TO:<kate@example.test>\r\nDATA\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[1] == ["250 2.1.0 Sender OK"]
    assert c.reply()[1] == ["250 2.1.5 Recipient OK"]
    assert c.reply()[0] == 354
    c.send("Subject: second\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[0] == 221
    srv.wait_for_mail("kate@example.test", count=2)


def test_bdat_chunking_binarymime(srv, raw):
    c = session(raw, srv.port("inbound"))
    c.expect("MAIL FROM:<a@elsewhere.example> BODY=BINARYMIME", 250)
    c.expect("RCPT TO:<kate@example.test>", 250)
    c.expect("DATA", 503, "5.5.1 BODY=BINARYMIME requires BDAT, not DATA")
    part1 = b"Subject: chunked\r\n\r\n"
    part2 = b"binary \x00\x01\xff payload\r\n.\r\nnot a command\r\n"
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    assert c.reply() == (250, [f"250 2.0.0 {len(part1)} octets received"])
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    code, lines = c.reply()
    assert code == 250 and "Queued mail for delivery" in lines[0]
    data = srv.wait_for_mail("kate@example.test")[0].read_bytes()
    # A BINARYMIME message is stored byte for byte, CRLF included (RFC 3030 3); NUL and 0xFF
    # arrive unchanged and the ".\r\n" line inside the chunk stays data.
    assert data.endswith(part1 + part2)


def test_bdat_without_transaction_consumes_chunk(srv, raw):
    c = session(raw, srv.port("inbound"))
    payload = b"RSET\r\nQUIT\r\n"  # must be swallowed as chunk data, not executed
    c.send(b"BDAT %d LAST\r\n" % len(payload) + payload)
    assert c.reply() == (503, ["503 5.5.2 Need mail command"])
    still_usable(c, srv)


def test_starttls_resets_session(srv, raw):
    c = session(raw, srv.port("inbound"))
    c.expect("MAIL FROM:<a@elsewhere.example>", 250)
    c.starttls()
    c.expect("MAIL FROM:<a@elsewhere.example>", 503, "5.5.2 Send hello first")
    lines = c.expect("EHLO client.example", 250)
    assert "250-STARTTLS" not in lines
    c.expect("STARTTLS", 503, "5.5.1 TLS already active")
    still_usable(c, srv)


def test_help_and_quit(srv, raw):
    c = session(raw, srv.port("inbound"))
    code, lines = c.cmd("HELP")
    assert code == 214
    c.expect("QUIT", 221, "2.0.0 Service closing transmission channel")
    assert c.closed()
