"""Interop with real MTAs (issue 13 acceptance): a private Postfix and Postfix's smtp-sink.

- mailroom -> Postfix, STARTTLS with the certificate verified against a private CA: the message
  lands in Postfix's virtual Maildir byte for byte (line ends aside: Maildir stores LF);
- Postfix -> mailroom, Postfix's smtp client with smtp_tls_security_level = encrypt: the message
  lands in mailroom's Maildir byte for byte, and mailroom's Received: says ESMTPS;
- smarthost: mailroom relays everything through Postfix with AUTH (Dovecot SASL behind Postfix's
  smtpd) over STARTTLS; Postfix relays far.test only for authenticated clients. Wrong credentials
  defer (Postfix's smtp_sasl_auth_soft_bounce): a local configuration error must not bounce mail;
- smtp-sink as MX: one that drops the connection after the end of data (-q .) is left for the
  next MX, and a burst of messages goes over reused connections.
"""
import re
import shutil
import subprocess
import time

import pytest

from conftest import RawSmtp
from dns_support import DnsServer
from peer_support import free_port_on, mx_port
from postfix_support import DovecotSasl, PrivatePostfix, wait_for_banner
from queue_support import send_message, smtp_transaction, wait_until, world_traversable_dir
from remote_support import SENDER, SHORT_TIMEOUTS, queue_listing, start_relay, wait_queue_empty
from tls_support import Pki

# Lines that trip naive relays: leading dots, "From " (mbox), trailing white space, a 998-octet
# line, an empty line before the end, and a header folded with a tab.
AWKWARD = ("X-Interop: 1\r\nFrom: Chris <chris@example.test>\r\nTo: Someone <someone@far.test>\r\n"
           "Subject: interop\r\n\ttwo-line subject\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n"
           "Message-ID: <interop-1@example.test>\r\n\r\n"
           ".\r\n..two dots\r\nFrom the start of a line\r\ntrailing space \r\ntab\tinside\t\r\n"
           + "x" * 998 + "\r\n\r\nlast line\r\n")

SASL_USER, SASL_PASSWORD = "relayuser", "relay-secret"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


def make_postfix(sasl, cert, key, ports):
    return PrivatePostfix(
        "interop",
        services=[
            # The MX of dom.test and the smarthost: far.test only for authenticated clients.
            ("127.0.0.2", ports["mx"], {
                "smtpd_sasl_auth_enable": "yes",
                "smtpd_relay_restrictions": "permit_sasl_authenticated,reject_unauth_destination",
                "smtpd_recipient_restrictions":
                    "permit_sasl_authenticated,check_recipient_access,texthash:{conf}/auth_only"}),
            # Where the test injects mail that Postfix relays to mailroom.
            ("127.0.0.1", ports["inject"], {
                "smtpd_relay_restrictions": "permit_mynetworks,reject",
                "smtpd_recipient_restrictions": "permit_mynetworks,reject"}),
        ],
        mailboxes=["bob@dom.test", "amy@far.test"],
        cert=str(cert), key=str(key),
        main={"smtpd_sasl_type": "dovecot", "smtpd_sasl_path": str(sasl.socket),
              "smtpd_sasl_auth_enable": "no", "smtpd_tls_auth_only": "yes",
              "transport_maps": "texthash:{conf}/transport",
              "smtp_tls_security_level": "encrypt",
              # Postfix would otherwise complete headers of loopback clients' mail.
              "local_header_rewrite_clients": ""},
        files={"auth_only": "far.test REJECT 5.7.1 authentication required\n",
               "transport": f"example.test smtp:[127.0.0.1]:{ports['mailroom']}\n"})


@pytest.fixture(scope="module")
def postfix(pki):
    """The private Postfix, with .ports: mx (127.0.0.2), inject (127.0.0.1), mailroom (where
    Postfix relays example.test to)."""
    cert, key = pki.server("mx1.dom.test", alt_names=["postfix.interop.test"])
    with DovecotSasl("interop", {SASL_USER: SASL_PASSWORD}) as sasl:
        for attempt in range(3):  # a free port can be taken by someone else before Postfix binds
            ports = {"mx": free_port_on("127.0.0.2"), "inject": free_port_on("127.0.0.1"),
                     "mailroom": free_port_on("127.0.0.1")}
            pf = make_postfix(sasl, cert, key, ports)
            try:
                pf.start()
                break
            except RuntimeError as e:
                if "Address already in use" not in str(e) or attempt == 2:
                    raise
        pf.ports = ports
        try:
            yield pf
        finally:
            pf.stop()


def stored_message(data, first_header=b"X-Interop: 1"):
    """The original message inside a stored copy: from our first header on, CRLF line ends."""
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data[data.index(first_header):]


@pytest.mark.parametrize("bdat", [False, True], ids=["data", "bdat"])
def test_mailroom_to_postfix_over_verified_starttls(mailroom, postfix, pki, bdat):
    # Postfix offers CHUNKING: with use_bdat the body goes in BDAT chunks (RFC 3030), the last
    # one read ahead; several chunks, as the body is bigger than one.
    body = AWKWARD + ("z" * 76 + "\r\n") * (2000 if bdat else 0)
    with DnsServer(mx=[("dom.test", "mx1.dom.test", 10)], hosts=[("mx1.dom.test", "127.0.0.2")]) as dns:
        srv = start_relay(mailroom, dns.address, postfix.ports["mx"],
                          tls_ca_file=str(pki.ca_file), use_bdat=bdat,
                          extra={"delivery.tls_policy": {'"dom.test"': "verify"}})
        before = len(list((postfix.maildir("bob@dom.test") / "new").glob("*")))
        code, line, qid = send_message(srv.port(), SENDER, ["bob@dom.test"], body)
        assert code == 250, line
        data = postfix.wait_for_mail("bob@dom.test", count=before + 1)[-1]
        assert stored_message(data) == body.encode()
        # Postfix's own Received: says the hop was encrypted.
        assert re.search(rb"Received: from mx\.example\.test .*\n\t\(using TLSv1\.[23]", data), data[:600]
        wait_queue_empty(srv)
        assert re.search(rf"id={qid} to=<bob@dom.test> status=delivered .*mx1\.dom\.test"
                         r"\[127\.0\.0\.2\]:\d+ said: 250 2\.0\.0 Ok: (\d+ bytes )?queued as", srv.log_text())


def test_postfix_to_mailroom_over_starttls(mailroom, postfix):
    srv = mailroom([{"name": "inbound", "tls": "starttls", "auth": "optional", "relay": "none",
                     "address": f"127.0.0.1:{postfix.ports['mailroom']}"}])
    srv.add_user("kate@example.test", "pw")
    srv.start()
    c = RawSmtp(postfix.ports["inject"])
    try:
        assert c.reply()[0] == 220
        c.expect("EHLO client.test", 250)
        code, line, _ = smtp_transaction(c, "someone@far.test", ["kate@example.test"], AWKWARD)
        assert code == 250, line
        c.cmd("QUIT")
    finally:
        c.close()
    (path,) = srv.wait_for_mail("kate@example.test", timeout=30)
    data = path.read_bytes()
    assert stored_message(data) == AWKWARD.encode()
    headers = data.split(b"\n\n")[0].decode()
    assert re.search(r"Received: from postfix\.interop\.test \(\[127\.0\.0\.1\]\)\n\tby "
                     r"mx\.example\.test \(mailroom\) with ESMTPS", headers), headers
    assert re.search(r"(Trusted|Untrusted|Anonymous) TLS connection established to "
                     rf"127\.0\.0\.1\[127\.0\.0\.1\]:{postfix.ports['mailroom']}", postfix.log())


def smarthost(mailroom, postfix, password, **delivery):
    # The DNS points nowhere: the relayhost is an address, nothing needs a lookup.
    opts = dict(SHORT_TIMEOUTS)
    opts.update(delivery)
    return start_relay(mailroom, "127.0.0.1:9", postfix.ports['mx'], relayhost=f"[127.0.0.2]:{postfix.ports['mx']}",
                       relayhost_username=SASL_USER, relayhost_password=password,
                       tls="required", **opts)


def test_smarthost_with_auth_over_starttls(mailroom, postfix):
    srv = smarthost(mailroom, postfix, SASL_PASSWORD)
    code, line, qid = send_message(srv.port(), SENDER, ["amy@far.test"], AWKWARD)
    assert code == 250, line
    (data,) = postfix.wait_for_mail("amy@far.test")
    assert stored_message(data) == AWKWARD.encode()
    assert re.search(rb"Received: from mx\.example\.test .*\n\t\(using TLSv1\.[23]", data), data[:600]
    assert re.search(r"sasl_method=PLAIN, sasl_username=relayuser", postfix.log())


def test_smarthost_refusing_the_credentials_defers(mailroom, postfix):
    srv = smarthost(mailroom, postfix, "wrong-password")
    code, line, qid = send_message(srv.port(), SENDER, ["amy@far.test"], AWKWARD)
    assert code == 250, line
    wait_until(lambda: re.search(r"4\.7\.8 .*535 5\.7\.8", queue_listing(srv)),
               what="a deferral quoting the 535")
    assert not srv.maildir(SENDER).exists(), "wrong credentials bounced the message"


# --- smtp-sink --------------------------------------------------------------------------------

class SmtpSink:
    def __init__(self, host, port, *options):
        # smtp-sink runs as nobody (-u): its dump directory must be reachable for that user.
        self.dump_dir = dump_dir = world_traversable_dir("mailroom-sink-")
        dump_dir.chmod(0o777)
        self.proc = subprocess.Popen(
            ["smtp-sink", "-u", "nobody", "-c", "-d", f"{dump_dir}/%H%M%S.", *options,
             f"{host}:{port}", "64"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_banner(host, port, 10, self._why)

    def _why(self):
        if self.proc.poll() is None:
            return "smtp-sink runs but does not greet"
        return f"smtp-sink exited {self.proc.returncode}: {self.proc.stdout.read()[-500:]}"

    def dumps(self):
        return sorted(p for p in self.dump_dir.iterdir() if p.is_file())

    def stop(self):
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        shutil.rmtree(self.dump_dir, ignore_errors=True)
        return out


def test_smtp_sink_dropping_after_end_of_data_is_left_for_the_next_mx(mailroom):
    port = mx_port()
    with DnsServer(mx=[("dom.test", "mx1.dom.test", 10), ("dom.test", "mx2.dom.test", 20)],
                   hosts=[("mx1.dom.test", "127.0.0.2"), ("mx2.dom.test", "127.0.0.3")]) as dns:
        dropper = SmtpSink("127.0.0.2", port, "-q", ".")
        sink = SmtpSink("127.0.0.3", port)
        try:
            srv = start_relay(mailroom, dns.address, port, **SHORT_TIMEOUTS)
            send_message(srv.port(), SENDER, ["bob@dom.test"], AWKWARD)
            wait_until(lambda: sink.dumps(), what="smtp-sink on mx2 to get the message")
            wait_queue_empty(srv)
            (dump,) = sink.dumps()
            assert stored_message(dump.read_bytes()) == AWKWARD.encode() + b"\r\n"  # + sink's empty line
        finally:
            dropper.stop()
            sink.stop()


def test_burst_to_smtp_sink_reuses_connections(mailroom):
    port = mx_port()
    with DnsServer(mx=[("dom.test", "mx1.dom.test", 10)], hosts=[("mx1.dom.test", "127.0.0.2")]) as dns:
        sink = SmtpSink("127.0.0.2", port)
        try:
            srv = start_relay(mailroom, dns.address, port, connection_cache_s=10,
                              **SHORT_TIMEOUTS)
            c = RawSmtp(srv.port())
            assert c.reply()[0] == 220
            c.expect("EHLO client.test", 250)
            for i in range(20):
                code, line, _ = smtp_transaction(c, SENDER, [f"user{i}@dom.test"], AWKWARD)
                assert code == 250, line
            c.close()
            wait_until(lambda: len(sink.dumps()) >= 20, timeout=60, what="20 messages at the sink")
            wait_queue_empty(srv)
            time.sleep(0.5)
            assert len(sink.dumps()) == 20
        finally:
            counters = sink.stop()
        # smtp-sink -c: "sess=N quit=N mesg=N" after each session end, QUIT or end of data.
        sessions = [int(m.group(1)) for m in re.finditer(r"sess=(\d+)", counters)]
        assert sessions and max(sessions) < 20, counters[-500:]
