"""The seed documents' telnet sessions, replayed line by line over real TCP.

002: the full Exchange 2016 session (EHLO, MAIL, RCPT with NOTIFY, DATA, QUIT).
003: relay-denied session, then AUTH LOGIN with the base64 prompts.
004: the lowercase `helo` / `mail from:` / `rcpt to:` session typed without angle brackets.
"""
import base64
import re

RFC5322_DATE = r"\w{3}, \d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"


def test_seed_002_full_session(mailroom, raw):
    srv = mailroom()
    srv.add_user("kate@example.test", "kate-password")
    srv.start()
    c = raw(srv.port())
    code, lines = c.reply()
    assert code == 220
    assert re.fullmatch(r"220 mx\.example\.test mailroom ESMTP MAIL Service ready at " + RFC5322_DATE, lines[0])
    lines = c.expect("EHLO contoso.com", 250)
    assert lines == [
        "250-mx.example.test Hello [127.0.0.1]",
        "250-SIZE 37748736",
        "250-PIPELINING",
        "250-DSN",
        "250-ENHANCEDSTATUSCODES",
        "250-STARTTLS",
        "250-8BITMIME",
        "250-BINARYMIME",
        "250-CHUNKING",
        "250 SMTPUTF8",
    ]
    c.expect("MAIL FROM: <chris@contoso.com>", 250, "2.1.0 Sender OK")
    c.expect("RCPT TO: <kate@example.test> NOTIFY=success,failure", 250, "2.1.5 Recipient OK")
    c.expect("DATA", 354, "Start mail input; end with <CRLF>.<CRLF>")
    c.send("Subject: test\r\n \r\nThis is a test message.\r\n")
    lines = c.expect(".", 250)
    m = re.fullmatch(r"250 2\.6\.0 <([^>@]+)@mx\.example\.test> Queued mail for delivery", lines[-1])
    assert m, lines
    c.expect("QUIT", 221, "2.0.0 Service closing transmission channel")
    assert c.closed()
    files = srv.wait_for_mail("kate@example.test")
    body = files[0].read_text()
    assert "Subject: test" in body
    assert "This is a test message." in body
    assert m.group(1) in body  # the Received: header names the queue id


def test_seed_003_relay_denied_then_auth_login(mailroom, raw):
    listener = {"name": "inbound", "tls": "starttls", "auth": "optional",
                "relay": "authenticated", "allow_plaintext_auth": True}
    srv = mailroom([listener], server={"local_domains": ["contoso.com"]})
    srv.add_user("someone@contoso.com", "Passw0rd!")
    srv.start()
    c = raw(srv.port())
    assert c.reply()[0] == 220
    lines = c.expect("EHLO mail.alternatecontoso.com", 250)
    assert "250-AUTH PLAIN LOGIN" in lines
    c.expect("MAIL FROM: someone@alternatecontoso.com", 250, "2.1.0 Sender OK")
    c.expect("RCPT TO: postmaster@contoso.com", 250, "2.1.5 Recipient OK")
    c.expect("RCPT TO: foreignemail@externalserver.com", 550, "5.7.1 Unable to relay")
    c.expect("RSET", 250, "2.0.0 Resetting")
    c.expect("AUTH LOGIN", 334, "VXNlcm5hbWU6")
    c.expect(base64.b64encode(b"someone@contoso.com").decode(), 334, "UGFzc3dvcmQ6")
    c.expect(base64.b64encode(b"Passw0rd!").decode(), 235, "2.7.0 Authentication succeeded")
    c.expect("MAIL FROM: someone@contoso.com", 250, "2.1.0 Sender OK")
    c.expect("RCPT TO: foreignemail@externalserver.com", 250, "2.1.5 Recipient OK")
    c.expect("QUIT", 221)


def test_seed_003_wrong_password(mailroom, raw):
    listener = {"name": "inbound", "tls": "starttls", "auth": "optional",
                "relay": "authenticated", "allow_plaintext_auth": True}
    srv = mailroom([listener], server={"local_domains": ["contoso.com"]})
    srv.add_user("someone@contoso.com", "Passw0rd!")
    srv.start()
    c = raw(srv.port())
    c.reply()
    c.expect("EHLO mail.alternatecontoso.com", 250)
    c.expect("AUTH LOGIN", 334, "VXNlcm5hbWU6")
    c.expect(base64.b64encode(b"someone@contoso.com").decode(), 334, "UGFzc3dvcmQ6")
    c.expect(base64.b64encode(b"wrong").decode(), 535, "5.7.8 Authentication unsuccessful")
    # Still not allowed to relay, and the session goes on.
    c.expect("MAIL FROM: someone@contoso.com", 250)
    c.expect("RCPT TO: foreignemail@externalserver.com", 550, "5.7.1 Unable to relay")
    assert "Passw0rd!" not in srv.log_text() and "wrong" not in srv.log_text().replace("wrong_", "")


def test_seed_004_lowercase_session(mailroom, raw):
    srv = mailroom()
    srv.add_user("ed@example.test", "pw-ed-1234")
    srv.start()
    c = raw(srv.port())
    c.reply()
    c.expect("helo example.com", 250, "mx.example.test Hello [127.0.0.1]")
    c.expect("mail from:elvis@graceland.com", 250, "2.1.0 Sender OK")
    c.expect("rcpt to:ed@example.test", 250, "2.1.5 Recipient OK")
    c.expect("data", 354)
    c.send("From: elvis@graceland.com\r\nSubject: The King\r\n\r\nThank you, thank you very much.\r\n")
    c.expect(".", 250)
    c.expect("quit", 221)
    body = srv.wait_for_mail("ed@example.test")[0].read_text()
    assert "Thank you, thank you very much." in body
    assert "Return-Path: <elvis@graceland.com>" in body
