"""Real clients deliver through mailroom: Python smtplib, swaks and curl, plain and TLS, with AUTH."""
import email
import shutil
import smtplib
import ssl
import subprocess

import pytest

from conftest import HOSTNAME

SUBMISSION = {"name": "submission", "tls": "starttls", "auth": "required", "relay": "authenticated"}
INBOUND = {"name": "inbound", "tls": "starttls", "auth": "optional", "relay": "none"}
SMTPS = {"name": "smtps", "tls": "implicit", "auth": "required", "relay": "authenticated"}


@pytest.fixture
def srv(mailroom):
    s = mailroom([dict(INBOUND), dict(SUBMISSION), dict(SMTPS)])
    s.add_user("kate@example.test", "kate-secret")
    s.add_user("chris@example.test", "chris-secret")
    return s.start()


def no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_smtplib_starttls_login_submission(srv):
    with smtplib.SMTP("127.0.0.1", srv.port("submission"), timeout=10) as s:
        s.ehlo("client.example")
        assert not s.has_extn("auth"), "AUTH must not be offered before TLS"
        s.starttls(context=no_verify())
        s.ehlo("client.example")
        assert "LOGIN" in s.esmtp_features["auth"] and "PLAIN" in s.esmtp_features["auth"]
        s.login("chris@example.test", "chris-secret")
        refused = s.sendmail("chris@example.test", ["kate@example.test"],
                             "Subject: via smtplib\r\n\r\nhello from smtplib\r\n")
        assert refused == {}
    body = srv.wait_for_mail("kate@example.test")[0].read_text()
    assert "hello from smtplib" in body
    assert "with ESMTPSA" in body


def test_smtplib_submission_requires_auth(srv):
    with smtplib.SMTP("127.0.0.1", srv.port("submission"), timeout=10) as s:
        s.starttls(context=no_verify())
        s.ehlo("client.example")
        code, msg = s.mail("chris@example.test")
        assert (code, msg) == (530, b"5.7.1 Client was not authenticated")


def test_smtplib_smtps_implicit_tls(srv):
    with smtplib.SMTP_SSL("127.0.0.1", srv.port("smtps"), timeout=10, context=no_verify()) as s:
        s.login("kate@example.test", "kate-secret")
        s.sendmail("kate@example.test", ["chris@example.test"], "Subject: smtps\r\n\r\nimplicit tls\r\n")
    assert "implicit tls" in srv.wait_for_mail("chris@example.test")[0].read_text()


def swaks(*args):
    assert shutil.which("swaks"), "swaks is installed by scripts/deps.sh --test"
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--helo", "client.example",
                        "--timeout", "10", *args], capture_output=True, text=True, timeout=60)
    return r


@pytest.mark.parametrize("extra,expect_in_log", [
    ([], "<-  250 2.6.0"),
    (["--tls"], "<~  250 2.6.0"),
    (["--pipeline"], "<-  250 2.6.0"),
])
def test_swaks_inbound(srv, extra, expect_in_log):
    r = swaks("--port", str(srv.port("inbound")), "--from", "someone@elsewhere.example",
              "--to", "kate@example.test", *extra)
    assert r.returncode == 0, r.stdout + r.stderr
    assert expect_in_log in r.stdout
    if "--tls" in extra:
        assert "TLS started" in r.stdout
    srv.wait_for_mail("kate@example.test")


@pytest.mark.parametrize("mech", ["LOGIN", "PLAIN"])
def test_swaks_auth_relay(srv, mech):
    r = swaks("--port", str(srv.port("submission")), "--tls", "--auth", mech,
              "--auth-user", "chris@example.test", "--auth-password", "chris-secret",
              "--from", "chris@example.test", "--to", "kate@example.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0 Authentication succeeded" in r.stdout
    srv.wait_for_mail("kate@example.test")


def test_swaks_auth_wrong_password(srv):
    r = swaks("--port", str(srv.port("submission")), "--tls", "--auth", "LOGIN",
              "--auth-user", "chris@example.test", "--auth-password", "nope",
              "--from", "chris@example.test", "--to", "kate@example.test")
    assert r.returncode != 0
    assert "535 5.7.8 Authentication unsuccessful" in r.stdout


def curl(*args, data):
    assert shutil.which("curl")
    return subprocess.run(["curl", "-sS", "--max-time", "20", *args, "-T", "-"], input=data,
                          capture_output=True, text=True, timeout=60)


def test_curl_smtp_plain(srv, tmp_path):
    msg = "From: a@elsewhere.example\r\nTo: kate@example.test\r\nSubject: curl\r\n\r\nsent by curl\r\n"
    r = curl(f"smtp://127.0.0.1:{srv.port('inbound')}", "--mail-from", "a@elsewhere.example",
             "--mail-rcpt", "kate@example.test", data=msg)
    assert r.returncode == 0, r.stderr
    assert "sent by curl" in srv.wait_for_mail("kate@example.test")[0].read_text()


def test_curl_smtp_starttls_auth(srv):
    msg = "Subject: curl tls\r\n\r\ncurl with starttls\r\n"
    r = curl(f"smtp://127.0.0.1:{srv.port('submission')}", "--ssl-reqd", "-k",
             "--user", "chris@example.test:chris-secret", "--mail-from", "chris@example.test",
             "--mail-rcpt", "kate@example.test", data=msg)
    assert r.returncode == 0, r.stderr
    assert "curl with starttls" in srv.wait_for_mail("kate@example.test")[0].read_text()


def test_curl_smtps(srv):
    msg = "Subject: curl smtps\r\n\r\ncurl over smtps\r\n"
    r = curl(f"smtps://127.0.0.1:{srv.port('smtps')}", "-k",
             "--user", "chris@example.test:chris-secret", "--mail-from", "chris@example.test",
             "--mail-rcpt", "kate@example.test", data=msg)
    assert r.returncode == 0, r.stderr
    assert "curl over smtps" in srv.wait_for_mail("kate@example.test")[0].read_text()


def test_delivered_message_is_well_formed(srv):
    with smtplib.SMTP("127.0.0.1", srv.port("inbound"), timeout=10) as s:
        s.sendmail("someone@elsewhere.example", ["kate@example.test"],
                   "From: someone@elsewhere.example\r\nSubject: parse me\r\n\r\nbody\r\n")
    parsed = email.message_from_bytes(srv.wait_for_mail("kate@example.test")[0].read_bytes())
    assert parsed["Subject"] == "parse me"
    assert parsed["Return-Path"] == "<someone@elsewhere.example>"
    received = parsed.get_all("Received")
    assert received and f"by {HOSTNAME} (mailroom) with ESMTP" in received[0]
