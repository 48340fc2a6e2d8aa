"""Delivery status notifications around remote delivery (issue 13 acceptance, RFC 3461/3464):

- seed 001's "delivery receipt": RCPT TO:User@Domain notify=success,failure for a local recipient
  gives a "delivered" DSN in the sender's mailbox;
- NOTIFY=SUCCESS to a remote server without the DSN extension gives a "relayed" DSN; to one with
  it, NOTIFY goes along and the next hop owes the receipt, not us;
- a message deferred past [queue] delay_warning_s gives one "delayed" DSN and is still delivered
  later; past [queue] max_lifetime_s it bounces 4.4.7 with the last error.
"""
import re
import time

import pytest

from conftest import RawSmtp
from peer_support import ScriptedDns, ScriptedSmtp, mx_port
from remote_support import (SENDER, SHORT_TIMEOUTS, delivery_status, dsns_for, queue_listing,
                            start_relay, wait_queue_empty)

BODY = "From: <chris@example.test>\r\nSubject: receipt please\r\nMessage-ID: <dsn-1@example.test>\r\n\r\nhello\r\n"
RECORDS = {("dom.test", "MX"): [(10, "mx1.dom.test")], ("mx1.dom.test", "A"): ["127.0.0.2"]}


@pytest.fixture
def port():
    return mx_port()


@pytest.fixture
def dns():
    with ScriptedDns(RECORDS) as d:
        yield d


def submit(srv, rcpt_lines, body=BODY, mail="MAIL FROM:<chris@example.test>"):
    """One transaction with RCPT lines exactly as given (the seeds' telnet style)."""
    c = RawSmtp(srv.port())
    try:
        assert c.reply()[0] == 220
        c.expect("EHLO contoso.com", 250)
        c.expect(mail, 250)
        for line in rcpt_lines:
            code, lines = c.cmd(line)
            assert code == 250, (line, lines)
        c.expect("DATA", 354)
        c.send(body + ".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        c.cmd("QUIT")
    finally:
        c.close()


def reports(srv, count):
    out = []
    for msg in dsns_for(srv, count=count):
        out.append((msg, delivery_status(msg)))
    return out


def test_seed_001_delivery_receipt_for_a_local_recipient(mailroom, dns, port):
    srv = start_relay(mailroom, dns.address, port, users=["kate@example.test"])
    # Seed 001, "Advanced Testing": RCPT TO:User@Site.Domain.Com notify=success,failure
    submit(srv, ["RCPT TO:kate@example.test notify=success,failure"])
    srv.wait_for_mail("kate@example.test")
    ((dsn, report),) = reports(srv, 1)
    assert "Action: delivered" in report and "Status: 2.0.0" in report, report
    assert "Final-Recipient: rfc822; kate@example.test" in report
    assert dsn["To"].endswith("chris@example.test") or "chris@example.test" in dsn["To"]
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"


@pytest.mark.parametrize("peer_dsn", [False, True], ids=["peer-without-dsn", "peer-with-dsn"])
def test_notify_success_to_a_remote_server(mailroom, dns, port, peer_dsn):
    extra = ["DSN"] if peer_dsn else []
    with ScriptedSmtp("127.0.0.2", port, ehlo_extra=extra) as mx1:
        srv = start_relay(mailroom, dns.address, port, **SHORT_TIMEOUTS)
        submit(srv, ["RCPT TO:<bob@dom.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@dom.test"],
               mail="MAIL FROM:<chris@example.test> RET=HDRS ENVID=env-42")
        mx1.wait_for(1)
        wait_queue_empty(srv)
        rcpt_line = [l for l in mx1.client_lines()[0] if l.startswith("RCPT")][0]
        if peer_dsn:
            # The next hop takes over the duty to report (RFC 3461 5.2.2).
            assert "NOTIFY=SUCCESS,FAILURE" in rcpt_line and "ORCPT=rfc822;bob@dom.test" in rcpt_line
            time.sleep(1.5)  # a DSN would have been queued with the delivery
            assert not srv.maildir(SENDER).exists(), "a DSN although the next hop does DSN"
        else:
            assert "NOTIFY" not in rcpt_line
            ((dsn, report),) = reports(srv, 1)
            assert "Action: relayed" in report, report
            assert "Remote-MTA: dns; mx1.dom.test" in report
            assert "Original-Envelope-Id: env-42" in report


def test_delay_warning_then_delivery(mailroom, dns, port):
    srv = start_relay(mailroom, dns.address, port, queue={"delay_warning_s": 2},
                      **SHORT_TIMEOUTS)
    submit(srv, ["RCPT TO:<bob@dom.test> NOTIFY=SUCCESS,DELAY,FAILURE"])
    # Nothing listens on mx1: deferred, and after 2 s the sender hears about it, once.
    ((dsn, report),) = reports(srv, 1)
    assert "Action: delayed" in report and re.search(r"Status: 4\.4\.1", report), report
    assert "Will-Retry-Until:" in report
    assert "Connection refused" in dsn.as_string()
    assert "bob@dom.test" in queue_listing(srv)
    with ScriptedSmtp("127.0.0.2", port) as mx1:
        mx1.wait_for(1, timeout=30)
        wait_queue_empty(srv)
        # Then the "relayed" receipt (the scripted peer has no DSN): two in all, one "delayed".
        got = reports(srv, 2)
        actions = sorted(re.search(r"Action: (\w+)", r).group(1) for _, r in got)
        assert actions == ["delayed", "relayed"], actions


def test_expiry_bounces_with_the_last_error(mailroom, dns, port):
    srv = start_relay(mailroom, dns.address, port, queue={"max_lifetime_s": 3, "delay_warning_s": 0},
                      **SHORT_TIMEOUTS)
    submit(srv, ["RCPT TO:<bob@dom.test>"])
    ((dsn, report),) = reports(srv, 1)
    assert "Action: failed" in report and "Status: 4.4.7" in report, report
    text = dsn.as_string()
    assert "expired" in text and "Connection refused" in text, text[:2000]
    wait_queue_empty(srv)
