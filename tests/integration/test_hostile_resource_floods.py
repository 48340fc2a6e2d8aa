"""Resource abuse, part 4: connection floods, loopback only (127.0.0.0/8 gives us many client
addresses without leaving the machine).

Rules (src/server/session.cpp, before any TLS or parsing work):
  * more than listener.max_connections_per_client sessions from one address: the extra ones get
    "421 4.7.0 Too many connections from your host, try again later" and are closed;
  * more than limits.max_connections sessions in all (or listener.max_connections on one
    listener): "421 4.3.2 <host> Service not available, too many connections" and close — an
    answer, never a hang;
  * the counts drop as sessions end, so a refused client gets in once the flood is over;
  * listener.max_connection_rate_per_client (off by default, as in Postfix) caps the sessions one
    address may open per limits.client_rate_window_s, live or not: the extra ones get
    "421 4.7.0 Too many connection attempts from your host, try again later", and the address
    gets in again when its window ends.
The flood test opens thousands of connections while a well-behaved client from another address
keeps sending mail, and checks that every flood connection was answered, every good message
queued, and nothing else stored. It has no time budget: each connection waits at most
FLOOD_REPLY_TIMEOUT_S for its answer, and the first connection that gets no answer or another one
ends the flood (the test then fails, showing the replies seen).
"""
import concurrent.futures
import socket
import threading
import time

from test_hostile_support import (USER, raw_from, connect, expect_queued, listener, make_server,
                                  new_messages, read_until_closed, stored_messages)

PER_CLIENT = (421, "4.7.0 Too many connections from your host, try again later")
GLOBAL = (421, "4.3.2 mx.example.test Service not available, too many connections")
RATE = (421, "4.7.0 Too many connection attempts from your host, try again later")
FLOOD_REPLY_TIMEOUT_S = 60


def first_reply_line(port, source_ip, timeout=20):
    """Connects from source_ip, reads the first reply line, closes. -> the line (str)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                  source_address=(source_ip, 0)) as s:
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\r\n", 1)[0].decode(errors="replace")


def open_holders(srv, source_ip, n, name=None):
    return [connect(srv, name, ehlo=None, source_ip=source_ip) for _ in range(n)]


def close_all(clients):
    for c in clients:
        c.close()


def eventually_greeted(srv, source_ip, name=None, within=15):
    """A new session from source_ip gets 220 once the server has seen the old ones go."""
    deadline = time.time() + within
    line = ""
    while time.time() < deadline:
        line = first_reply_line(srv.port(name), source_ip)
        if line.startswith("220 "):
            return True
        time.sleep(0.1)
    raise AssertionError(f"{source_ip} still refused after the flood: {line!r}")


def refused(srv, source_ip, expected, name=None):
    c = raw_from(srv.port(name), source_ip, 20)
    c.expect(None, *expected)
    assert read_until_closed(c) == b""


def test_per_client_cap(mailroom):
    srv = make_server(mailroom, [listener(max_connections_per_client=50)])
    before = stored_messages(srv)
    holders = open_holders(srv, "127.0.0.1", 50)
    try:
        for _ in range(10):
            refused(srv, "127.0.0.1", PER_CLIENT)
        good = connect(srv, source_ip="127.0.0.2")
        expect_queued(good, [USER], "Subject: meanwhile\r\n\r\nx\r\n")
        good.expect("QUIT", 221)
        holders[0].expect("NOOP", 250)  # the held sessions are real sessions
    finally:
        close_all(holders)
    eventually_greeted(srv, "127.0.0.1")
    assert len(new_messages(srv, before)) == 1


def test_global_cap_answers_421_instead_of_hanging(mailroom):
    srv = make_server(mailroom, [listener(max_connections_per_client=50)],
                      limits={"max_connections": 20})
    holders = []
    try:
        for ip in ("127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"):
            holders += open_holders(srv, ip, 5)
        refused(srv, "127.0.0.7", GLOBAL)
        refused(srv, "127.0.0.3", GLOBAL)
        holders.pop().close()
        eventually_greeted(srv, "127.0.0.7")
    finally:
        close_all(holders)


def test_listener_cap_leaves_other_listeners_alone(mailroom):
    srv = make_server(mailroom, [listener(name="small", max_connections=5),
                                 listener(name="other")])
    holders = open_holders(srv, "127.0.0.8", 5, "small")
    try:
        refused(srv, "127.0.0.9", GLOBAL, "small")
        c = connect(srv, "other", source_ip="127.0.0.9")
        c.expect("NOOP", 250)
    finally:
        close_all(holders)
    eventually_greeted(srv, "127.0.0.9", "small")


def test_per_client_connection_rate(mailroom):
    srv = make_server(mailroom, [listener(max_connection_rate_per_client=3)])
    for _ in range(3):  # one after the other: never more than one live session
        c = connect(srv, source_ip="127.0.0.20")
        c.expect("QUIT", 221)
        c.close()
    for _ in range(3):
        refused(srv, "127.0.0.20", RATE)
    other = connect(srv, source_ip="127.0.0.21")  # the limit is per address
    other.expect("NOOP", 250)


def test_connection_rate_window_ends(mailroom):
    srv = make_server(mailroom, [listener(max_connection_rate_per_client=1)],
                      limits={"client_rate_window_s": 2})
    c = connect(srv, source_ip="127.0.0.22")
    refused(srv, "127.0.0.22", RATE)
    c.expect("NOOP", 250)  # the session that was let in is not touched
    eventually_greeted(srv, "127.0.0.22", within=30)


def test_flood_of_thousands_while_a_good_client_is_served(mailroom):
    total = 5000
    srv = make_server(mailroom, [listener(max_connections_per_client=50)],
                      limits={"max_connections": 1000, "idle_timeout_s": 30})
    before = stored_messages(srv)
    port = srv.port()
    holders = open_holders(srv, "127.0.0.1", 50)  # the flooder already holds its 50
    replies = {}
    lock = threading.Lock()
    expected = f"{PER_CLIENT[0]} {PER_CLIENT[1]}"
    wrong = threading.Event()  # one wrong or missing answer fails the test: do not wait for 5000

    def one(_):
        if wrong.is_set():
            return "not tried"
        try:
            line = first_reply_line(port, "127.0.0.1", timeout=FLOOD_REPLY_TIMEOUT_S)
        except OSError as e:
            line = f"error: {e}"
        if line != expected:
            wrong.set()
        with lock:
            replies[line] = replies.get(line, 0) + 1
        return line

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=32)
    flood = [pool.submit(one, i) for i in range(total)]
    sent = 0
    try:
        while True:  # at least one transaction, the first while the flood has just begun
            good = connect(srv, source_ip="127.0.0.2", timeout=30)
            expect_queued(good, [USER], f"Subject: good {sent}\r\n\r\nx\r\n")
            good.expect("QUIT", 221)
            good.close()
            sent += 1
            if all(f.done() for f in flood):
                break
    finally:
        pool.shutdown(wait=True)
        close_all(holders)
    assert replies == {expected: total}, replies
    assert sent >= 1
    fresh = new_messages(srv, before)
    assert len(fresh) == sent and all(m.recipients == [USER] for m in fresh), fresh
    eventually_greeted(srv, "127.0.0.1")
    assert srv.proc.poll() is None
