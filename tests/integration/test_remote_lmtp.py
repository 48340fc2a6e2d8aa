"""Local mailboxes handed to Dovecot's own LMTP server (issue 13 acceptance; RFC 2033):
[delivery] local = "lmtp:unix:/path" or "lmtp:127.0.0.1:port".

- the message lands in Dovecot's Maildir byte for byte, over the UNIX socket and over TCP;
- LMTP answers per recipient after the data: a recipient Dovecot does not know bounces quoting
  Dovecot's reply while the other is delivered, in the same transaction;
- Dovecot down: the message waits (deferred) and the retry delivers it once Dovecot is back.
"""
import email
import re

import pytest

from conftest import RawSmtp
from peer_support import ScriptedSmtp, free_port_on
from postfix_support import DovecotLmtp
from queue_support import smtp_transaction, wait_until
from remote_support import SENDER, delivery_status, queue_listing, wait_queue_empty

BODY = ("From: Chris <chris@example.test>\r\nTo: kate@example.test\r\nSubject: lmtp\r\n"
        "Message-ID: <lmtp-1@example.test>\r\n\r\n.leading dot\r\nFrom here\r\n\r\nend\r\n")
PLAIN = {"name": "inbound", "tls": "none", "auth": "none", "relay": "none"}


def start(mailroom, local, users=("kate@example.test", "ghost@example.test")):
    srv = mailroom([dict(PLAIN)], extra={
        "delivery": {"local": local, "connect_timeout_s": 2, "helo_timeout_s": 2},
        "queue": {"min_backoff_s": 1, "max_backoff_s": 2}})
    for u in (SENDER, *users):
        srv.add_user(u, "pw")
    srv.start()
    return srv


def send(srv, rcpts):
    c = RawSmtp(srv.port())
    try:
        assert c.reply()[0] == 220
        c.expect("EHLO client.test", 250)
        code, line, qid = smtp_transaction(c, SENDER, rcpts, BODY)
        assert code == 250, line
        c.cmd("QUIT")
        return qid
    finally:
        c.close()


def original(data):
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data[data.index(b"From: Chris"):]


@pytest.fixture
def dovecot():
    # The sender's mailbox is behind LMTP too: the DSN goes there.
    with DovecotLmtp("t", ["kate@example.test", SENDER], free_port_on("127.0.0.1")) as d:
        yield d


@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_message_reaches_dovecots_maildir(mailroom, dovecot, via):
    local = f"lmtp:unix:{dovecot.socket}" if via == "unix" else f"lmtp:127.0.0.1:{dovecot.port}"
    srv = start(mailroom, local)
    qid = send(srv, ["kate@example.test"])
    (data,) = dovecot.wait_for_mail("kate@example.test")
    assert original(data) == BODY.encode()
    assert b"Delivered-To: kate@example.test" in data  # Dovecot's own header
    wait_queue_empty(srv)
    assert re.search(rf"id={qid} to=<kate@example.test> status=delivered", srv.log_text())
    # Nothing in mailroom's own Maildir: LMTP replaced it.
    assert not srv.maildir("kate@example.test").exists()


def test_lmtp_answers_per_recipient(mailroom, dovecot):
    srv = start(mailroom, f"lmtp:unix:{dovecot.socket}")
    send(srv, ["kate@example.test", "ghost@example.test"])
    dovecot.wait_for_mail("kate@example.test")
    (data,) = dovecot.wait_for_mail(SENDER)
    dsn = email.message_from_bytes(data)
    report = delivery_status(dsn)
    assert "Final-Recipient: rfc822; ghost@example.test" in report and "Action: failed" in report
    assert re.search(r"Status: 5\.1\.1", report), report
    assert re.search(r"Diagnostic-Code: smtp; 550 5\.1\.1 .*ghost@example.test", report, re.S), report
    assert "kate@example.test" not in report
    wait_queue_empty(srv)


def test_dovecot_down_defers_then_delivers(mailroom):
    port = free_port_on("127.0.0.1")
    d = DovecotLmtp("down", ["kate@example.test"], port)
    srv = start(mailroom, f"lmtp:127.0.0.1:{port}", users=["kate@example.test"])
    send(srv, ["kate@example.test"])
    wait_until(lambda: "Connection refused" in queue_listing(srv), what="a deferral")
    with d:
        d.wait_for_mail("kate@example.test")
        wait_queue_empty(srv)


def test_delivery_receipt_through_lmtp_says_delivered(mailroom, dovecot):
    # The LMTP server is the final delivery (RFC 2033 4.2): a NOTIFY=SUCCESS receipt says
    # "delivered", not "relayed", whether or not the LMTP server announced DSN.
    srv = start(mailroom, f"lmtp:unix:{dovecot.socket}")
    c = RawSmtp(srv.port())
    try:
        assert c.reply()[0] == 220
        c.expect("EHLO client.test", 250)
        code, line, _ = smtp_transaction(c, SENDER, ["kate@example.test"], BODY,
                                         rcpt_params=" NOTIFY=SUCCESS")
        assert code == 250, line
    finally:
        c.close()
    dovecot.wait_for_mail("kate@example.test")
    (data,) = dovecot.wait_for_mail(SENDER)
    report = delivery_status(email.message_from_bytes(data))
    assert "Action: delivered" in report and "Final-Recipient: rfc822; kate@example.test" in report, report


def test_lmtp_temporary_failure_retries_only_that_recipient(mailroom):
    # A scripted LMTP server: after the body, kate's copy is saved and amy's gets 452 (mailbox
    # full) the first time. The retry carries amy alone; kate's copy never goes again.
    port = free_port_on("127.0.0.1")
    refusals = ["452 4.2.2 <amy@example.test> Mailbox full"]

    def amy_once(conn):
        return refusals.pop() if refusals else None

    with ScriptedSmtp("127.0.0.1", port, lmtp=True, name="lmtp.test",
                      default={"eod:amy@example.test": amy_once}) as lmtp:
        srv = start(mailroom, f"lmtp:127.0.0.1:{port}", users=["kate@example.test", "amy@example.test"])
        qid = send(srv, ["kate@example.test", "amy@example.test"])
        wait_until(lambda: len(lmtp.delivered) >= 2, timeout=40, what="both copies")
        wait_queue_empty(srv)
        assert sorted(m.rcpts[0] for m in lmtp.delivered) == ["amy@example.test", "kate@example.test"]
        assert [m.rcpts for m in lmtp.bodies_read] == [["kate@example.test", "amy@example.test"],
                                                        ["amy@example.test"]]
        log = srv.log_text()
        assert re.search(rf"id={qid} to=<amy@example.test> status=deferred .*452 4\.2\.2", log), log[-2000:]
