"""Resource abuse, part 5: the tarpit (limits.soft_error_limit and error_delay_ms, Postfix's
smtpd_soft_error_limit and smtpd_error_sleep_time; src/server/session.cpp error_delay).

Rules: once a session has made soft_error_limit errors, each further error is answered at once
and then followed by error_delay_ms of silence: the next command is not read, so not answered,
until the delay is over. Below the limit nothing waits. The delay is a timer: other sessions are
served meanwhile. hard_error_limit still ends the session (421 4.7.0) however slow it has become.

Every other test runs with error_delay_ms = 0. Here the delay is a minute (the most the setting
allows), so "held back" and "not held back" are told apart by order and by a bound no machine is
slow enough to reach, never by measuring: a reply within the delay means no tarpit, and a reply
that takes the whole minute would time out the read.
"""
import pytest

from test_hostile_support import (connect, listener, make_server, no_reply_within,
                                  read_until_closed, start_module_server)

SOFT = 3
DELAY_MS = 60_000
UNRECOGNIZED = (500, "5.3.3 Unrecognized command")
TOO_MANY_ERRORS = (421, "4.7.0 Too many errors on this connection, closing transmission channel")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_module_server(tmp_path_factory.mktemp("tarpit"), [listener()],
                            limits={"soft_error_limit": SOFT, "error_delay_ms": DELAY_MS,
                                    "hard_error_limit": SOFT + 2},
                            server={"shutdown_grace_s": 1})  # tarpitted sessions at the end
    yield s
    s.stop()


def errors(c, n):
    for _ in range(n):
        c.expect("XYZZY", *UNRECOGNIZED)


def test_below_the_soft_limit_nothing_waits(srv):
    c = connect(srv, source_ip="127.0.2.1")
    errors(c, SOFT - 1)
    c.sock.settimeout(DELAY_MS / 1000 / 2)  # a tarpit would hold the reply for twice as long
    c.expect("NOOP", 250)


def test_at_the_soft_limit_the_next_command_waits(srv):
    c = connect(srv, source_ip="127.0.2.2")
    errors(c, SOFT)  # the error that reaches the limit is itself answered at once
    c.send("NOOP\r\n")
    assert no_reply_within(c, 1.0), "answered while the session should be in the tarpit"


def test_tarpit_holds_only_its_own_session(srv):
    slow = connect(srv, source_ip="127.0.2.3")
    errors(slow, SOFT)
    slow.send("NOOP\r\n")
    other = connect(srv, source_ip="127.0.2.4")
    other.sock.settimeout(DELAY_MS / 1000 / 2)
    other.expect("NOOP", 250)
    other.expect("QUIT", 221)
    assert no_reply_within(slow, 0.2), "the tarpitted session was answered meanwhile"


def test_hard_limit_still_closes_a_tarpitted_session(mailroom):
    """With a short delay, the waits end and the hard limit closes the session as usual."""
    s = make_server(mailroom, [listener()],
                    limits={"soft_error_limit": 1, "error_delay_ms": 50, "hard_error_limit": 4})
    c = connect(s)
    errors(c, 3)
    c.send("XYZZY\r\n")
    c.expect(None, *UNRECOGNIZED)
    c.expect(None, *TOO_MANY_ERRORS)
    assert read_until_closed(c) == b""
