"""Bad DNS on the way to the remote server (issue 13): a resolver that times out or answers
SERVFAIL defers the message and the retry delivers it once DNS is back; an MX naming a CNAME or an
IP literal is tolerated as Postfix does; an MX list longer than [delivery] max_mx_hosts is cut to
the best hosts (a hostile or broken domain cannot make us try them all). NXDOMAIN and a null MX
bounce at once: test_remote_delivery.py.

The DNS server is scripted (peer_support.ScriptedDns), so a test can make it fail and heal.
"""
import re

import pytest

from peer_support import ScriptedDns, ScriptedSmtp, free_port_on, mx_port
from queue_support import send_message, wait_until
from remote_support import (RELAY, SENDER, SHORT_TIMEOUTS, delivery_status, dsns_for, queue_listing,
                            start_relay, wait_queue_empty)

BODY = "From: <chris@example.test>\r\nSubject: dns\r\n\r\nhello\r\n"
RECORDS = {("dom.test", "MX"): [(10, "mx1.dom.test")], ("mx1.dom.test", "A"): ["127.0.0.2"]}


@pytest.fixture
def port():
    return mx_port()


def relay(mailroom, dns, port, **delivery):
    opts = dict(SHORT_TIMEOUTS)
    opts.update(delivery)
    return start_relay(mailroom, dns.address, port, dns_timeout_ms=300, **opts)


def send(srv, rcpt="bob@dom.test"):
    code, line, qid = send_message(srv.port(), SENDER, [rcpt], BODY)
    assert code == 250, line
    return qid


@pytest.mark.parametrize("name", ["dom.test", "mx1.dom.test"], ids=["mx-lookup", "host-lookup"])
@pytest.mark.parametrize("failure", ["servfail", "silent"])
def test_dns_failure_defers_and_the_retry_delivers(mailroom, port, failure, name):
    with ScriptedDns(RECORDS, fail={name: failure}) as dns, \
            ScriptedSmtp("127.0.0.2", port) as mx1:
        srv = relay(mailroom, dns, port)
        qid = send(srv)
        wait_until(lambda: "4.4.3" in queue_listing(srv), what="a 4.4.3 deferral")
        listing = queue_listing(srv)
        assert re.search(r"4\.4\.3 Host or domain name not found. Name service error for "
                         rf"name={re.escape(name)} type=(MX|A|AAAA): Host not found, try again",
                         listing), listing
        assert mx1.connections == 0
        assert not srv.maildir(SENDER).exists(), "a temporary DNS failure bounced"
        # Asked again at the next retry (a failure is not cached); DNS is back: delivered.
        wait_until(lambda: dns.count(name, outcome=failure) >= 2, what="a second lookup")
        dns.fail.clear()
        (msg,) = mx1.wait_for(1)
        assert msg.rcpts == ["bob@dom.test"]
        wait_queue_empty(srv)
        assert re.search(rf"id={qid} to=<bob@dom.test> status=delivered", srv.log_text())


def test_mx_naming_a_cname_is_followed(mailroom, port):
    records = {("dom.test", "MX"): [(10, "alias.dom.test")],
               ("alias.dom.test", "CNAME"): "mx1.dom.test", ("mx1.dom.test", "A"): ["127.0.0.2"]}
    with ScriptedDns(records) as dns, ScriptedSmtp("127.0.0.2", port) as mx1:
        srv = relay(mailroom, dns, port)
        qid = send(srv)
        (msg,) = mx1.wait_for(1)
        assert msg.rcpts == ["bob@dom.test"]
        log = srv.log_text()
        assert re.search(rf"id={qid} to=<bob@dom.test> status=delivered .*alias\.dom\.test"
                         r"\[127\.0\.0\.2\]", log), log[-2000:]


def test_mx_naming_an_ip_literal_is_used_with_a_warning(mailroom, port):
    records = {("dom.test", "MX"): [(10, "127.0.0.2")]}
    with ScriptedDns(records) as dns, ScriptedSmtp("127.0.0.2", port) as mx1:
        srv = relay(mailroom, dns, port)
        send(srv)
        mx1.wait_for(1)
        log = srv.log_text()
        assert "numeric domain name in resource data of MX record for dom.test: 127.0.0.2" in log
        # It was taken as an address, never looked up as a name.
        assert dns.count("127.0.0.2") == 0


@pytest.mark.parametrize("cap,reached", [(3, False), (4, True)])
def test_mx_list_is_cut_at_max_mx_hosts(mailroom, port, cap, reached):
    # Five MX hosts; only the fourth listens. With max_mx_hosts = 3 it is never tried.
    records = {("dom.test", "MX"): [(10 * i, f"mx{i}.dom.test") for i in range(1, 6)]}
    records.update({(f"mx{i}.dom.test", "A"): [f"127.0.0.{i + 1}"] for i in range(1, 6)})
    with ScriptedDns(records) as dns, ScriptedSmtp("127.0.0.5", port) as mx4:
        srv = relay(mailroom, dns, port, max_mx_hosts=cap)
        send(srv)
        if reached:
            mx4.wait_for(1)
        else:
            wait_until(lambda: "4.4.1" in queue_listing(srv), what="the deferral")
            wait_until(lambda: "MX list for dom.test has 5 hosts: trying the first 3"
                       in srv.log_text(), what="the warning")
            assert mx4.connections == 0
            assert dns.count("mx4.dom.test") == 0 and dns.count("mx5.dom.test") == 0


def test_mx_hosts_without_addresses_bounce_5_4_4(mailroom, port):
    # The MX answer names hosts that do not exist: nothing will ever be reachable (Postfix: 5.4.4).
    records = {("dom.test", "MX"): [(10, "gone1.dom.test"), (20, "gone2.dom.test")]}
    with ScriptedDns(records) as dns:
        srv = relay(mailroom, dns, port)
        send(srv)
        (dsn,) = dsns_for(srv)
        report = delivery_status(dsn)
        assert "Status: 5.4.4" in report and "Action: failed" in report, report
        assert "Host not found" in dsn.as_string()


def test_each_address_of_a_host_in_turn(mailroom, port):
    # mx1 has two addresses; nothing listens on the first.
    records = {("dom.test", "MX"): [(10, "mx1.dom.test")],
               ("mx1.dom.test", "A"): ["127.0.0.2", "127.0.0.3"]}
    with ScriptedDns(records) as dns, ScriptedSmtp("127.0.0.3", port) as second:
        srv = relay(mailroom, dns, port)
        send(srv)
        (msg,) = second.wait_for(1)
        assert msg.rcpts == ["bob@dom.test"]
        wait_queue_empty(srv)


def assert_loop_bounce(srv):
    (dsn,) = dsns_for(srv)
    report = delivery_status(dsn)
    assert "Status: 5.4.6" in report and "Action: failed" in report, report
    assert "mail for dom.test loops back to myself" in dsn.as_string()


def test_mx_that_is_this_server_bounces_5_4_6(mailroom):
    # The MX is 127.0.0.1 and remote_port is our own listener's: delivering there is a loop.
    own = free_port_on("127.0.0.1")
    with ScriptedDns({("dom.test", "MX"): [(10, "127.0.0.1")]}) as dns:
        srv = mailroom([dict(RELAY, address=f"127.0.0.1:{own}")], extra={
            "dns": {"servers": [dns.address], "timeout_ms": 300},
            "delivery": {"remote_port": own, **SHORT_TIMEOUTS}})
        srv.add_user(SENDER, "pw")
        srv.start()
        send(srv)
        assert_loop_bounce(srv)


def test_mx_greeting_with_our_own_name_bounces_5_4_6(mailroom, port):
    with ScriptedDns(RECORDS) as dns, \
            ScriptedSmtp("127.0.0.2", port, name="mx.example.test") as mx1:
        srv = relay(mailroom, dns, port)
        send(srv)
        assert_loop_bounce(srv)
        assert mx1.bodies_read == []
