"""Submission hygiene (RFC 6409 6.1, 8): an authenticated user gets Date: and Message-ID: added
to a message that lacks them, and may send only as an address it owns (its mailbox, a plus form,
an alias that delivers to it): otherwise 553 5.7.1, as Postfix's reject_sender_login_mismatch.
Mail from an unauthenticated client (another MTA) is passed on exactly as received.
"""
import base64
import email

from conftest import HOSTNAME

LISTENER = {"name": "inbound", "tls": "none", "auth": "optional", "relay": "authenticated",
            "allow_plaintext_auth": True}
KATE = "kate@example.test"
CHRIS = "chris@example.test"


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def start(mailroom, listener=None):
    srv = mailroom([dict(listener or LISTENER)])
    srv.add_user(KATE, "kate-pw")
    srv.add_user(CHRIS, "chris-pw")
    srv.cli("alias", "add", "sales@example.test", KATE, CHRIS)
    return srv.start()


def login(raw, srv, user=KATE, password="kate-pw"):
    c = raw(srv.port())
    c.expect(None, 220)
    c.expect("EHLO client.example.test", 250)
    c.expect(f"AUTH PLAIN {plain(user, password)}", 235)
    return c


def send(c, sender, rcpt, message):
    c.expect(f"MAIL FROM:<{sender}>", 250, "2.1.0 Sender OK")
    c.expect(f"RCPT TO:<{rcpt}>", 250)
    c.expect("DATA", 354)
    c.send(message + ".\r\n")
    return c.reply()


def test_missing_date_and_message_id_are_added_on_authenticated_submission(mailroom, raw):
    srv = start(mailroom)
    c = login(raw, srv)
    code, lines = send(c, KATE, CHRIS, "Subject: no date\r\n\r\nhello\r\n")
    assert code == 250, lines
    qid = lines[0].split("<")[1].split("@")[0]
    (path,) = srv.wait_for_mail(CHRIS)
    msg = email.message_from_bytes(path.read_bytes())
    assert msg["Message-ID"] == f"<{qid}@{HOSTNAME}>"
    assert msg["Date"] and email.utils.parsedate_to_datetime(msg["Date"]) is not None
    assert msg.get_payload() == "hello\n"


def test_present_fields_and_unauthenticated_mail_are_left_alone(mailroom, raw):
    srv = start(mailroom)
    c = login(raw, srv)
    own = "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <mine@client.example.test>\r\n" \
          "Subject: has both\r\n\r\nbody\r\n"
    assert send(c, KATE, CHRIS, own)[0] == 250
    (first,) = srv.wait_for_mail(CHRIS)
    data = first.read_bytes()
    assert data.count(b"Message-ID:") == 1 and b"<mine@client.example.test>" in data
    assert data.count(b"\nDate:") == 1
    # No AUTH: a relaying MTA's message is not ours to complete.
    c2 = raw(srv.port())
    c2.expect(None, 220)
    c2.expect("EHLO mta.example.org", 250)
    assert send(c2, "someone@example.org", CHRIS, "Subject: from an MTA\r\n\r\nx\r\n")[0] == 250
    files = srv.wait_for_mail(CHRIS, count=2)
    other = [f for f in files if f != first][0].read_bytes()
    assert b"Message-ID:" not in other and b"\nDate:" not in other


def test_sender_must_be_owned_by_the_login(mailroom, raw):
    srv = start(mailroom)
    c = login(raw, srv)
    c.expect(f"MAIL FROM:<{CHRIS}>", 553,
             f"5.7.1 <{CHRIS}>: Sender address rejected: not owned by user {KATE}")
    # The session goes on; her own address, a plus form and an alias that reaches her are hers.
    for own in (KATE, "kate+lists@example.test", "sales@example.test"):
        c.expect(f"MAIL FROM:<{own}>", 250, "2.1.0 Sender OK")
        c.expect("RSET", 250)
    c.expect("MAIL FROM:<>", 250, "2.1.0 Sender OK")  # bounces are not anyone's address
    assert "event=sender_login_mismatch" in srv.log_text()


def test_sender_login_exceptions_and_switch(mailroom, raw):
    listener = dict(LISTENER, sender_login_exceptions=[KATE])
    srv = start(mailroom, listener)
    c = login(raw, srv)
    c.expect(f"MAIL FROM:<{CHRIS}>", 250, "2.1.0 Sender OK")
    c.expect("RSET", 250)
    c2 = login(raw, srv, CHRIS, "chris-pw")
    c2.expect(f"MAIL FROM:<{KATE}>", 553)
