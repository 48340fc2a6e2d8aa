"""Resource abuse, part 1: what one session can send — overlong lines, pipelined bursts, too many
recipients, SIZE lies, BDAT chunk sizes that lie or overflow, endless errors — and the memory it
can make the server hold (RSS from /proc while a client sends a 50 MB line or an endless header).

The rules under test (src/server/session*.cpp, src/smtp/line_buffer.cpp, src/smtp/data_reader.cpp):
  * a command line longer than limits.max_command_line_bytes is answered 500 5.5.2 Line too long;
    its excess is discarded as it arrives, never buffered;
  * a message line longer than limits.max_text_line_bytes refuses the message (554 5.6.0), a
    message over max_message_size refuses it with 552 5.3.4 whatever SIZE said; both are read to
    their end first and stream to the spool, never into memory;
  * recipients past max_recipients get 452 4.5.3 and are not added;
  * a BDAT size that is not a number the server can count to closes the session (421 4.5.0, it
    cannot resynchronise); any other chunk is consumed to its last octet, whatever the reply, and
    a chunk size followed by bad arguments gets 501 5.5.4 after its chunk, and the session goes on;
  * limits.hard_error_limit errors end the session with 421 4.7.0.
Other resource limits: test_hostile_resource_auth.py, _slowloris.py, _floods.py.
"""
import threading

import pytest

from test_hostile_support import (USER, RssSampler, assert_nothing_new, connect, expect_queued,
                                  incoming_leftovers, listener, make_server, new_messages,
                                  no_reply_within, read_until_closed, rss_kb, start_module_server,
                                  stored_messages)

MB = 1024 * 1024
# Headroom for a session's buffers and allocator slack; far below what buffering 50 MB would need.
RSS_GROWTH_LIMIT_KB = 24 * 1024
LINE_TOO_LONG = (500, "5.5.2 Line too long")
# After end-of-data only 250, 450-452, 550-554 are valid (RFC 5321 4.3.2): a message line over the
# limit is a content problem (RFC 3463 X.6.x), not a syntax error of a command.
TEXT_LINE_TOO_LONG = (554, "5.6.0 Message rejected: text line too long")
TOO_BIG = (552, "5.3.4 Message size exceeds fixed maximum message size")
SMALL_MAX = 65536


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_module_server(tmp_path_factory.mktemp("abuse"),
                            [listener(max_recipients=5),
                             listener(name="small", max_message_size=SMALL_MAX),
                             listener(name="big", max_message_size=100 * MB)],
                            limits={"max_command_line_bytes": 512, "max_text_line_bytes": 1000,
                                    "hard_error_limit": 50})
    yield s
    s.stop()


def warm_baseline(srv):
    """RSS after one complete session, so first-use allocations are not counted as growth."""
    c = connect(srv)
    c.expect("NOOP", 250)
    c.expect("QUIT", 221)
    return rss_kb(srv.proc.pid)


def send_in_chunks(c, prefix, total, chunk=b"A" * MB):
    c.send(prefix)
    sent = 0
    while sent < total:
        n = min(len(chunk), total - sent)
        c.sock.sendall(chunk[:n])
        sent += n


def transaction(c, rcpt=USER, params=""):
    c.expect(f"MAIL FROM:<sender@client.example.org>{params}", 250)
    c.expect(f"RCPT TO:<{rcpt}>", 250)


# --- line lengths --------------------------------------------------------------------------------

def test_command_line_limit_is_exact(srv):
    c = connect(srv)
    c.expect("NOOP " + "x" * (512 - 5), 250, "2.0.0 OK")
    c.expect("NOOP " + "x" * (513 - 5), *LINE_TOO_LONG)
    c.expect("NOOP", 250, "2.0.0 OK")


@pytest.mark.measures_rss
def test_50mb_command_line_is_discarded_as_it_arrives(srv):
    base = warm_baseline(srv)
    sampler = RssSampler(srv.proc.pid)
    c = connect(srv)
    send_in_chunks(c, b"MAIL FROM:<", 50 * MB)
    c.send(b">\r\n")
    c.expect(None, *LINE_TOO_LONG)
    peak = sampler.stop()
    assert peak - base < RSS_GROWTH_LIMIT_KB, f"RSS grew {peak - base} KB for one long line"
    c.expect("NOOP", 250, "2.0.0 OK")  # and the tail of the line was not taken for a command


def test_text_line_limit_refuses_the_message(srv):
    before = stored_messages(srv)
    c = connect(srv)
    transaction(c)
    c.expect("DATA", 354)
    c.send(b"Subject: ok\r\n\r\n" + b"x" * 1000 + b"\r\n" + b"y" * 1001 + b"\r\n.\r\n")
    c.expect(None, *TEXT_LINE_TOO_LONG)
    assert_nothing_new(srv, before)
    expect_queued(c, [USER], "Subject: ok\r\n\r\n" + "x" * 1000 + "\r\n")


@pytest.mark.measures_rss
@pytest.mark.parametrize("listener_name,expected", [("inbound", TOO_BIG), ("big", TEXT_LINE_TOO_LONG)])
def test_endless_header_keeps_memory_bounded(srv, listener_name, expected):
    """A 50 MB header line: over max_message_size on one listener, under it on the other (where
    it streams to the spool and is refused for its line length). Either way RSS stays flat and
    the spool file is gone afterwards."""
    base = warm_baseline(srv)
    before = stored_messages(srv)
    sampler = RssSampler(srv.proc.pid)
    c = connect(srv, listener_name)
    transaction(c)
    c.expect("DATA", 354)
    send_in_chunks(c, b"X-Endless: ", 50 * MB)
    c.send(b"\r\n\r\nbody\r\n.\r\n")
    c.expect(None, *expected)
    peak = sampler.stop()
    assert peak - base < RSS_GROWTH_LIMIT_KB, f"RSS grew {peak - base} KB for one header"
    assert_nothing_new(srv, before)
    c.expect("NOOP", 250)


# --- pipelining ----------------------------------------------------------------------------------

def test_pipelined_burst_is_answered_in_order(srv):
    """100,000 pipelined commands in one burst: every one answered once, in order."""
    n = 100_000
    c = connect(srv)
    burst = b"NOOP\r\nRSET\r\n" * (n // 2)
    writer = threading.Thread(target=c.sock.sendall, args=(burst,))
    writer.start()
    for i in range(n):
        code, lines = c.reply()
        want = "250 2.0.0 OK" if i % 2 == 0 else "250 2.0.0 Resetting"
        assert lines == [want], (i, lines)
    writer.join()
    c.expect("QUIT", 221)


@pytest.mark.measures_rss
def test_burst_from_a_client_that_never_reads_keeps_memory_bounded(srv):
    """A client that pipelines without reading replies: the server stops reading once its
    replies back up (TCP flow control), so neither side's data piles up in its memory."""
    base = warm_baseline(srv)
    c = connect(srv)
    c.sock.setblocking(False)
    chunk = b"HELP\r\n" * 10000  # each HELP has a four-line reply: replies outgrow requests
    sent = 0
    stalled = 0
    while sent < 200 * MB and stalled < 50:
        try:
            sent += c.sock.send(chunk)
            stalled = 0
        except BlockingIOError:
            stalled += 1
            threading.Event().wait(0.02)
    assert stalled >= 50, "the server never pushed back"
    growth = rss_kb(srv.proc.pid) - base
    assert growth < RSS_GROWTH_LIMIT_KB, f"RSS grew {growth} KB after {sent} bytes unanswered"
    c.close()
    c2 = connect(srv)
    c2.expect("NOOP", 250)


# --- recipients and sizes ------------------------------------------------------------------------

def test_too_many_recipients(srv):
    before = stored_messages(srv)
    c = connect(srv)
    c.expect("MAIL FROM:<sender@client.example.org>", 250)
    for i in range(5):
        c.expect(f"RCPT TO:<kate+{i}@example.test>", 250, "2.1.5 Recipient OK")
    for i in range(5, 8):
        c.expect(f"RCPT TO:<kate+{i}@example.test>", 452, "4.5.3 Too many recipients")
    c.expect("DATA", 354)
    c.send(b"Subject: many\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    fresh = new_messages(srv, before)
    assert len(fresh) == 1 and fresh[0].recipients == [f"kate+{i}@example.test" for i in range(5)]


@pytest.mark.parametrize("param,expected", [
    (f" SIZE={SMALL_MAX + 1}", TOO_BIG),
    (" SIZE=18446744073709551615", TOO_BIG),
    (" SIZE=18446744073709551616", (501, "5.5.4 Invalid SIZE parameter value")),
    (" SIZE=-1", (501, "5.5.4 Invalid SIZE parameter value")),
    (" SIZE=1e9", (501, "5.5.4 Invalid SIZE parameter value")),
    (" SIZE=", (501, "5.5.4 Invalid SIZE parameter value")),
    (" SIZE=10 SIZE=10", (501, "5.5.4 Duplicate SIZE parameter")),
], ids=["over_max", "u64_max", "u64_overflow", "negative", "float", "empty", "repeated"])
def test_size_parameter_abuse(srv, param, expected):
    before = stored_messages(srv)
    c = connect(srv, "small")
    c.expect(f"MAIL FROM:<sender@client.example.org>{param}", *expected)
    c.expect(f"RCPT TO:<{USER}>", 503, "5.5.2 Need mail command")
    assert_nothing_new(srv, before)


def test_size_lie_is_caught_at_end_of_data(srv):
    before = stored_messages(srv)
    c = connect(srv, "small")
    transaction(c, params=" SIZE=100")
    c.expect("DATA", 354)
    c.send(b"Subject: liar\r\n\r\n" + (b"z" * 998 + b"\r\n") * 200 + b".\r\n")
    c.expect(None, *TOO_BIG)
    assert_nothing_new(srv, before)
    expect_queued(c, [USER], "Subject: honest\r\n\r\nx\r\n")


# --- BDAT ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", ["18446744073709551616", "99999999999999999999999", "-1", "-5",
                                  "0x10", "abc", "", "LAST 10"])
def test_bdat_size_we_cannot_count_closes_the_session_with_421(srv, args):
    """RFC 5321 3.8: a server that closes says 421 (4.5.0: RFC 3463 keeps X.5.4 for permanent
    errors)."""
    before = stored_messages(srv)
    c = connect(srv)
    transaction(c)
    c.send(f"BDAT {args}\r\nMAIL FROM:<x@y>\r\n".encode())
    c.expect(None, 421, "4.5.0 Invalid BDAT chunk size, cannot resynchronize, closing transmission channel")
    assert read_until_closed(c) == b""  # the bytes after it were never answered as commands
    assert_nothing_new(srv, before)


@pytest.mark.parametrize("args", ["10 LAST extra", "10 FIRST", "10 0", "10 LASTX"])
def test_bdat_with_known_size_but_bad_arguments_is_skipped_and_the_session_goes_on(srv, args):
    before = stored_messages(srv)
    c = connect(srv)
    transaction(c)
    c.send(f"BDAT {args}\r\nQUIT\r\nRS\r\nNOOP\r\n".encode())  # 10 octets of chunk, then NOOP
    c.expect(None, 501, "5.5.4 Invalid arguments")
    c.expect(None, 250, "2.0.0 OK")
    assert no_reply_within(c, 0.3)
    assert_nothing_new(srv, before)
    # The transaction is still there: no chunk of its message was taken.
    c.send(b"BDAT 21 LAST\r\nSubject: ok\r\n\r\nbody\r\n")
    code, lines = c.reply()
    assert code == 250 and "Queued mail for delivery" in lines[-1], lines


def test_bad_bdat_arguments_after_a_chunk_end_the_transaction(srv):
    """RFC 3030 2: after an error reply to a BDAT the transaction has failed; its message, missing
    the skipped chunk, is never completed."""
    before = stored_messages(srv)
    c = connect(srv)
    transaction(c)
    c.send(b"BDAT 3\r\nabc")
    c.expect(None, 250, "2.0.0 3 octets received")
    c.send(b"BDAT 2 LAST X\r\nde")
    c.expect(None, 501, "5.5.4 Invalid arguments")
    c.send(b"BDAT 1 LAST\r\nf")
    c.expect(None, 503, "5.5.2 Need mail command")
    assert_nothing_new(srv, before)
    expect_queued(c, [USER], "Subject: after\r\n\r\nx\r\n")


def test_bdat_chunk_overflowing_the_message_size(srv):
    before = stored_messages(srv)
    c = connect(srv, "small")
    transaction(c)
    c.send(b"BDAT 40000\r\n" + b"a" * 40000)
    c.expect(None, 250, "2.0.0 40000 octets received")
    c.send(b"BDAT 40000\r\n" + b"b" * 40000)
    c.expect(None, *TOO_BIG)
    # The transaction is gone; a further chunk is still consumed whole, not read as commands.
    c.send(b"BDAT 12 LAST\r\nNOOP\r\nNOOP\r\n")
    c.expect(None, 503, "5.5.2 Need mail command")
    assert no_reply_within(c, 0.3)
    assert_nothing_new(srv, before)
    expect_queued(c, [USER], "Subject: after\r\n\r\nx\r\n")


@pytest.mark.measures_rss
def test_bdat_of_u64_max_is_discarded_without_memory(srv):
    base = warm_baseline(srv)
    before = stored_messages(srv)
    sampler = RssSampler(srv.proc.pid)
    c = connect(srv, "small")
    transaction(c)
    send_in_chunks(c, b"BDAT 18446744073709551615 LAST\r\n", 50 * MB)
    c.send(b"QUIT\r\n")  # part of the chunk: no 221 can come
    assert no_reply_within(c, 0.5)
    peak = sampler.stop()
    assert peak - base < RSS_GROWTH_LIMIT_KB, f"RSS grew {peak - base} KB for one chunk"
    c.close()
    assert_nothing_new(srv, before)
    connect(srv).expect("NOOP", 250)


def test_bdat_chunk_longer_than_sent_eats_the_commands(srv):
    """A chunk that claims more than is sent swallows what follows; the data timeout ends it."""
    before = stored_messages(srv)
    c = connect(srv)
    transaction(c)
    c.send(b"BDAT 1000 LAST\r\nhello\r\nQUIT\r\n")
    assert no_reply_within(c, 0.5)
    c.expect(None, 421, "4.4.2 mx.example.test Error: timeout exceeded")
    read_until_closed(c)
    assert_nothing_new(srv, before)


def test_bdat_without_transaction_consumes_its_chunk(srv):
    c = connect(srv)
    chunk = b"MAIL FROM:<a@b.org>\r\nRSET\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
    c.expect(None, 503, "5.5.2 Need mail command")
    assert no_reply_within(c, 0.3)
    c.expect("NOOP", 250)


def test_data_after_bdat_is_refused(srv):
    before = stored_messages(srv)
    c = connect(srv)
    transaction(c)
    c.send(b"BDAT 3\r\nabc")
    c.expect(None, 250, "2.0.0 3 octets received")
    c.expect("DATA", 503, "5.5.1 DATA not allowed after BDAT in the same transaction")
    c.expect("RSET", 250)
    assert_nothing_new(srv, before)


# --- errors --------------------------------------------------------------------------------------

def test_hard_error_limit_closes_the_session(mailroom):
    srv = make_server(mailroom, limits={"hard_error_limit": 5})
    c = connect(srv)
    for _ in range(4):
        c.expect("XYZZY", 500, "5.3.3 Unrecognized command")
    c.send(b"XYZZY\r\nNOOP\r\n")
    c.expect(None, 500, "5.3.3 Unrecognized command")
    c.expect(None, 421, "4.7.0 Too many errors on this connection, closing transmission channel")
    assert read_until_closed(c) == b""  # the NOOP behind it got no answer
    assert incoming_leftovers(srv) == []
    connect(srv).expect("NOOP", 250)


def test_commands_after_quit_are_not_run(srv):
    before = stored_messages(srv)
    c = connect(srv)
    c.send(b"QUIT\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<kate@example.test>\r\nDATA\r\nx\r\n.\r\n")
    c.expect(None, 221)
    assert read_until_closed(c) == b""
    assert_nothing_new(srv, before)
