"""`mailroom probe`: the seeds' procedure automated, against a real mailroom server, aiosmtpd (an
open relay), scripted misbehaving peers, seed 004's inspecting firewall and a private Postfix;
every failure class provoked, its step, its likely causes and its exit status asserted; --json
checked against docs/json/probe.schema.json."""
import json
import subprocess

import pytest

from dns_support import DnsServer
from postfix_support import PrivatePostfix
from remote_support import RemoteServer
from tester_support import (InspectingProxy, ScriptedServer, check_schema,
                            postfix_available, run_mailroom, smtp_script, starttls_then)
from conftest import free_port

LISTENERS = [
    {"name": "inbound", "tls": "starttls", "auth": "optional", "relay": "none"},
    {"name": "submission", "tls": "starttls", "auth": "required", "relay": "authenticated"},
]


@pytest.fixture
def srv(mailroom):
    s = mailroom(listeners=[dict(l) for l in LISTENERS])
    s.add_user("kate@example.test", "kate-secret")
    s.add_user("sales@example.test", "sales-secret")
    return s.start()


def probe(*args, **kw):
    return run_mailroom("probe", "--ehlo", "client.test", "--dns", "127.0.0.1:9", *args, **kw)


def step_lines(output, verdict, step):
    return [l for l in output.splitlines() if l.strip().startswith(f"{verdict}") and f" {step} " in l]


def test_every_step_passes_against_mailroom(srv):
    r = probe(f"127.0.0.1:{srv.port()}", "--to", "kate@example.test", "--json")
    assert r.returncode == 0, r.stdout
    doc = check_schema(json.loads(r.stdout), "probe")
    steps = [(s["step"], s["verdict"]) for s in doc["hosts"][0]["steps"]]
    for expected in [("connect", "OK"), ("banner", "OK"), ("EHLO", "OK"), ("STARTTLS", "OK"),
                     ("MAIL FROM", "OK"), ("RCPT TO", "OK"), ("RSET", "OK"), ("QUIT", "OK")]:
        assert expected in steps, steps
    assert doc["hosts"][0]["tls"]["subject"] == "CN=mx.example.test"
    assert doc["hosts"][0]["tls"]["trusted"] is False


def test_domain_target_uses_mx(srv):
    dns = DnsServer(mx=[("example.test", "mx.example.test", 10)],
                    hosts=[("mx.example.test", "127.0.0.1")])
    try:
        r = run_mailroom("probe", "example.test", "--port", str(srv.port()), "--dns", dns.address,
                         "--ehlo", "client.test", "--to", "kate@example.test")
        assert r.returncode == 0, r.stdout
        assert "OK    DNS          MX 10 mx.example.test" in r.stdout
    finally:
        dns.stop()


def test_connection_refused_lists_the_seed_causes():
    r = probe(f"127.0.0.1:{free_port()}")
    assert r.returncode == 4
    assert "FAIL  connect" in r.stdout
    assert "possible reasons for failure:" in r.stdout
    assert "An incorrect port number was specified" in r.stdout


def test_unknown_recipient_and_relay_and_auth_required(srv):
    r = probe(f"127.0.0.1:{srv.port()}", "--to", "nobody@example.test")
    assert r.returncode == 10
    assert "550 5.1.1" in r.stdout and "The specified recipient does not exist" in r.stdout
    r = probe(f"127.0.0.1:{srv.port()}", "--to", "kate@fabrikam.test")
    assert r.returncode == 10
    assert "550 5.7.1" in r.stdout and "Relay is not permitted" in r.stdout
    r = probe(f"127.0.0.1:{srv.port('submission')}", "--to", "kate@example.test")
    assert r.returncode == 9, r.stdout
    assert "530 5.7.1" in r.stdout and "does not accept anonymous message submissions" in r.stdout
    r = probe(f"127.0.0.1:{srv.port('submission')}", "--to", "kate@example.test", "--tls",
              "--user", "kate@example.test", "--password", "kate-secret")
    assert r.returncode == 0, r.stdout
    r = probe(f"127.0.0.1:{srv.port('submission')}", "--to", "kate@example.test", "--tls",
              "--user", "kate@example.test", "--password", "wrong")
    assert r.returncode == 8
    assert "The user name or password is wrong" in r.stdout


@pytest.mark.parametrize("name,script,step,rc,cause", [
    ("silent banner", smtp_script(banner=None), "banner", 5, "timeout"),
    ("cut mid-reply", smtp_script(after={"EHLO": b"250-scripted.test\r\n250-PIPE"}), "EHLO", 6,
     "cut the connection"),
    ("overlong line", smtp_script(banner=b"220 " + b"x" * 5000 + b"\r\n"), "banner", 5,
     "not an SMTP server"),
    ("invalid HELO name", smtp_script(ehlo=b"501 5.5.4 Invalid domain name\r\n",
                                      replies={"HELO": b"501 5.5.4 Invalid domain name\r\n"}),
     "EHLO", 6, "invalid characters in the domain name"),
    ("too many errors", smtp_script(replies={"MAIL": b"421 4.7.0 Too many errors on this connection, closing transmission channel\r\n"}),
     "MAIL FROM", 9, "Too many errors on this connection"),
    ("refused at connect", smtp_script(banner=b"554 5.7.1 Access denied\r\n"), "banner", 5,
     "not permitted"),
])
def test_failure_classes(name, script, step, rc, cause):
    with ScriptedServer(script) as s:
        r = probe(f"127.0.0.1:{s.port}", "--timeout", "2", "--json", timeout=30)
    assert r.returncode == rc, r.stdout
    doc = check_schema(json.loads(r.stdout), "probe")
    host = doc["hosts"][0]
    assert host["failed_at"] == step, host
    failed = [s for s in host["steps"] if s["verdict"] == "FAIL"][0]
    assert any(cause.lower() in c.lower() for c in failed["causes"]), failed


def test_non_utf8_banner_is_reported_not_fatal():
    with ScriptedServer(smtp_script(banner=b"220 \xff\xfe\x1b[31m ESMTP\r\n")) as s:
        r = probe(f"127.0.0.1:{s.port}")
        j = probe(f"127.0.0.1:{s.port}", "--json")
    assert r.returncode == 0, r.stdout
    assert "220 \\xFF\\xFE\\x1B[31m ESMTP" in r.stdout
    assert j.returncode == 0
    check_schema(json.loads(j.stdout), "probe")


def test_tls_failures():
    for action in ("close", "garbage"):
        with ScriptedServer(starttls_then(action)) as s:
            r = probe(f"127.0.0.1:{s.port}", "--tls", "--timeout", "3", timeout=30)
        assert r.returncode == 7, r.stdout
        assert "FAIL  STARTTLS" in r.stdout


def test_inspecting_firewall_is_recognised(srv):
    with InspectingProxy(srv.port()) as proxy:
        r = probe(f"127.0.0.1:{proxy.port}", "--to", "kate@example.test")
    assert "220 ****" in r.stdout
    assert "SMTP inspection suspected" in r.stdout
    assert "WARN  EHLO" in r.stdout
    assert "OK    HELO" in r.stdout
    assert r.returncode == 0, r.stdout


def test_open_relay_is_a_failure():
    port = free_port()
    relay = RemoteServer("127.0.0.1", port)
    try:
        r = probe(f"127.0.0.1:{port}", "--to", "kate@example.test", "--relay-test")
    finally:
        relay.stop()
    assert r.returncode == 12, r.stdout
    assert "OPEN RELAY" in r.stdout
    assert not relay.messages  # nothing was ever sent


def test_closed_relay_and_security_checks_pass(srv):
    r = probe(f"127.0.0.1:{srv.port()}", "--to", "kate@example.test", "--relay-test",
              "--security")
    assert r.returncode == 0, r.stdout
    assert "refused as it should be: 550 5.7.1" in r.stdout
    assert "plaintext sent after STARTTLS was discarded" in r.stdout
    assert r.stdout.count("only <CRLF>.<CRLF> ends DATA") == 2


@pytest.mark.skipif(not postfix_available(), reason="needs root and postfix")
def test_probe_and_send_against_private_postfix(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=postfix.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    # Relay refused even from loopback (no permit_mynetworks), as an MX answers the internet.
    port = free_port()
    pf = PrivatePostfix("tester", [("127.0.0.1", port, {})], mailboxes=["kate@postfix.test"],
                        main={"smtpd_relay_restrictions": "reject_unauth_destination"},
                        cert=str(cert), key=str(key)).start()
    try:
        r = probe(f"127.0.0.1:{port}", "--to", "kate@postfix.test")
        assert r.returncode == 0, r.stdout
        assert "ESMTP Postfix" in r.stdout
        assert "OK    STARTTLS" in r.stdout
        r = probe(f"127.0.0.1:{port}", "--to", "nobody@postfix.test")
        assert r.returncode == 10
        assert "550 5.1.1" in r.stdout
        r = probe(f"127.0.0.1:{port}", "--to", "someone@elsewhere.test")
        assert r.returncode == 10 and "Relay access denied" in r.stdout
        s = run_mailroom("send", "--server", f"127.0.0.1:{port}", "--ehlo", "client.test",
                         "--from", "chris@contoso.test", "--to", "kate@postfix.test", "--tls",
                         "--pipeline")
        assert s.returncode == 0, s.stdout
        assert "250 2.0.0 Ok: queued as" in s.stdout
    finally:
        pf.stop()


def test_probe_bad_arguments():
    for args in (["127.0.0.1", "--tls", "--no-tls"], ["127.0.0.1", "--password", "x"],
                 ["127.0.0.1", "--timeout", "0"]):
        r = run_mailroom("probe", *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
