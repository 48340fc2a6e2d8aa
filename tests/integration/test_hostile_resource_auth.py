"""Resource abuse, part 2: AUTH — nested exchanges and password guessing.

Rules (src/server/session_auth.cpp, RFC 4954):
  * AUTH after a successful AUTH: 503 5.5.1 Already authenticated; AUTH inside a transaction:
    503 5.5.1; a new AUTH command typed as the answer to a prompt is just an undecodable
    response (501 5.5.2), never a second, nested exchange;
  * every failure waits limits.auth_failure_delay_ms before its 535 5.7.8 — on a timer, so other
    sessions are served meanwhile — and after limits.auth_failure_limit failures the session
    gets 421 4.7.0 and is closed. RSET, EHLO or a new mechanism do not reset the count. That the
    535 is held back is shown by order, not by a stopwatch: another client is served in full
    while the guesser, with a minute to wait, has heard nothing;
  * failures are also counted per client address across sessions: after
    limits.auth_client_failure_limit of them within auth_client_window_s, any AUTH from that
    address is answered 421 4.7.0 without checking the password, until the window ends.
The listener allows plaintext AUTH so these tests need no TLS; the TLS rule has its own module.
"""
import base64
import time

import pytest

from queue_support import wait_until
from test_hostile_support import (PASSWORD, USER, connect, listener, log_mark, log_since,
                                  make_server, no_reply_within, read_until_closed,
                                  start_module_server)

LOCKED_OUT = (421, "4.7.0 Too many authentication failures, closing transmission channel")
FAILED = (535, "5.7.8 Authentication unsuccessful")


def plain(user, password, authzid=""):
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()


def b64(s):
    return base64.b64encode(s.encode()).decode()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_module_server(tmp_path_factory.mktemp("auth"), [listener(allow_plaintext_auth=True)],
                            limits={"auth_failure_limit": 3, "auth_failure_delay_ms": 300,
                                    "auth_client_failure_limit": 3})
    yield s
    s.stop()


def client(srv, n):
    """Each test guesses from its own loopback address, so no test inherits another's failures
    (whether the server counts them per session or per client)."""
    return connect(srv, source_ip=f"127.0.0.{10 + n}")


def test_nested_auth_is_refused(srv):
    c = client(srv, 1)
    c.expect(f"AUTH PLAIN {plain(USER, PASSWORD)}", 235, "2.7.0 Authentication succeeded")
    c.expect(f"AUTH PLAIN {plain(USER, PASSWORD)}", 503, "5.5.1 Already authenticated")
    c.expect("AUTH LOGIN", 503, "5.5.1 Already authenticated")


def test_auth_inside_a_transaction_is_refused(srv):
    mark = log_mark(srv)
    c = client(srv, 2)
    c.expect("MAIL FROM:<a@client.example.org>", 250)
    c.expect(f"AUTH PLAIN {plain(USER, PASSWORD)}", 503, "5.5.1 Sender already specified")
    assert "event=auth_ok" not in log_since(srv, mark)


def test_auth_command_as_a_prompt_answer_is_not_nested(srv):
    mark = log_mark(srv)
    c = client(srv, 3)
    c.expect("AUTH LOGIN", 334, "VXNlcm5hbWU6")
    c.expect(f"AUTH PLAIN {plain(USER, PASSWORD)}", 501, "5.5.2 Cannot decode response")
    assert "event=auth_ok" not in log_since(srv, mark)
    c.expect("AUTH PLAIN", 334)
    c.expect("*", 501, "5.0.0 Authentication cancelled")
    c.expect("NOOP", 250, "2.0.0 OK")
    c.expect(f"AUTH PLAIN {plain(USER, PASSWORD)}", 235)


def test_brute_force_is_answered_then_cut_off(srv):
    c = client(srv, 4)
    c.expect(f"AUTH PLAIN {plain(USER, 'guess1')}", *FAILED)
    c.expect("AUTH LOGIN", 334)
    c.expect(b64(USER), 334)
    c.expect(b64("guess2"), *FAILED)
    c.send(f"AUTH PLAIN {plain(USER, 'guess3')}\r\n")
    c.expect(None, *FAILED)
    c.expect(None, *LOCKED_OUT)
    assert read_until_closed(c) == b""


def test_failure_count_survives_rset_and_ehlo(srv):
    c = client(srv, 5)
    c.expect(f"AUTH PLAIN {plain(USER, 'x')}", *FAILED)
    c.expect(f"AUTH PLAIN {plain('nobody@example.test', 'x')}", *FAILED)
    c.expect("RSET", 250)
    c.expect("EHLO again.example.org", 250)
    # Neither RSET nor a new EHLO gave the guesser a fresh count: this is the third failure.
    c.send(f"AUTH PLAIN {plain(USER, 'y')}\r\n")
    c.expect(None, *FAILED)
    c.expect(None, *LOCKED_OUT)
    assert read_until_closed(c) == b""


def test_malformed_credentials_count_as_failures(srv):
    c = client(srv, 6)
    c.expect(f"AUTH PLAIN {b64('no-nul-separators')}", *FAILED)
    c.expect(f"AUTH PLAIN {plain(USER, PASSWORD, authzid='boss@example.test')}", *FAILED)
    c.send(f"AUTH PLAIN {b64(chr(0) * 2)}\r\n")
    c.expect(None, *FAILED)
    c.expect(None, *LOCKED_OUT)


def test_delay_holds_the_535_and_only_the_guessing_session(mailroom):
    """The failed AUTH's 535 waits for the delay (a minute here, the most the setting allows: no
    machine is that slow), while another client is served in full meanwhile: the delay is a
    timer, not a blocked thread. An ordering check, not a speed check. The guesser is still
    waiting when the server stops: its session must end with the shutdown grace period, not
    with its timer."""
    srv = make_server(mailroom, [listener(allow_plaintext_auth=True)],
                      limits={"auth_failure_delay_ms": 60_000},
                      server={"shutdown_grace_s": 1})  # the guesser is still waiting at the end
    guesser = connect(srv, source_ip="127.0.0.30")
    mark = log_mark(srv)
    guesser.send(f"AUTH PLAIN {plain(USER, 'wrong')}\r\n")
    wait_until(lambda: "client=127.0.0.30 event=auth_failed" in log_since(srv, mark),
               what="the guesser's failure to be logged (the delay starts then)")
    other = connect(srv, source_ip="127.0.0.31")
    other.expect("NOOP", 250)
    other.expect(f"AUTH PLAIN {plain(USER, PASSWORD)}", 235)
    other.expect("QUIT", 221)
    assert no_reply_within(guesser, 0.5), "the 535 came before the delay was over"


def test_lockout_applies_to_the_client_not_just_the_session(srv):
    c = client(srv, 7)
    for i in range(2):
        c.expect(f"AUTH PLAIN {plain(USER, f'guess{i}')}", *FAILED)
    c.send(f"AUTH PLAIN {plain(USER, 'guess2')}\r\n")
    c.expect(None, *FAILED)
    c.expect(None, *LOCKED_OUT)
    c2 = client(srv, 7)
    # Even the right password is not checked for a client that is locked out.
    code, lines = c2.cmd(f"AUTH PLAIN {plain(USER, PASSWORD)}")
    assert code in (421, 454) and lines[-1][4:9] == "4.7.0", lines
    # The lockout is the guessing address's alone.
    c3 = client(srv, 8)
    c3.expect(f"AUTH PLAIN {plain(USER, PASSWORD)}", 235)


def test_client_lockout_ends_with_its_window(mailroom):
    srv = make_server(mailroom, [listener(allow_plaintext_auth=True)],
                      limits={"auth_failure_limit": 5, "auth_client_failure_limit": 2,
                              "auth_client_window_s": 2})
    c = connect(srv)
    c.expect(f"AUTH PLAIN {plain(USER, 'guess1')}", *FAILED)
    c.send(f"AUTH PLAIN {plain(USER, 'guess2')}\r\n")
    c.expect(None, *FAILED)
    c.expect(None, *LOCKED_OUT)  # the client limit (2), not the session limit (5)
    assert read_until_closed(c) == b""
    deadline = time.monotonic() + 30
    while True:
        c = connect(srv)
        code, lines = c.cmd(f"AUTH PLAIN {plain(USER, PASSWORD)}")
        if code == 235:
            break
        assert (code, lines[-1][4:]) == (LOCKED_OUT[0], LOCKED_OUT[1]), lines
        assert time.monotonic() < deadline, "the lockout never ended"
        time.sleep(0.5)
