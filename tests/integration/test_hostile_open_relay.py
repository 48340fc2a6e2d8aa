"""Open-relay address tricks: every form a relay tester tries is refused, or resolved to a local
mailbox — never accepted for another host without permission.

The listener under attack has relay = "none" and local_domains = ["example.test"], with one user
kate@example.test. The rules (src/server/recipient_policy.hpp):
  * a local-domain recipient holding '%', '!' or '@' in its local part (percent hack, bang path,
    quoted "a@b") names no mailbox: 550 5.1.1;
  * source routes are syntax only and are ignored (RFC 5321 4.1.2, appendix C): the mailbox after
    the colon decides;
  * an address literal is local only when it is the server's own address on the connection
    (RFC 5321 4.1.3): postmaster@[it] is the local postmaster (4.5.1), any other local part
    under it 550 5.1.1; other literals are not local; a trailing dot and letter case do not
    change a domain;
  * a domain is local only when equal to a local domain: no suffix or subdomain matching;
  * ORCPT only names the original recipient for DSNs (RFC 3461 4.2), it routes nothing;
  * anything else non-local: 550 5.7.1 Unable to relay.
For every refusal the following DATA gets 503 5.5.2 and nothing is stored; for every acceptance
the stored envelope holds only a local recipient.
"""
import pytest

from test_hostile_support import (PASSWORD, USER, connect, listener, new_messages,
                                  start_module_server, stored_messages)

RELAY = (550, "5.7.1 Unable to relay")
UNKNOWN = (550, "5.1.1 User unknown")
SYNTAX = (501, "5.1.3 Bad recipient address syntax")
LOCAL = (250, "2.1.5 Recipient OK")
NEEDS_UTF8 = (553, "5.6.7 SMTPUTF8 required for non-ASCII address")
PARAM = (501, "5.5.4 Unrecognized parameter")
BAD_CHARS = (500, "5.5.2 Invalid characters in command")

# (RCPT argument text, MAIL parameters, expected reply, local parts allowed if accepted)
VECTORS = {
    "plain_remote": ("TO:<victim@other.org>", "", RELAY),
    "remote_uppercase": ("TO:<victim@OTHER.ORG>", "", RELAY),
    "remote_trailing_dot": ("TO:<victim@other.org.>", "", RELAY),
    "remote_double_trailing_dot": ("TO:<victim@other.org..>", "", SYNTAX),
    "percent_hack": ("TO:<victim%other.org@example.test>", "", UNKNOWN),
    "percent_hack_quoted": ('TO:<"victim%other.org"@example.test>', "", UNKNOWN),
    "percent_hack_plus_address": ("TO:<kate+victim%other.org@example.test>", "", UNKNOWN),
    "percent_hack_via_literal": ("TO:<victim%other.org@[127.0.0.1]>", "", UNKNOWN),
    "bang_path": ("TO:<other.org!victim@example.test>", "", UNKNOWN),
    "bang_path_quoted": ('TO:<"other.org!victim"@example.test>', "", UNKNOWN),
    "bang_path_bare": ("TO:<other.org!victim>", "", SYNTAX),
    "quoted_at": ('TO:<"victim@other.org"@example.test>', "", UNKNOWN),
    "quoted_at_no_domain": ('TO:<"victim@other.org">', "", SYNTAX),
    "quoted_at_via_literal": ('TO:<"victim@other.org"@[127.0.0.1]>', "", UNKNOWN),
    "escaped_at_unquoted": ("TO:<victim\\@other.org@example.test>", "", SYNTAX),
    "source_route": ("TO:<@evil.org:victim@other.org>", "", RELAY),
    "source_route_via_local": ("TO:<@example.test:victim@other.org>", "", RELAY),
    "source_route_list": ("TO:<@example.test,@evil.org:victim@other.org>", "", RELAY),
    "source_route_literal": ("TO:<@[127.0.0.1]:victim@other.org>", "", SYNTAX),
    "two_domains": ("TO:<victim@other.org@example.test>", "", SYNTAX),
    "two_domains_local_first": ("TO:<kate@example.test@other.org>", "", SYNTAX),
    # [127.0.0.1] is the server's own address (it listens there): local, RFC 5321 4.1.3, 4.5.1.
    "ipv4_literal": ("TO:<victim@[127.0.0.1]>", "", UNKNOWN),
    "ipv4_literal_postmaster": ("TO:<postmaster@[127.0.0.1]>", "", LOCAL),
    "other_ipv4_literal_postmaster": ("TO:<postmaster@[127.0.0.2]>", "", RELAY),
    "ipv6_literal": ("TO:<victim@[IPv6:::1]>", "", RELAY),
    "ipv6_mapped_literal": ("TO:<victim@[IPv6:::ffff:127.0.0.1]>", "", UNKNOWN),
    "hex_literal": ("TO:<victim@[0x7f.1]>", "", SYNTAX),
    "ip_without_brackets": ("TO:<victim@127.0.0.1>", "", RELAY),
    "localhost": ("TO:<victim@localhost>", "", RELAY),
    "server_hostname": ("TO:<victim@mx.example.test>", "", RELAY),
    "local_domain_as_prefix": ("TO:<victim@example.test.evil.org>", "", RELAY),
    "local_domain_as_suffix": ("TO:<victim@evil.org.example.test>", "", RELAY),
    "subdomain_of_local": ("TO:<kate@sub.example.test>", "", RELAY),
    "local_domain_glued": ("TO:<victim@evilexample.test>", "", RELAY),
    "punycode_lookalike": ("TO:<victim@xn--exmple-cua.test>", "", RELAY),
    "utf8_lookalike": ("TO:<victim@ex\u00e4mple.test>", " SMTPUTF8", RELAY),
    "utf8_lookalike_no_smtputf8": ("TO:<victim@ex\u00e4mple.test>", "", NEEDS_UTF8),
    "cyrillic_e_lookalike": ("TO:<kate@exampl\u0435.test>", " SMTPUTF8", RELAY),
    "remote_postmaster": ("TO:<postmaster@other.org>", "", RELAY),
    "space_inside_brackets": ("TO:< victim@other.org>", "", SYNTAX),
    "space_before_close": ("TO:<victim@other.org >", "", SYNTAX),
    "space_after_colon": ("TO: <victim@other.org>", "", RELAY),
    "no_brackets": ("TO:victim@other.org", "", RELAY),
    "unclosed_bracket": ("TO:<victim@other.org", "", SYNTAX),
    "double_brackets": ("TO:<<victim@other.org>>", "", SYNTAX),
    "comma_list": ("TO:<kate@example.test>,<victim@other.org>", "", SYNTAX),
    "second_path_as_param": ("TO:<kate@example.test> <victim@other.org>", "", PARAM),
    "nul_between_addresses": ("TO:<kate@example.test\x00@other.org>", "", BAD_CHARS),
    "local_uppercase_domain": ("TO:<kate@EXAMPLE.TEST>", "", LOCAL),
    "local_uppercase_all": ("TO:<KATE@EXAMPLE.TEST>", "", LOCAL),
    "local_trailing_dot": ("TO:<kate@example.test.>", "", LOCAL),
    "local_quoted_plain": ('TO:<"kate"@example.test>', "", LOCAL),
    "local_plus_address": ("TO:<kate+tag@example.test>", "", LOCAL),
    "local_postmaster": ("TO:<postmaster@example.test>", "", LOCAL),
    "source_route_to_local": ("TO:<@other.org,@evil.org:kate@example.test>", "", LOCAL),
    "orcpt_names_remote": ("TO:<kate@example.test> ORCPT=rfc822;victim@other.org", "", LOCAL),
    "unknown_local_user": ("TO:<victim@example.test>", "", UNKNOWN),
}
LOCAL_PARTS = {"kate", "kate+tag", "postmaster"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_module_server(tmp_path_factory.mktemp("relay"), [listener(relay="none")])
    yield s
    s.stop()


def assert_local_delivery_only(srv, before, expect_count=1):
    fresh = new_messages(srv, before)
    assert len(fresh) == expect_count, fresh
    for m in fresh:
        for r in m.recipients:
            local, _, domain = r.rpartition("@")
            assert domain == "example.test", f"non-local recipient stored: {r!r}"
            assert local.lower() in LOCAL_PARTS, f"unexpected mailbox stored: {r!r}"


@pytest.mark.parametrize("rcpt,mail_params,expected", VECTORS.values(), ids=VECTORS.keys())
def test_relay_trick(srv, rcpt, mail_params, expected):
    before = stored_messages(srv)
    c = connect(srv)
    try:
        c.expect(f"MAIL FROM:<spammer@evil.org>{mail_params}", 250, "2.1.0 Sender OK")
        c.expect(f"RCPT {rcpt}", *expected)
        if expected == LOCAL:
            c.expect("DATA", 354)
            c.send(b"Subject: relay test\r\n\r\nx\r\n.\r\n")
            code, lines = c.reply()
            assert code == 250 and lines[-1].startswith("250 2.6.0 "), lines
            assert_local_delivery_only(srv, before)
        else:
            c.expect("DATA", 503, "5.5.2 Need rcpt command")
            assert new_messages(srv, before) == []
        c.expect("QUIT", 221)
    finally:
        c.close()


def test_bare_postmaster_is_local(srv):
    before = stored_messages(srv)
    c = connect(srv)
    c.expect("MAIL FROM:<spammer@evil.org>", 250)
    c.expect("RCPT TO:<Postmaster>", *LOCAL)
    c.expect("DATA", 354)
    c.send(b"Subject: to postmaster\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    assert_local_delivery_only(srv, before)


@pytest.mark.parametrize("helo,sender", [
    ("localhost", "kate@example.test"),
    ("[127.0.0.1]", "postmaster@example.test"),
    ("mx.example.test", ""),
    ("example.test", "kate@example.test"),
], ids=["helo_localhost_local_sender", "helo_literal", "helo_our_name_null_sender",
        "helo_local_domain"])
def test_claiming_to_be_local_grants_no_relay(srv, helo, sender):
    before = stored_messages(srv)
    c = connect(srv, ehlo=helo)
    c.expect(f"MAIL FROM:<{sender}>", 250)
    c.expect("RCPT TO:<victim@other.org>", *RELAY)
    c.expect("DATA", 503, "5.5.2 Need rcpt command")
    c.expect("QUIT", 221)
    assert new_messages(srv, before) == []


def test_one_refused_recipient_does_not_taint_the_message(srv):
    """Mixed lists: the local recipient is kept, the remote ones never enter the envelope."""
    before = stored_messages(srv)
    c = connect(srv)
    c.expect("MAIL FROM:<spammer@evil.org>", 250)
    c.expect("RCPT TO:<victim@other.org>", *RELAY)
    c.expect(f"RCPT TO:<{USER}>", *LOCAL)
    c.expect("RCPT TO:<victim%other.org@example.test>", *UNKNOWN)
    c.expect("RCPT TO:<@example.test:victim@other.org>", *RELAY)
    c.expect("DATA", 354)
    c.send(b"Subject: mixed\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    assert_local_delivery_only(srv, before)
    fresh = new_messages(srv, before)
    assert fresh[0].recipients == [USER]


# --- listeners that may relay for some clients: the rule holds for everyone else ----------------

def test_relay_ranges_exclude_other_clients(tmp_path):
    s = start_module_server(tmp_path / "ranges", [
        listener(name="outside", relay="ranges", relay_ranges=["192.0.2.0/24"]),
        listener(name="inside", relay="ranges", relay_ranges=["127.0.0.0/8"])])
    try:
        before = stored_messages(s)
        c = connect(s, "outside")
        c.expect("MAIL FROM:<spammer@evil.org>", 250)
        c.expect("RCPT TO:<victim@other.org>", *RELAY)
        c.expect("RCPT TO:<victim%other.org@example.test>", *UNKNOWN)
        c.expect("DATA", 503, "5.5.2 Need rcpt command")
        c.expect("QUIT", 221)
        # The control: a client inside relay_ranges may relay, so the refusal above is the rule.
        c = connect(s, "inside")
        c.expect("MAIL FROM:<app@example.test>", 250)
        c.expect("RCPT TO:<victim@other.org>", *LOCAL)
        c.expect("RSET", 250)  # nothing is sent: no message may leave for other.org from a test
        c.expect("QUIT", 221)
        assert new_messages(s, before) == []
    finally:
        s.stop()


def test_failed_or_forged_auth_grants_no_relay(tmp_path):
    import base64
    s = start_module_server(tmp_path / "auth", [
        listener(relay="authenticated", allow_plaintext_auth=True)],
        users=(USER, "boss@example.test"))
    try:
        before = stored_messages(s)
        c = connect(s)
        wrong = base64.b64encode(b"\0kate@example.test\0wrong").decode()
        c.expect(f"AUTH PLAIN {wrong}", 535, "5.7.8 Authentication unsuccessful")
        # Kate's password, but asking to act as boss (authzid): refused, never "authenticated".
        forged = base64.b64encode(f"boss@example.test\0kate@example.test\0{PASSWORD}".encode())
        c.expect(f"AUTH PLAIN {forged.decode()}", 535, "5.7.8 Authentication unsuccessful")
        c.expect("MAIL FROM:<kate@example.test> AUTH=kate@example.test", 250)
        c.expect("RCPT TO:<victim@other.org>", *RELAY)
        c.expect("RSET", 250)
        # The control: a real login may relay.
        good = base64.b64encode(f"\0kate@example.test\0{PASSWORD}".encode()).decode()
        c.expect(f"AUTH PLAIN {good}", 235, "2.7.0 Authentication succeeded")
        c.expect("MAIL FROM:<kate@example.test>", 250)
        c.expect("RCPT TO:<victim@other.org>", *LOCAL)
        c.expect("RSET", 250)
        c.expect("QUIT", 221)
        assert new_messages(s, before) == []
    finally:
        s.stop()
