"""AUTH over plaintext is refused by default (RFC 4954 4 and 6; RFC 3207).

PLAIN and LOGIN carry the password readably. On a listener that offers STARTTLS, mailroom does
not announce AUTH before TLS and answers an AUTH command in clear with
"538 5.7.11 Encryption required for requested authentication mechanism" — before any prompt,
so a client never sends its password in clear, and without checking anything (a correct
password gets the same answer as a wrong one: no oracle). A listener allows plaintext AUTH only
with allow_plaintext_auth = true. On an auth = "required" listener, MAIL before AUTH gets the
seeds' "530 5.7.1 Client was not authenticated" and nothing can be queued.
"""
import base64

import pytest

from test_hostile_support import (PASSWORD, USER, assert_nothing_new, connect, expect_queued,
                                  listener, log_mark, log_since, make_server, new_messages,
                                  start_module_server, stored_messages)

NEEDS_TLS = (538, "5.7.11 Encryption required for requested authentication mechanism")
GOOD = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()


def auth_keywords(ehlo_lines):
    return [l[4:] for l in ehlo_lines if l[4:].upper().startswith("AUTH")]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_module_server(tmp_path_factory.mktemp("plaintext"),
                            [listener(name="inbound", tls="starttls", auth="optional"),
                             listener(name="submission", tls="starttls", auth="required",
                                      relay="authenticated")])
    yield s
    s.stop()


@pytest.mark.parametrize("name", ["inbound", "submission"])
@pytest.mark.parametrize("command", [f"AUTH PLAIN {GOOD}", "AUTH PLAIN", "AUTH LOGIN",
                                     f"AUTH LOGIN {base64.b64encode(USER.encode()).decode()}",
                                     "auth plain " + GOOD],
                         ids=["plain_initial", "plain_prompted", "login", "login_initial",
                              "lowercase"])
def test_auth_in_clear_is_refused_without_a_prompt(srv, name, command):
    mark = log_mark(srv)
    c = connect(srv, name, ehlo=None)
    lines = c.expect("EHLO client.example.org", 250)
    assert auth_keywords(lines) == [], lines
    assert any(l[4:] == "STARTTLS" for l in lines)
    c.expect(command, *NEEDS_TLS)  # never 334: no password is asked for in clear
    c.expect("NOOP", 250, "2.0.0 OK")
    log = log_since(srv, mark)
    assert "event=auth_ok" not in log and "event=auth_failed" not in log


def test_submission_without_auth_queues_nothing(srv):
    before = stored_messages(srv)
    c = connect(srv, "submission")
    c.expect("MAIL FROM:<kate@example.test>", 530, "5.7.1 Client was not authenticated")
    c.expect("RCPT TO:<victim@other.org>", 503, "5.5.2 Need mail command")
    c.expect("DATA", 503, "5.5.2 Need mail command")
    c.send(b"BDAT 5 LAST\r\nhello")
    c.expect(None, 503, "5.5.2 Need mail command")
    assert_nothing_new(srv, before)


def test_same_credentials_work_inside_tls(srv):
    """The control: after STARTTLS, AUTH is announced and the same credentials succeed."""
    before = stored_messages(srv)
    c = connect(srv, "submission")
    c.starttls()
    lines = c.expect("EHLO client.example.org", 250)
    assert auth_keywords(lines) == ["AUTH PLAIN LOGIN"], lines
    c.expect(f"AUTH PLAIN {GOOD}", 235, "2.7.0 Authentication succeeded")
    # Logged in, the user sends as itself (a foreign sender is 553 5.7.1: test_submission.py).
    expect_queued(c, [USER], "Subject: over tls\r\n\r\nx\r\n", sender=USER)
    assert len(new_messages(srv, before)) == 1


def test_plaintext_auth_only_when_allowed(mailroom):
    srv = make_server(mailroom, [listener(name="clear", tls="none", auth="optional"),
                                 listener(name="allowed", tls="none", auth="optional",
                                          allow_plaintext_auth=True)])
    c = connect(srv, "clear", ehlo=None)
    assert auth_keywords(c.expect("EHLO client.example.org", 250)) == []
    c.expect(f"AUTH PLAIN {GOOD}", *NEEDS_TLS)
    c = connect(srv, "allowed", ehlo=None)
    assert auth_keywords(c.expect("EHLO client.example.org", 250)) == ["AUTH PLAIN LOGIN"]
    c.expect(f"AUTH PLAIN {GOOD}", 235, "2.7.0 Authentication succeeded")


def test_implicit_tls_offers_auth(mailroom):
    srv = make_server(mailroom, [listener(name="smtps", tls="implicit", auth="required",
                                          relay="authenticated")])
    from conftest import RawSmtp
    c = RawSmtp(srv.port("smtps"), implicit_tls=True)
    assert c.reply()[0] == 220
    assert auth_keywords(c.expect("EHLO client.example.org", 250)) == ["AUTH PLAIN LOGIN"]
    c.expect(f"AUTH PLAIN {GOOD}", 235)


def test_auth_is_never_offered_on_auth_none(mailroom):
    srv = make_server(mailroom, [listener(tls="none", auth="none", allow_plaintext_auth=True)])
    c = connect(srv, ehlo=None)
    assert auth_keywords(c.expect("EHLO client.example.org", 250)) == []
    c.expect(f"AUTH PLAIN {GOOD}", 503, "5.5.1 Authentication not enabled")
