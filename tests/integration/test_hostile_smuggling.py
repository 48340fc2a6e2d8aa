"""SMTP smuggling (CVE-2023-51764 Postfix, -51765 Sendmail, -51766 Exim; SEC Consult, 2023).

The attack: an outbound server ends a message with one end-of-data look-alike (say <LF>.<LF>),
an inbound server ends it with another, and the bytes in between are taken for a second,
spoofed transaction. The defence chosen for mailroom (see src/server/session_data.cpp):

  * Only <CRLF>.<CRLF> ends DATA. Nothing else ever ends it, so nothing after a look-alike is
    ever read as a command.
  * A message with a bare LF or a bare CR anywhere (in a look-alike or not) is refused whole with
    "550 5.5.2 Message rejected: bare <LF> or <CR> received, use <CRLF> line endings", answered
    after its real end-of-data, and nothing of it is queued. This is the strict form of
    Postfix's smtpd_forbid_bare_newline fix: no message mailroom accepts can be re-split by a
    laxer server it is relayed to.
  * BDAT chunks are framed by their size alone; the same bare-CR/LF rule applies to their
    content (BODY=BINARYMIME excepted, which is never relayed with DATA).

Each test sends the attack over real TCP, checks the one reply it must get, checks that no
injected command was answered (the next reply in the stream belongs to our next command), that
nothing was stored, and that the session still carries a well-behaved message afterwards.
"""
import pytest

from test_hostile_support import (USER, assert_nothing_new, connect, expect_queued, listener,
                                  new_messages, no_reply_within, start_module_server,
                                  stored_messages)

BARE_NEWLINE = "5.5.2 Message rejected: bare <LF> or <CR> received, use <CRLF> line endings"

# The transaction an attacker hides behind the look-alike.
INJECTED = (b"MAIL FROM:<ceo@example.test>\r\n"
            b"RCPT TO:<kate@example.test>\r\n"
            b"DATA\r\n"
            b"From: ceo@example.test\r\n"
            b"Subject: smuggled\r\n"
            b"\r\n"
            b"wire the money\r\n")

# End-of-data look-alikes from the SEC Consult paper and the Postfix/Exim/Sendmail advisories.
LOOKALIKES = {
    "lf_dot_lf": b"\n.\n",
    "crlf_dot_lf": b"\r\n.\n",
    "lf_dot_crlf": b"\n.\r\n",
    "cr_dot_cr": b"\r.\r",
    "crlf_dot_cr": b"\r\n.\r",
    "cr_dot_crlf": b"\r.\r\n",
    "lf_dot_cr": b"\n.\r",
    "cr_dot_lf": b"\r.\n",
    "crlf_dot_cr_crlf": b"\r\n.\r\r\n",
    "crlf_dot_lf_crlf": b"\r\n.\n\r\n",
    "crlf_dot_nul_crlf": b"\r\n.\x00\r\n",
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_module_server(tmp_path_factory.mktemp("smuggling"), [listener()])
    yield s
    s.stop()


def finish_with_a_good_message(srv, c, before):
    """The session is still in step: NOOP gets its own reply, and a clean message goes through
    with the one recipient we gave it and none of the injected text."""
    c.expect("NOOP", 250, "2.0.0 OK")
    expect_queued(c, [USER], "Subject: legit\r\n\r\nhello\r\n")
    fresh = new_messages(srv, before)
    assert len(fresh) == 1, fresh
    assert fresh[0].recipients == [USER]
    assert b"smuggled" not in fresh[0].body and b"legit" in fresh[0].body
    c.expect("QUIT", 221)


@pytest.mark.parametrize("lookalike", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_lookalike_end_of_data_never_ends_the_message(srv, lookalike):
    before = stored_messages(srv)
    c = connect(srv)
    c.expect("MAIL FROM:<sender@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: first\r\n\r\nbody" + lookalike + INJECTED)
    # The look-alike ended nothing: the server is still reading the first message.
    assert no_reply_within(c, 0.7)
    c.send(b"\r\n.\r\n")
    if lookalike == b"\r\n.\x00\r\n":
        # No bare CR/LF here: a NUL line is content. The message is one message, whole.
        code, lines = c.reply()
        assert code == 250 and lines[-1].startswith("250 2.6.0 "), lines
        fresh = new_messages(srv, before)
        assert len(fresh) == 1 and fresh[0].recipients == [USER], fresh
        assert b"MAIL FROM:<ceo@example.test>\r\n" in fresh[0].body  # as text, not as a command
        before = stored_messages(srv)
    else:
        c.expect(None, 550, BARE_NEWLINE)
        assert_nothing_new(srv, before)
    finish_with_a_good_message(srv, c, before)


@pytest.mark.parametrize("lookalike", [b"\n.\n", b"\r.\r", b"\r\n.\n"],
                         ids=["lf_dot_lf", "cr_dot_cr", "crlf_dot_lf"])
def test_lookalike_split_across_segments(srv, lookalike):
    """The same, one octet per TCP segment, so no framing shortcut can see it whole."""
    before = stored_messages(srv)
    c = connect(srv)
    c.expect("MAIL FROM:<sender@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    c.expect("DATA", 354)
    for b in b"Subject: x\r\n\r\nbody" + lookalike + INJECTED[:40]:
        c.send(bytes([b]))
    assert no_reply_within(c, 0.5)
    c.send(b"\r\n.\r\n")
    c.expect(None, 550, BARE_NEWLINE)
    assert_nothing_new(srv, before)
    finish_with_a_good_message(srv, c, before)


@pytest.mark.parametrize("body", [b"Subject: a\nFrom: b\r\n\r\nx\r\n", b"Subject: a\r\n\r\nx\ry\r\n",
                                  b"Subject: a\r\n\r\nlast line\r", b"Subject: a\r\n\r\n\n"],
                         ids=["bare_lf_in_header", "bare_cr_in_body", "bare_cr_before_end",
                              "lone_lf_line"])
def test_any_bare_newline_refuses_the_whole_message(srv, body):
    before = stored_messages(srv)
    c = connect(srv)
    c.expect("MAIL FROM:<sender@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    c.expect("DATA", 354)
    c.send(body + b"\r\n.\r\n")
    c.expect(None, 550, BARE_NEWLINE)
    assert_nothing_new(srv, before)
    finish_with_a_good_message(srv, c, before)


def test_pipelined_commands_after_the_real_end_run_once(srv):
    """Commands pipelined behind <CRLF>.<CRLF> (RFC 2920) are commands, each answered once; those
    hidden behind a look-alike in the same burst are not."""
    before = stored_messages(srv)
    c = connect(srv)
    c.send(b"MAIL FROM:<sender@client.example.org>\r\nRCPT TO:<kate@example.test>\r\nDATA\r\n")
    c.expect(None, 250)
    c.expect(None, 250)
    c.expect(None, 354)
    c.send(b"Subject: s\r\n\r\nx\n.\nRSET\r\n\r\n.\r\nNOOP\r\n")
    c.expect(None, 550, BARE_NEWLINE)
    c.expect(None, 250, "2.0.0 OK")  # the NOOP after the real end; no reply for the hidden RSET
    assert no_reply_within(c, 0.3)
    assert_nothing_new(srv, before)
    finish_with_a_good_message(srv, c, before)


def bdat_transaction(c):
    c.expect("MAIL FROM:<sender@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)


def test_bdat_content_is_data_never_commands(srv):
    """A BDAT chunk holding <CRLF>.<CRLF> and a whole transaction is one message of exactly that
    size: the commands in it are stored as text, never executed."""
    before = stored_messages(srv)
    c = connect(srv)
    bdat_transaction(c)
    chunk = b"Subject: chunk\r\n\r\nbody\r\n.\r\n" + INJECTED + b".\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
    code, lines = c.reply()
    assert code == 250 and lines[-1].startswith("250 2.6.0 "), lines
    assert no_reply_within(c, 0.3)  # no reply for any of the "commands" in the chunk
    fresh = new_messages(srv, before)
    assert len(fresh) == 1 and fresh[0].recipients == [USER], fresh
    assert fresh[0].body.endswith(chunk)
    c.expect("QUIT", 221)


@pytest.mark.parametrize("chunks", [
    [b"Subject: b\r\n\r\nx\ny\r\n"],
    [b"Subject: b\r\n\r\nx\ry\r\n"],
    [b"Subject: b\r\n\r\nx\r", b"y\r\n"],          # bare CR split across two chunks
    [b"Subject: b\r\n\r\nx\r\n", b"\n"],           # bare LF opening the second chunk
], ids=["bare_lf", "bare_cr", "cr_split_across_chunks", "lf_opens_chunk"])
def test_bdat_bare_newline_is_refused(srv, chunks):
    before = stored_messages(srv)
    c = connect(srv)
    bdat_transaction(c)
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        c.send(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"") + chunk)
        if not last:
            c.expect(None, 250, f"2.0.0 {len(chunk)} octets received")
    c.expect(None, 550, BARE_NEWLINE)
    assert_nothing_new(srv, before)
    finish_with_a_good_message(srv, c, before)


def test_bdat_crlf_split_across_chunks_is_fine(srv):
    """The control for the test above: a CR ending one chunk and the LF opening the next are one
    ordinary line end."""
    before = stored_messages(srv)
    c = connect(srv)
    bdat_transaction(c)
    first = b"Subject: b\r\n\r\nx\r"
    c.send(b"BDAT %d\r\n" % len(first) + first)
    c.expect(None, 250, f"2.0.0 {len(first)} octets received")
    c.send(b"BDAT 1 LAST\r\n\n")
    code, lines = c.reply()
    assert code == 250 and lines[-1].startswith("250 2.6.0 "), lines
    fresh = new_messages(srv, before)
    assert len(fresh) == 1 and fresh[0].body.endswith(b"Subject: b\r\n\r\nx\r\n")


def test_bdat_message_ending_in_bare_cr_is_refused(srv):
    before = stored_messages(srv)
    c = connect(srv)
    bdat_transaction(c)
    chunk = b"Subject: b\r\n\r\nends with a bare CR\r"
    c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
    c.expect(None, 550, BARE_NEWLINE)
    assert_nothing_new(srv, before)
