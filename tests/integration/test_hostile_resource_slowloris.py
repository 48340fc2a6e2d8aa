"""Resource abuse, part 3: slowloris — clients that hold a session open by doing little.

Rules (src/server/session.cpp, session_data.cpp; RFC 5321 4.5.3.2):
  * limits.idle_timeout_s without a complete read: 421 4.4.2 "<host> Error: timeout exceeded",
    then close — whether the client is silent or in the middle of a line;
  * limits.session_timeout_s bounds the whole session however busy the client keeps it;
  * limits.data_timeout_s bounds each wait for message data (DATA or BDAT);
  * limits.min_data_rate_bytes_per_s: a DATA phase or BDAT chunk averaging less (checked once at
    least 10 s have passed) is ended with 421 4.4.2;
  * a client that stops reading our replies is closed at the deadline without a reply.
Nothing of an unfinished message is stored. Timeouts are small here; the assertions check what
happens and in what order, never how fast. Which limit ended a session is read from the server's
log ("event=timeout limit=<setting>"), not inferred from how long it took: each test connects from
its own loopback address to find its session's line.
"""
import re
import time

import pytest

from test_hostile_support import (USER, assert_nothing_new, connect, listener, make_server,
                                  read_until_closed, start_module_server, stored_messages)
from queue_support import wait_until

TIMEOUT = (421, "4.4.2 mx.example.test Error: timeout exceeded")


def limit_that_fired(srv, client_ip):
    """The setting named by the server's timeout line for client_ip's session(s)."""
    pattern = re.compile(rf"client={re.escape(client_ip)} event=timeout limit=(\w+)")
    found = wait_until(lambda: pattern.findall(srv.log_text()), timeout=30,
                       what=f"a timeout line for {client_ip}")
    assert len(set(found)) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_module_server(tmp_path_factory.mktemp("slow"), [listener()],
                            limits={"idle_timeout_s": 2, "data_timeout_s": 2,
                                    "session_timeout_s": 6})
    yield s
    s.stop()


def expect_timeout_and_close(c):
    c.sock.settimeout(20)
    c.expect(None, *TIMEOUT)
    assert read_until_closed(c) == b""


def test_silent_client_is_timed_out(srv):
    c = connect(srv, ehlo=None, source_ip="127.0.1.1")
    expect_timeout_and_close(c)
    assert limit_that_fired(srv, "127.0.1.1") == "idle_timeout_s"


def test_half_a_command_is_timed_out(srv):
    c = connect(srv, source_ip="127.0.1.2")
    c.send(b"MAIL FROM:<slow@client.example.org")
    expect_timeout_and_close(c)
    assert limit_that_fired(srv, "127.0.1.2") == "idle_timeout_s"


def test_dripping_a_line_is_ended_by_the_session_limit(srv):
    """One octet every 0.5 s never lets the idle timer fire; the session limit ends it."""
    c = connect(srv, source_ip="127.0.1.3")
    started = time.monotonic()
    closed = False
    while time.monotonic() - started < 30:
        try:
            c.sock.sendall(b"N")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        c.sock.settimeout(0.5)
        try:
            data = c.sock.recv(4096)
        except TimeoutError:
            continue
        c.buf += data
        if not data or b"\r\n" in c.buf:
            break
    if not closed:
        c.sock.settimeout(10)
        expect_timeout_and_close(c)
    assert limit_that_fired(srv, "127.0.1.3") == "session_timeout_s"


def test_busy_client_is_ended_by_the_session_limit(srv):
    c = connect(srv, source_ip="127.0.1.4")
    answered = 0
    while True:
        code, lines = c.cmd("NOOP")
        if code != 250:
            break
        answered += 1
        time.sleep(0.5)
        assert answered < 60, "the session limit never ended the session"
    assert (code, lines[-1][4:]) == TIMEOUT, lines
    assert read_until_closed(c) == b""
    assert limit_that_fired(srv, "127.0.1.4") == "session_timeout_s"


def test_stalled_data_is_timed_out_and_nothing_stored(srv):
    before = stored_messages(srv)
    c = connect(srv, source_ip="127.0.1.5")
    c.expect("MAIL FROM:<slow@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: never finished\r\n\r\nhalf a body")
    expect_timeout_and_close(c)
    assert_nothing_new(srv, before)
    assert limit_that_fired(srv, "127.0.1.5") == "data_timeout_s"


def test_stalled_bdat_is_timed_out_and_nothing_stored(srv):
    before = stored_messages(srv)
    c = connect(srv, source_ip="127.0.1.6")
    c.expect("MAIL FROM:<slow@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    c.send(b"BDAT 100 LAST\r\nonly part of it")
    expect_timeout_and_close(c)
    assert_nothing_new(srv, before)
    assert limit_that_fired(srv, "127.0.1.6") == "data_timeout_s"


def test_client_that_stops_reading_is_closed(srv):
    """Replies pile up in the network until the server's write blocks; the deadline closes the
    session anyway, and the client finds EOF after what was already sent."""
    c = connect(srv, source_ip="127.0.1.7")
    c.sock.setblocking(False)
    sent = 0
    blocked = 0
    while blocked < 30 and sent < 100_000_000:
        try:
            sent += c.sock.send(b"HELP\r\n" * 5000)
            blocked = 0
        except BlockingIOError:
            blocked += 1
            time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            break
    time.sleep(3)  # past idle_timeout_s while blocked writing
    c.sock.setblocking(True)
    data = read_until_closed(c, timeout=30)
    assert data.count(b"214 ") < sent // 6, "every HELP was answered: the server never blocked"
    # Which deadline it was depends on when the pipe filled up; that the write was blocked does not.
    assert limit_that_fired(srv, "127.0.1.7") in ("idle_timeout_s", "session_timeout_s")
    assert re.search(r"client=127\.0\.1\.7 event=timeout limit=\w+ state=writing", srv.log_text())
    connect(srv).expect("NOOP", 250)


@pytest.mark.parametrize("command", ["DATA", "BDAT 100000 LAST"], ids=["data", "bdat"])
def test_slow_drip_in_data_is_cut_by_min_rate(mailroom, command):
    srv = make_server(mailroom, [listener()],
                      limits={"min_data_rate_bytes_per_s": 1000, "data_timeout_s": 3,
                              "idle_timeout_s": 3, "session_timeout_s": 120})
    before = stored_messages(srv)
    c = connect(srv, source_ip="127.0.1.8")
    c.expect("MAIL FROM:<slow@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    if command == "DATA":
        c.expect("DATA", 354)
    else:
        c.send(command + "\r\n")  # no reply until the chunk is complete (RFC 3030)
    started = time.monotonic()
    c.sock.settimeout(1)
    got = b""
    while time.monotonic() - started < 40:
        try:
            c.sock.sendall(b"Subject: drip\r\n")  # 15 bytes a second: far below 1000/s
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            got = c.sock.recv(4096)
            break
        except TimeoutError:
            continue
    c.buf = got
    c.sock.settimeout(10)
    expect_timeout_and_close(c)
    assert_nothing_new(srv, before)
    # Not data_timeout_s (3 s): a line a second keeps the reads coming.
    assert limit_that_fired(srv, "127.0.1.8") == "min_data_rate_bytes_per_s"
