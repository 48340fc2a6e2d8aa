"""Hop-count loop detection (RFC 5321 6.3, [delivery] max_hops): a message that has already
passed through more than max_hops MTAs is accepted like any other (the count is only known once
the header is in), then not delivered: every recipient fails 5.4.6 and the sender gets a DSN, as
Postfix's "too many hops" bounce. One Received: header fewer than the limit still delivers, so
the test fails if the count is off by one either way or if loops are not looked for at all.
"""
from conftest import RawSmtp
from queue_support import parse_maildir_file, smtp_transaction, wait_until

LIMIT = 50  # the default [delivery] max_hops


def received_lines(n):
    return "".join(f"Received: from relay{i}.example.org by relay{i + 1}.example.org; "
                   f"Mon, 30 Nov 2026 12:00:{i % 60:02d} +0000\r\n" for i in range(n))


def send(srv, received, subject):
    c = RawSmtp(srv.port())
    assert c.reply()[0] == 220
    c.expect("EHLO client.example.test", 250)
    # Our own Received: line is added on receipt: n lines in, n + 1 counted at delivery.
    message = received + f"Subject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\nhi\r\n"
    code, line, qid = smtp_transaction(c, "chris@example.test", ["kate@example.test"], message)
    assert code == 250 and qid, line
    c.cmd("QUIT")
    c.close()


def test_a_message_over_the_hop_limit_bounces_5_4_6_and_one_under_is_delivered(mailroom):
    srv = mailroom([{"name": "inbound", "tls": "none", "auth": "none", "relay": "none"}])
    for u in ("kate", "chris"):
        srv.add_user(f"{u}@example.test", "pw-" + u)
    srv.start()

    send(srv, received_lines(LIMIT - 1), "at-the-limit")  # LIMIT with ours: delivered
    send(srv, received_lines(100), "looping")             # the 100 Received: lines

    kate = srv.wait_for_mail("kate@example.test")
    assert len(kate) == 1
    assert "at-the-limit" in kate[0].read_text()
    bounce = srv.wait_for_mail("chris@example.test")
    assert len(bounce) == 1
    dsn = parse_maildir_file(bounce[0].read_bytes())
    assert dsn.get_content_type() == "multipart/report"
    per_rcpt = dsn.get_payload()[1].get_payload()[1:]
    assert [r["Final-Recipient"] for r in per_rcpt] == ["rfc822; kate@example.test"]
    assert per_rcpt[0]["Action"] == "failed"
    assert per_rcpt[0]["Status"] == "5.4.6"
    assert "too many hops (101 Received: header fields, at most 50)" in \
        per_rcpt[0]["Diagnostic-Code"]
    returned = dsn.get_payload()[2].get_payload()[0]
    assert returned["Message-ID"] == "<looping@example.org>"
    wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout,
               what="an empty queue")
