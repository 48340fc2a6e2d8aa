"""IPv6 where the README and config promise it, over real TCP on ::1:

  * a listener on [::1]:port takes mail, and the Received: field names the client with an IPv6
    address literal, "([IPv6:::1])" (RFC 5321 4.1.3 and 4.4: TCP-info is an address literal);
  * a dual-stack listener ([::]:port) tells ::1 from 127.0.0.1 (which arrives as ::ffff:127.0.0.1
    and counts as IPv4): remote_ranges and relay_ranges given in IPv6 notation admit ::1 only, and
    IPv4 ranges do not admit ::1;
  * max_connections_per_client counts ::1 as one client of its own: ::1 at its cap gets the 421,
    127.0.0.1 on the same listener is still greeted.
"""
import re

from conftest import RawSmtp, free_port
from queue_support import maildir_messages, wait_until
from test_hostile_support import GREETING, USER, listener, make_server

NOT_PERMITTED = (554, "5.7.1 Client host rejected: access denied")
PER_CLIENT = (421, "4.7.0 Too many connections from your host, try again later")
RELAY = (550, "5.7.1 Unable to relay")


def v6_listener(**kw):
    return listener(address=f"[::1]:{free_port('::1')}", **kw)


def dual_stack_listener(**kw):
    return listener(address=f"[::]:{free_port('::')}", **kw)


def greeted(srv, host):
    c = RawSmtp(srv.port(), host=host)
    code, lines = c.reply()
    assert code == 220 and GREETING.match(lines[-1]), (host, lines)
    c.expect("EHLO client.example.org", 250)
    return c


def first_reply(srv, host):
    c = RawSmtp(srv.port(), host=host)
    code, lines = c.reply()
    return c, (code, lines[-1][4:])


def test_ipv6_listener_takes_mail_and_records_an_ipv6_literal(mailroom):
    srv = make_server(mailroom, [v6_listener()])
    c = greeted(srv, "::1")
    c.expect("MAIL FROM:<chris@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: over IPv6\r\n\r\nhello\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    kate = srv.maildir(USER).parent
    stored = wait_until(lambda: maildir_messages(kate), what="the delivery")
    headers = stored[0][1].split(b"\n\n", 1)[0].decode()
    assert re.search(r"^Received: from client\.example\.org \(\[IPv6:::1\]\)$", headers, re.M), \
        headers
    assert "client=::1 " in srv.log_text()


def test_ipv6_remote_ranges_on_a_dual_stack_listener(mailroom):
    srv = make_server(mailroom, [dual_stack_listener(remote_ranges=["::1/128"])])
    greeted(srv, "::1").expect("QUIT", 221)
    _, reply = first_reply(srv, "127.0.0.1")
    assert reply == NOT_PERMITTED


def test_ipv4_remote_ranges_do_not_admit_ipv6(mailroom):
    srv = make_server(mailroom, [dual_stack_listener(remote_ranges=["127.0.0.0/8"])])
    greeted(srv, "127.0.0.1").expect("QUIT", 221)
    _, reply = first_reply(srv, "::1")
    assert reply == NOT_PERMITTED


def test_ipv6_relay_ranges(mailroom):
    srv = make_server(mailroom, [dual_stack_listener(relay="ranges", relay_ranges=["::1/128"])])
    for host, expected in (("::1", (250, "2.1.5 Recipient OK")), ("127.0.0.1", RELAY)):
        c = greeted(srv, host)
        c.expect("MAIL FROM:<chris@client.example.org>", 250)
        code, lines = c.cmd("RCPT TO:<someone@other.org>")
        assert (code, lines[-1][4:]) == expected, (host, lines)
        c.expect("QUIT", 221)


def test_per_client_cap_counts_ipv6_clients_apart(mailroom):
    srv = make_server(mailroom, [dual_stack_listener(max_connections_per_client=3)])
    holders = [greeted(srv, "::1") for _ in range(3)]
    c, reply = first_reply(srv, "::1")
    assert reply == PER_CLIENT
    greeted(srv, "127.0.0.1").expect("QUIT", 221)  # another client: not at its cap
    holders[0].expect("NOOP", 250)
    for h in holders:
        h.close()
    assert "client=::1 " in srv.log_text()
