"""`[metrics] address`: Prometheus text exposition at GET /metrics, parsed with the reference
parser (Debian's python3-prometheus-client) and checked against what the test did; garbage, slow
and huge requests are answered or closed without holding up mail.
"""
import socket
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port
from queue_support import send_message, wait_until

USER = "kate@example.test"


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def start(mailroom):
    port = free_port()
    srv = mailroom(extra={"metrics": {"address": f"127.0.0.1:{port}"}})
    srv.add_user(USER, "pw")
    srv.start()
    # The SMTP ports accept from the moment they are bound; the endpoint comes a little later.
    wait_until(lambda: port_open(port), timeout=30, what="the metrics endpoint to listen")
    return srv, port


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_scrape_counts_what_the_test_did(mailroom):
    srv, port = start(mailroom)
    for i in range(3):
        code, line, _ = send_message(srv.port(), "chris@contoso.com", [USER],
                                     f"Subject: m{i}\r\n\r\nbody {i}\r\n")
        assert code == 250, line
    code, _, _ = send_message(srv.port(), "chris@contoso.com", ["nobody@example.test"],
                              "Subject: x\r\n\r\nx\r\n")
    assert code != 250
    wait_until(lambda: len(srv.wait_for_mail(USER, count=3)) == 3, what="three deliveries")

    def settled():
        s = scrape(port)
        return value(s, "mailroom_delivery_attempts_total", transport="maildir",
                     result="delivered") == 3 and s
    s = wait_until(settled, what="the deliveries in the metrics")
    assert value(s, "mailroom_messages_accepted_total", listener="inbound") == 3
    assert value(s, "mailroom_sessions_total", listener="inbound") >= 5  # +1 readiness probe
    assert value(s, "mailroom_smtp_commands_total", listener="inbound", verb="MAIL") == 4
    assert value(s, "mailroom_smtp_commands_total", listener="inbound", verb="DATA") == 3
    assert value(s, "mailroom_messages_rejected_total", listener="inbound",
                 reason="recipient_550") == 1
    assert value(s, "mailroom_smtp_replies_total", listener="inbound", **{"class": "5xx"}) >= 1
    assert value(s, "mailroom_message_bytes_total", listener="inbound") > 3 * len("body 0")
    assert value(s, "mailroom_commit_seconds_count", listener="inbound") == 3
    assert value(s, "mailroom_directory_lookups_total", result="found") >= 3
    assert value(s, "mailroom_directory_lookups_total", result="unknown_user") == 1
    assert value(s, "mailroom_queue_residence_seconds_count") == 3
    assert ("mailroom_queue_messages", (("state", "deferred"),)) in s
    assert value(s, "mailroom_sessions_open", listener="inbound") == 0


def raw_request(port, data, read=True):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return out
            out += chunk


def test_garbage_slow_and_huge_requests_never_hold_up_mail(mailroom):
    srv, port = start(mailroom)
    assert raw_request(port, b"\x16\x03\x01garbage\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw_request(port, b"POST /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    assert raw_request(port, b"GET /admin HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    assert raw_request(port, b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"y" * 20000 +
                       b"\r\n\r\n").startswith(b"HTTP/1.1 431 ")
    # A scraper that connects and says nothing: mail and other scrapes go on meanwhile.
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    try:
        code, line, _ = send_message(srv.port(), "chris@contoso.com", [USER],
                                     "Subject: during\r\n\r\nx\r\n")
        assert code == 250, line
        assert value(scrape(port), "mailroom_messages_accepted_total", listener="inbound") == 1
    finally:
        for c in slow:
            c.close()
