"""STARTTLS on the way out (issue 13): certificates from a private CA made by openssl in the test
([delivery] tls_ca_file trusts it), the TLS level per destination ([delivery] tls and
[delivery.tls_policy]), and peers that offer STARTTLS and then fail the handshake, refuse it, or
present an expired certificate or one for another name.

  opportunistic: TLS when offered, whatever the certificate; a failed handshake is retried in
                 plaintext on a new connection (Postfix);
  required:      no TLS, no mail: deferred 4.7.x, never a byte of the message in plaintext;
  verify:        also a certificate that chains to a trusted CA and names the host.
"""
import re

import pytest

from peer_support import HANG, ScriptedDns, ScriptedSmtp, mx_port
from queue_support import send_message, wait_until
from remote_support import (SENDER, SHORT_TIMEOUTS, queue_listing, start_relay,
                            wait_queue_empty)
from tls_support import Pki

BODY = "From: <chris@example.test>\r\nSubject: tls\r\n\r\nsecret\r\n"
RECORDS = {("dom.test", "MX"): [(10, "mx1.dom.test")], ("mx1.dom.test", "A"): ["127.0.0.2"]}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def port():
    return mx_port()


@pytest.fixture
def dns():
    with ScriptedDns(RECORDS) as d:
        yield d


def relay(mailroom, dns, port, pki, level, per_domain=False, **delivery):
    opts = dict(SHORT_TIMEOUTS)
    opts.update(delivery)
    opts["tls_ca_file"] = str(pki.ca_file)
    extra = None
    if per_domain:
        # The default stays opportunistic; only dom.test gets `level`.
        extra = {"delivery.tls_policy": {'"dom.test"': level}}  # a quoted TOML key
    else:
        opts["tls"] = level
    return start_relay(mailroom, dns.address, port, extra=extra, **opts)


def send(srv):
    code, line, qid = send_message(srv.port(), SENDER, ["bob@dom.test"], BODY)
    assert code == 250, line
    return qid


def wait_deferred(srv, pattern):
    wait_until(lambda: re.search(pattern, queue_listing(srv)), what=f"a deferral /{pattern}/")
    return queue_listing(srv)


@pytest.mark.parametrize("level,per_domain", [("verify", False), ("verify", True),
                                              ("required", False), ("opportunistic", False)])
def test_trusted_certificate_carries_the_message_over_tls(mailroom, dns, port, pki, level,
                                                          per_domain):
    with ScriptedSmtp("127.0.0.2", port, starttls=pki.server_context("mx1.dom.test")) as mx1:
        srv = relay(mailroom, dns, port, pki, level, per_domain)
        send(srv)
        (msg,) = mx1.wait_for(1)
        assert msg.tls
        assert msg.data.endswith(BODY.encode())
        assert mx1.client_lines()[0].count("STARTTLS") == 1


def test_verify_refuses_an_expired_certificate(mailroom, dns, port, pki):
    with ScriptedSmtp("127.0.0.2", port,
                      starttls=pki.server_context("mx1.dom.test", expired=True)) as mx1:
        srv = relay(mailroom, dns, port, pki, "verify", per_domain=True)
        send(srv)
        listing = wait_deferred(srv, r"4\.7\.5 .*certificate")
        assert "certificate has expired" in listing, listing
        assert mx1.bodies_read == []
        assert not any("MAIL FROM" in l for c in mx1.client_lines() for l in c)
        assert not srv.maildir(SENDER).exists(), "a certificate problem bounced the message"


def test_verify_refuses_a_certificate_for_another_name(mailroom, dns, port, pki):
    with ScriptedSmtp("127.0.0.2", port, starttls=pki.server_context("other.test")) as mx1:
        srv = relay(mailroom, dns, port, pki, "verify")
        send(srv)
        wait_deferred(srv, r"4\.7\.5 .*certificate")
        assert mx1.bodies_read == []


def test_opportunistic_takes_an_expired_certificate(mailroom, dns, port, pki):
    # Opportunistic TLS protects against passive eavesdropping only; like Postfix at "may", an
    # unverifiable certificate still beats plaintext.
    with ScriptedSmtp("127.0.0.2", port,
                      starttls=pki.server_context("mx1.dom.test", expired=True)) as mx1:
        srv = relay(mailroom, dns, port, pki, "opportunistic")
        send(srv)
        (msg,) = mx1.wait_for(1)
        assert msg.tls


def test_failed_handshake_is_retried_in_plaintext_when_opportunistic(mailroom, dns, port, pki):
    with ScriptedSmtp("127.0.0.2", port, starttls="broken") as mx1:
        srv = relay(mailroom, dns, port, pki, "opportunistic")
        qid = send(srv)
        (msg,) = mx1.wait_for(1)
        assert not msg.tls and msg.connection == 1
        lines = mx1.client_lines()
        assert "STARTTLS" in lines[0] and "STARTTLS" not in lines[1], lines
        wait_queue_empty(srv)
        log = srv.log_text()
        assert "retrying without TLS" in log
        assert len(re.findall(rf"id={qid} to=<bob@dom.test> status=", log)) == 1  # one attempt


@pytest.mark.parametrize("level", ["required", "verify"])
@pytest.mark.parametrize("peer", [
    {"starttls": "broken"},
    {"default": {"starttls": "454 4.7.0 TLS not available due to local problem"}, "starttls": "x"},
    {},  # STARTTLS not offered at all
], ids=["handshake-fails", "starttls-refused", "not-offered"])
def test_no_tls_no_mail_when_tls_is_required(mailroom, dns, port, pki, level, peer):
    with ScriptedSmtp("127.0.0.2", port, **peer) as mx1:
        srv = relay(mailroom, dns, port, pki, level)
        send(srv)
        listing = wait_deferred(srv, r"4\.7\.[45] ")
        wait_until(lambda: mx1.connections >= 2, what="a retry")  # deferred, and tried again
        assert mx1.bodies_read == [], "the message went in plaintext"
        assert not any(l.startswith("MAIL FROM") for c in mx1.client_lines() for l in c)
        assert not srv.maildir(SENDER).exists(), listing


def test_refused_starttls_goes_on_in_plaintext_when_opportunistic(mailroom, dns, port, pki):
    with ScriptedSmtp("127.0.0.2", port, starttls="x",
                      default={"starttls": "454 4.7.0 TLS not available"}) as mx1:
        srv = relay(mailroom, dns, port, pki, "opportunistic")
        send(srv)
        (msg,) = mx1.wait_for(1)
        assert not msg.tls and msg.connection == 0


TWO_MX = {("dom.test", "MX"): [(10, "mx1.dom.test"), (20, "mx2.dom.test")],
          ("mx1.dom.test", "A"): ["127.0.0.2"], ("mx2.dom.test", "A"): ["127.0.0.3"]}


@pytest.mark.parametrize("peer", [{"starttls": "x", "default": {"starttls": HANG}},
                                  {"starttls": "hang"}],
                         ids=["starttls-unanswered", "handshake-unanswered"])
def test_peer_hanging_in_starttls_does_not_hold_the_message(mailroom, port, pki, peer):
    # Opportunistic: the message gets through exactly once, by plaintext on mx1 after the failed
    # handshake or by mx2 after the STARTTLS timeout.
    with ScriptedDns(TWO_MX) as dns, ScriptedSmtp("127.0.0.2", port, **peer) as mx1, \
            ScriptedSmtp("127.0.0.3", port) as mx2:
        srv = relay(mailroom, dns, port, pki, "opportunistic")
        send(srv)
        wait_until(lambda: mx1.delivered or mx2.delivered, what="a delivery")
        wait_queue_empty(srv)
        assert len(mx1.delivered) + len(mx2.delivered) == 1
