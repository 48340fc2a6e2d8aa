"""Remote delivery over real TCP: mailroom finds the destination's MX hosts in a private dnsmasq
and delivers to Python aiosmtpd servers on other 127.0.0.x addresses (RFC 5321 5.1).

Shown: preference order, fallback from a host that refuses connections, implicit MX, NXDOMAIN and
null MX bouncing at once with their status, 5xx at RCPT bouncing with the remote reply quoted,
the body arriving byte for byte, and one connection carrying all recipients of a message.
"""
import email
import re

import pytest

from dns_support import DnsServer
from peer_support import mx_port
from queue_support import maildir_messages, send_message, wait_until
from remote_support import RemoteServer

RELAY = {"name": "inbound", "tls": "none", "auth": "none", "relay": "ranges",
         "relay_ranges": ["127.0.0.0/8"]}
SENDER = "chris@example.test"
BODY = ("From: Chris <chris@example.test>\r\nTo: Bob <bob@dom.test>\r\nSubject: remote\r\n"
        "Message-ID: <remote-1@example.test>\r\n\r\nLine one\r\n.leading dot\r\n\r\nend\r\n")


def start(mailroom, dns, port, **delivery):
    d = {"remote_port": port, "destination_backoff_s": 0}
    d.update(delivery)
    srv = mailroom([dict(RELAY)], extra={
        "dns": {"servers": [dns.address], "timeout_ms": 1000},
        "delivery": d,
        "queue": {"min_backoff_s": 1, "max_backoff_s": 2}})
    srv.add_user(SENDER, "pw")  # before the start: a DSN must find its mailbox at once
    srv.start()
    return srv


def body_of(received):
    # Everything after our own Received: header, which mailroom adds at receipt.
    data = received.data
    assert data.startswith(b"Received: from "), data[:200]
    return data[data.index(b"\r\nFrom: ") + 2:]


@pytest.fixture
def port():
    return mx_port()


def test_preferred_mx_gets_the_message_byte_for_byte(mailroom, port):
    with DnsServer(mx=[("dom.test", "mx1.dom.test", 10), ("dom.test", "mx2.dom.test", 20)],
                   hosts=[("mx1.dom.test", "127.0.0.2"), ("mx2.dom.test", "127.0.0.3")]) as dns:
        mx1 = RemoteServer("127.0.0.2", port)
        mx2 = RemoteServer("127.0.0.3", port)
        try:
            srv = start(mailroom, dns, port)
            code, line, qid = send_message(srv.port(), SENDER, ["bob@dom.test", "amy@dom.test"],
                                           BODY)
            assert code == 250, line
            (msg,) = mx1.wait_for(1)
            assert sorted(msg.rcpt_tos) == ["amy@dom.test", "bob@dom.test"]  # one transaction
            assert msg.mail_from == SENDER
            assert body_of(msg) == BODY.encode()
            assert mx2.messages == []
            wait_until(lambda: qid not in srv.cli("queue", "list").stdout,
                       what="the message to leave the queue")
            log = srv.log_text()
            assert re.search(rf"id={qid} to=<bob@dom.test> status=delivered", log), log[-2000:]
        finally:
            mx1.stop()
            mx2.stop()


def test_refusing_preferred_mx_falls_back_to_the_next(mailroom, port):
    with DnsServer(mx=[("dom.test", "mx1.dom.test", 10), ("dom.test", "mx2.dom.test", 20)],
                   hosts=[("mx1.dom.test", "127.0.0.2"), ("mx2.dom.test", "127.0.0.3")]) as dns:
        mx2 = RemoteServer("127.0.0.3", port)  # nothing listens on 127.0.0.2:port
        try:
            srv = start(mailroom, dns, port)
            code, line, _ = send_message(srv.port(), SENDER, ["bob@dom.test"], BODY)
            assert code == 250, line
            (msg,) = mx2.wait_for(1)
            assert msg.rcpt_tos == ["bob@dom.test"]
        finally:
            mx2.stop()


def test_domain_without_mx_uses_its_address(mailroom, port):
    with DnsServer(hosts=[("nomx.test", "127.0.0.4")]) as dns:
        host = RemoteServer("127.0.0.4", port)
        try:
            srv = start(mailroom, dns, port)
            send_message(srv.port(), SENDER, ["bob@nomx.test"], BODY)
            (msg,) = host.wait_for(1)
            assert msg.rcpt_tos == ["bob@nomx.test"]
        finally:
            host.stop()


def dsn_for(srv, count=1):
    files = srv.wait_for_mail(SENDER, count=count, timeout=30)
    return [email.message_from_bytes(f.read_bytes()) for f in files]


def delivery_status(msg):
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            return part.as_string()
    raise AssertionError("no message/delivery-status part")


@pytest.mark.parametrize("domain,records,status,text", [
    ("gone.test", {}, "5.1.2", "Host or domain name not found"),
    ("nullmx.test", {"mx": [("nullmx.test", ".", 0)]}, "5.1.10", "does not accept mail"),
])
def test_nxdomain_and_null_mx_bounce_at_once(mailroom, port, domain, records, status, text):
    with DnsServer(**records) as dns:
        srv = start(mailroom, dns, port)
        code, line, qid = send_message(srv.port(), SENDER, [f"bob@{domain}"], BODY)
        assert code == 250, line
        (dsn,) = dsn_for(srv)
        report = delivery_status(dsn)
        assert f"Status: {status}" in report, report
        assert "Action: failed" in report
        assert text in dsn.as_string()


def test_remote_5xx_at_rcpt_bounces_quoting_the_server(mailroom, port):
    with DnsServer(mx=[("dom.test", "mx1.dom.test", 10)], hosts=[("mx1.dom.test", "127.0.0.2")]) as dns:
        mx1 = RemoteServer("127.0.0.2", port,
                           rcpt_replies={"nobody@dom.test": "550 5.1.1 <nobody@dom.test>: no such user"})
        try:
            srv = start(mailroom, dns, port)
            send_message(srv.port(), SENDER, ["nobody@dom.test", "bob@dom.test"], BODY)
            (msg,) = mx1.wait_for(1)
            assert msg.rcpt_tos == ["bob@dom.test"]  # the other recipient still got it
            (dsn,) = dsn_for(srv)
            report = delivery_status(dsn)
            assert "Final-Recipient: rfc822; nobody@dom.test" in report
            assert "Status: 5.1.1" in report
            assert "Remote-MTA: dns; mx1.dom.test" in report
            assert "Diagnostic-Code: smtp; 550 5.1.1 <nobody@dom.test>: no such user" in report
            human = dsn.get_payload()[0].get_payload()
            assert "host mx1.dom.test[127.0.0.2]" in human and "said: 550 5.1.1" in human, human
        finally:
            mx1.stop()


def test_unreachable_destination_is_deferred_with_the_reason(mailroom, port):
    with DnsServer(mx=[("dom.test", "mx1.dom.test", 10)], hosts=[("mx1.dom.test", "127.0.0.2")]) as dns:
        srv = start(mailroom, dns, port)
        code, line, qid = send_message(srv.port(), SENDER, ["bob@dom.test"], BODY)
        assert code == 250, line
        wait_until(lambda: "Connection refused" in srv.cli("queue", "list").stdout,
                   what="a deferral naming the refused connection")
        out = srv.cli("queue", "list").stdout
        assert re.search(r"4\.4\.1 connect to mx1\.dom\.test\[127\.0\.0\.2\]:\d+: Connection refused",
                         out), out
        # The host comes back: the retry delivers.
        mx1 = RemoteServer("127.0.0.2", port)
        try:
            (msg,) = mx1.wait_for(1, timeout=30)
            assert msg.rcpt_tos == ["bob@dom.test"]
        finally:
            mx1.stop()


def test_flush_ends_the_rest_of_a_destination_that_came_back(mailroom, port):
    # A destination that was down rests (destination_backoff_s) and its messages are deferred at
    # once; when the administrator says it is back with `queue flush`, it is tried at once, as
    # Postfix's `postqueue -f` retries dead destinations (bench scenario (i) found this).
    with DnsServer(mx=[("dom.test", "mx1.dom.test", 10)], hosts=[("mx1.dom.test", "127.0.0.2")]) as dns:
        srv = start(mailroom, dns, port, destination_backoff_s=3600)
        code, line, qid = send_message(srv.port(), SENDER, ["bob@dom.test"], BODY)
        assert code == 250, line
        wait_until(lambda: "Connection refused" in srv.cli("queue", "list").stdout,
                   what="a deferral naming the refused connection")
        mx1 = RemoteServer("127.0.0.2", port)
        try:
            # Retries every 1-2 s meet the resting destination: nothing is sent.
            wait_until(lambda: "not tried again yet" in srv.cli("queue", "list").stdout,
                       what="a retry deferred by the destination's rest")
            assert mx1.messages == []
            srv.cli("queue", "flush")
            (msg,) = mx1.wait_for(1, timeout=10)
            assert msg.rcpt_tos == ["bob@dom.test"]
        finally:
            mx1.stop()
