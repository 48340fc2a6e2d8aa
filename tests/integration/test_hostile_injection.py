"""Injection: CR, LF and NUL in commands, parameters, addresses, HELO names and AUTH data never
reach a header, a log line or a queue file unescaped.

Where client bytes end up, and what guards each place:
  * command lines: a line holding any control octet but TAB is refused before it is parsed
    (500 5.5.2 Invalid characters in command), so a bare CR or a NUL never reaches a handler;
    only LF ends a command line, so "bare LF" splits it into two commands, neither of which can
    carry the other's bytes;
  * HELO names (Received: header, envelope, logs): must be a domain or an address literal
    (501 5.5.4 Invalid domain name) — no space, parenthesis or control octet;
  * ESMTP parameters (ENVID, ORCPT, AUTH=): xtext-decoded values holding control octets are
    refused with 501 5.5.4;
  * AUTH data (user names go to the log): base64 may decode to anything; the log shows it with
    control octets replaced by '?';
  * the queue file's envelope record percent-escapes every octet <= 0x20 (checked on every
    field by test_hostile_support.parse_queue_file).
After each attack a clean message is sent and its stored form checked: the Received: header is
ours, no injected header exists, and every log line starts with a timestamp.
"""
import base64
import re

import pytest

from test_hostile_support import (PASSWORD, USER, connect, expect_queued, listener,
                                  log_lines_are_clean, log_mark, log_since, new_messages,
                                  start_module_server, stored_messages)

BAD_CHARS = (500, "5.5.2 Invalid characters in command")
BAD_HELO = (501, "5.5.4 Invalid domain name")
MARK = "X-Injected: yes"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_module_server(tmp_path_factory.mktemp("injection"),
                            [listener(allow_plaintext_auth=True)])
    yield s
    s.stop()


def assert_clean_message_and_log(srv, c, before, helo="client.example.org"):
    expect_queued(c, [USER], "Subject: clean\r\n\r\nclean\r\n")
    fresh = new_messages(srv, before)
    assert len(fresh) == 1, fresh
    body = fresh[0].body
    headers = body.split(b"\r\n\r\n", 1)[0]
    assert MARK.encode() not in body
    # Our trace header comes first, names the HELO we gave, and holds no raw control octet.
    received = re.match(rb"^Received: from (\S+) \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.test ",
                        headers)
    assert received and received.group(1) == helo.encode(), headers[:300]
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", headers)
    assert not re.search(rb"\r(?!\n)|(?<!\r)\n", headers), "bare CR or LF in stored headers"
    if fresh[0].envelope is not None:
        assert fresh[0].envelope["client_helo"] == helo
    bad_lines, ctrl = log_lines_are_clean(srv)
    assert bad_lines == [] and ctrl == [], (bad_lines[:5], ctrl[:5])


@pytest.mark.parametrize("line,expected", [
    ("EHLO evil.org\rX-Injected: yes", BAD_CHARS),
    ("EHLO evil.org\x00X-Injected: yes", BAD_CHARS),
    ("EHLO evil.org\x0bX", BAD_CHARS),
    ("EHLO evil.org\x1b[2J", BAD_CHARS),
    ("EHLO evil.org (forged: mx.example.test)", BAD_HELO),
    ("EHLO evil.org;X-Injected:yes", BAD_HELO),
    ("EHLO [127.0.0.1]\rX", BAD_CHARS),
    ("EHLO [127.0.0.1\x00junk]", BAD_CHARS),
    ("EHLO [127.0.0.1 junk]", BAD_HELO),
    ("HELO evil.org\x7f", BAD_HELO),
], ids=["cr", "nul", "vt", "escape_seq", "comment_spoof", "semicolon", "literal_cr", "literal_nul",
        "literal_space", "del"])
def test_helo_name_injection(srv, line, expected):
    before = stored_messages(srv)
    c = connect(srv, ehlo=None)
    c.expect(line, *expected)
    c.expect("EHLO client.example.org", 250)
    assert_clean_message_and_log(srv, c, before)


def test_bare_lf_splits_a_command_into_two(srv):
    """Only LF frames a command line: "EHLO a\\nX-Injected: yes" is EHLO a, then an unknown
    command. The HELO name recorded is exactly "evil.org"."""
    before = stored_messages(srv)
    c = connect(srv, ehlo=None)
    c.send(f"EHLO evil.org\n{MARK}\r\n")
    c.expect(None, 250)
    c.expect(None, 500, "5.3.3 Unrecognized command")
    assert_clean_message_and_log(srv, c, before, helo="evil.org")


@pytest.mark.parametrize("line,expected", [
    ("MAIL FROM:<a\r@evil.org>", BAD_CHARS),
    ("MAIL FROM:<a@evil.org>\x00 SIZE=10", BAD_CHARS),
    ('MAIL FROM:<"a\\\rb"@evil.org>', BAD_CHARS),
    ("MAIL FROM:<a@evil.org> ENVID=x+0D+0AX-Injected:+20yes",
     (501, "5.5.4 Invalid ENVID parameter value")),
    ("MAIL FROM:<a@evil.org> ENVID=x+00y", (501, "5.5.4 Invalid ENVID parameter value")),
    ("MAIL FROM:<a@evil.org> AUTH=x+0D+0Ay", (501, "5.5.4 Invalid AUTH parameter value")),
    ("MAIL FROM:<a@evil.org> X-INJECT=\x01", BAD_CHARS),
    ("MAIL FROM:<a@evil.\u2028org>", (553, "5.6.7 SMTPUTF8 required for non-ASCII address")),
], ids=["cr_in_path", "nul_after_path", "cr_in_quoted_pair", "envid_crlf", "envid_nul",
        "auth_param_crlf", "control_in_param", "unicode_line_separator"])
def test_mail_from_injection(srv, line, expected):
    before = stored_messages(srv)
    c = connect(srv)
    c.expect(line, *expected)
    c.expect("RSET", 250)
    assert_clean_message_and_log(srv, c, before)


@pytest.mark.parametrize("line,expected", [
    ("RCPT TO:<kate@example.test\r>", BAD_CHARS),
    ("RCPT TO:<kate@example.test> ORCPT=rfc822;a+0D+0AX-Injected:+20yes",
     (501, "5.5.4 Invalid ORCPT parameter value")),
    ("RCPT TO:<kate@example.test> ORCPT=rfc822;a+00b", (501, "5.5.4 Invalid ORCPT parameter value")),
    ("RCPT TO:<kate@example.test> NOTIFY=SUCCESS\x00,FAILURE", BAD_CHARS),
    ("RCPT TO:<\"kate\x00\"@example.test>", BAD_CHARS),
], ids=["cr_in_path", "orcpt_crlf", "orcpt_nul", "notify_nul", "nul_in_quoted"])
def test_rcpt_to_injection(srv, line, expected):
    before = stored_messages(srv)
    c = connect(srv)
    c.expect("MAIL FROM:<a@client.example.org>", 250)
    c.expect(line, *expected)
    c.expect("RSET", 250)
    assert_clean_message_and_log(srv, c, before)


@pytest.mark.parametrize("line", ["VRFY kate\rX", "NOOP \x00", "XYZZY\rX-Injected: yes",
                                  "RSET\x00", "HELP \x1b]0;owned\x07"],
                         ids=["vrfy", "noop", "unknown", "rset", "osc_escape"])
def test_other_command_injection(srv, line):
    before = stored_messages(srv)
    c = connect(srv)
    c.expect(line, *BAD_CHARS)
    assert_clean_message_and_log(srv, c, before)


@pytest.mark.parametrize("user", [f"kate@example.test\r\n{MARK}", "kate\x00admin",
                                  "\x1b[31mroot\x1b[0m", "kate\n2024-01-01T00:00:00.000 info fake"],
                         ids=["crlf", "nul", "ansi", "fake_log_line"])
def test_auth_data_injection(srv, user):
    """User names come from base64 and may hold any octet; the log line for the failure shows
    them escaped, and no fake log line appears."""
    before = stored_messages(srv)
    mark = log_mark(srv)
    c = connect(srv)
    plain = base64.b64encode(f"\0{user}\0wrong".encode()).decode()
    c.expect(f"AUTH PLAIN {plain}", 535, "5.7.8 Authentication unsuccessful")
    c.expect("AUTH LOGIN", 334, "VXNlcm5hbWU6")
    c.expect(base64.b64encode(user.encode()).decode(), 334, "UGFzc3dvcmQ6")
    c.expect(base64.b64encode(b"wrong\r\nQUIT").decode(), 535, "5.7.8 Authentication unsuccessful")
    log = log_since(srv, mark)
    assert "event=auth_failed" in log
    assert "fake" not in log or "?2024-01-01T00:00:00.000 info fake" in log
    assert_clean_message_and_log(srv, c, before)


def test_auth_initial_response_with_raw_crlf_inside_base64_line(srv):
    """A CR inside the AUTH line itself is refused before AUTH sees it."""
    mark = log_mark(srv)
    c = connect(srv)
    c.expect("AUTH PLAIN AGthdGU\rAHdyb25n", *BAD_CHARS)
    assert "event=auth_failed" not in log_since(srv, mark)  # no password check was even attempted
    good = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    c.expect(f"AUTH PLAIN {good}", 235)
