"""`mailroom send`: swaks's features against a real mailroom server, aiosmtpd and scripted peers;
the commands it sends compared with swaks's for the same session; MX fallback through a private
dnsmasq; every failure class with its FAIL line and exit status; bad arguments."""
import email
import email.policy
import json
import re
import shutil
import subprocess
import threading

import pytest

from dns_support import DnsServer
from remote_support import RemoteServer, _Handler
from tester_support import (InspectingProxy, ScriptedServer, check_schema, run_mailroom,
                            sent_lines, smtp_script, starttls_then)
from conftest import free_port

LISTENERS = [
    {"name": "inbound", "tls": "starttls", "auth": "optional", "relay": "none"},
    {"name": "submission", "tls": "starttls", "auth": "required", "relay": "authenticated"},
    {"name": "smtps", "tls": "implicit", "auth": "optional", "relay": "none"},
]


@pytest.fixture
def srv(mailroom):
    s = mailroom(listeners=[dict(l) for l in LISTENERS])
    s.add_user("kate@example.test", "kate-secret")
    s.add_user("sales@example.test", "sales-secret")
    return s.start()


def send(*args, **kw):
    return run_mailroom("send", "--ehlo", "client.test", *args, **kw)


# --- the commands on the wire, next to swaks's ------------------------------------------------

def swaks_commands(output):
    """The commands swaks sent (" -> " and " ~> " lines), message lines left out."""
    out, in_data = [], False
    for line in output.splitlines():
        if not (line.startswith(" -> ") or line.startswith(" ~> ")):
            continue
        text = line[4:]
        if in_data:
            if text == ".":
                in_data = False
                out.append(".")
            continue
        out.append(text)
        if text == "DATA":
            in_data = True
    return out


def normalise(commands):
    out = []
    for c in commands:
        if c.startswith("<message,"):
            continue
        c = re.sub(r" SIZE=\d+", "", c)  # we announce the size when offered; swaks never does
        c = re.sub(r"^AUTH PLAIN \S+$", "AUTH PLAIN ****", c)
        out.append(c)
    return out


# case: (our extra options, swaks's extra options); both send to kate@example.test unless the
# case names its own recipients.
SWAKS_CASES = {
    "plain": ([], []),
    "pipelining": (["--pipeline"], ["--pipeline"]),
    "two recipients": (["--to", "sales@example.test"],
                       ["--to", "kate@example.test,sales@example.test"]),
    "quit after rcpt": (["--quit-after", "rcpt"], ["--quit-after", "RCPT"]),
    "quit after mail": (["--quit-after", "mail"], ["--quit-after", "MAIL"]),
    "quit after ehlo": (["--quit-after", "ehlo"], ["--quit-after", "EHLO"]),
    "quit after connect": (["--quit-after", "connect"], ["--quit-after", "CONNECT"]),
    "starttls": (["--tls"], ["--tls"]),
    "starttls, quit after tls": (["--tls", "--quit-after", "tls"], ["--tls", "--quit-after", "TLS"]),
    "null sender": (["--from", "<>"], ["--from", "<>"]),
}


@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks not installed")
@pytest.mark.parametrize("case", sorted(SWAKS_CASES))
def test_commands_sent_match_swaks(srv, case):
    ours_args, swaks_args = SWAKS_CASES[case]
    server = f"127.0.0.1:{srv.port('inbound')}"
    sender = [] if "--from" in ours_args else ["--from", "chris@contoso.test"]
    ours = send("--server", server, "--to", "kate@example.test", *sender, *ours_args)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    swaks_to = [] if "--to" in swaks_args else ["--to", "kate@example.test"]
    swaks = subprocess.run(["swaks", "--server", server, "--ehlo", "client.test", *swaks_to,
                            *sender, *swaks_args], capture_output=True, text=True, timeout=60)
    assert swaks.returncode == 0, swaks.stdout + swaks.stderr
    assert normalise(sent_lines(ours.stdout)) == normalise(swaks_commands(swaks.stdout))


@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks not installed")
@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_auth_matches_swaks_and_hides_the_password(srv, mechanism):
    port = str(srv.port("submission"))
    common = ["--from", "kate@example.test", "--to", "kate@example.test"]
    ours = send("--server", f"127.0.0.1:{port}", *common, "--tls", "--auth", mechanism, "--user",
                "kate@example.test", "--password", "kate-secret")
    assert ours.returncode == 0, ours.stdout
    swaks = subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--ehlo", "client.test",
                            *common, "--tls", "--auth", mechanism, "--auth-user",
                            "kate@example.test", "--auth-password", "kate-secret"],
                           capture_output=True, text=True, timeout=60)
    assert swaks.returncode == 0, swaks.stdout
    theirs = swaks_commands(swaks.stdout)
    if mechanism == "LOGIN":  # swaks shows the base64 user name and password; we show ****
        i = theirs.index("AUTH LOGIN")
        theirs[i + 1:i + 3] = ["****", "****"]
    assert normalise(sent_lines(ours.stdout)) == normalise(theirs)
    assert "kate-secret" not in ours.stdout
    import base64
    assert base64.b64encode(b"kate-secret").decode() not in ours.stdout
    assert "235 2.7.0" in ours.stdout
    srv.wait_for_mail("kate@example.test")


def test_wrong_password_fails_auth_with_exit_8(srv):
    r = send("--server", f"127.0.0.1:{srv.port('submission')}", "--from", "kate@example.test",
             "--to", "kate@example.test", "--tls", "--auth", "LOGIN", "--user",
             "kate@example.test", "--password", "N0t-her-Passw0rd")
    assert r.returncode == 8, r.stdout
    assert "FAIL AUTH: 535 5.7.8" in r.stdout
    assert "The user name or password is wrong" in r.stdout
    assert "N0t-her-Passw0rd" not in r.stdout


def test_auth_required_without_credentials_is_530(srv):
    r = send("--server", f"127.0.0.1:{srv.port('submission')}", "--from", "kate@example.test",
             "--to", "kate@example.test", "--tls")
    assert r.returncode == 9, r.stdout
    assert "FAIL MAIL FROM: 530 5.7.1" in r.stdout
    assert "authentication" in r.stdout.lower()


# --- delivery and message features --------------------------------------------------------------

def test_delivers_and_prints_a_transcript(srv):
    r = send("--server", f"127.0.0.1:{srv.port()}", "--from", "chris@contoso.test", "--to",
             "kate@example.test", "--subject", "Test from Contoso", "--body",
             "This is a test message", "--header", "X-Seed: 002", "--show-time")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"** trying [127.0.0.1]:{srv.port()}"
    assert any(l.startswith("<- 220 mx.example.test") for l in lines)
    assert "-> MAIL FROM:<chris@contoso.test> SIZE=" in r.stdout
    assert "** timing:" in r.stdout and re.search(r"\*\*   RCPT TO +\d+\.\d ms", r.stdout)
    assert lines[-1].startswith("** result: OK: accepted by [127.0.0.1]")
    (path,) = srv.wait_for_mail("kate@example.test")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "Test from Contoso"
    assert msg["X-Seed"] == "002"
    assert msg["X-Mailer"] == "mailroom send"
    assert msg.get_content().strip() == "This is a test message"


def test_mime_attachments_and_utf8_subject(srv, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(bytes(range(256)) * 20)
    notes = tmp_path / "notes.txt"
    notes.write_text("première ligne\n.une ligne qui commence par un point\n")
    r = send("--server", f"127.0.0.1:{srv.port()}", "--from", "chris@contoso.test", "--to",
             "kate@example.test", "--subject", "Prüfung — 試験", "--body", f"@{notes}",
             "--attach", str(pdf), "--attach", str(notes), "--attach-type", "application/pdf",
             "--attach-type", "text/plain")
    assert r.returncode == 0, r.stdout
    assert "SMTPUTF8" not in "\n".join(sent_lines(r.stdout))  # encoded words: no need
    (path,) = srv.wait_for_mail("kate@example.test")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "Prüfung — 試験"
    parts = list(msg.iter_parts())
    assert parts[0].get_content() == notes.read_text()
    assert parts[1].get_filename() == "report.pdf"
    assert parts[1].get_content() == pdf.read_bytes()
    assert parts[2].get_content_type() == "text/plain"


def test_data_from_stdin_and_body_from_stdin(srv):
    r = send("--server", f"127.0.0.1:{srv.port()}", "--from", "chris@contoso.test", "--to",
             "kate@example.test", "--data", "-",
             input="Subject: raw\n\nline one\n.dot line\n.\n")
    assert r.returncode == 0, r.stdout
    (path,) = srv.wait_for_mail("kate@example.test")
    text = path.read_text()
    assert "Subject: raw" in text and "\n.dot line\n" in text


def test_bdat_and_dsn_parameters(srv):
    r = send("--server", f"127.0.0.1:{srv.port()}", "--from", "chris@contoso.test", "--to",
             "kate@example.test", "--bdat", "--notify", "success,failure", "--ret", "hdrs",
             "--envid", "QQ314159", "--orcpt")
    assert r.returncode == 0, r.stdout
    sent = sent_lines(r.stdout)
    assert re.match(r"MAIL FROM:<chris@contoso.test> SIZE=\d+ RET=HDRS ENVID=QQ314159$", sent[1]), sent
    assert sent[2] == "RCPT TO:<kate@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;kate@example.test"
    assert re.match(r"BDAT \d+ LAST$", sent[3]), sent
    assert "DATA" not in sent
    srv.wait_for_mail("kate@example.test")


class Sink:
    """What remote_support's aiosmtpd handler records into, for servers built here."""

    def __init__(self):
        self.rcpt_replies, self.data_reply, self.messages = {}, None, []
        self.lock = threading.Lock()


def test_smtputf8_address():
    from aiosmtpd.controller import Controller
    port = free_port()
    sink = Sink()
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=port,
                            enable_SMTPUTF8=True, decode_data=False)
    controller.start()
    try:
        r = send("--server", f"127.0.0.1:{port}", "--from", "chris@contoso.test", "--to",
                 "kåre@bücher.test")
        assert r.returncode == 0, r.stdout
        assert re.search(r"-> MAIL FROM:<chris@contoso.test> SIZE=\d+ BODY=8BITMIME SMTPUTF8",
                         r.stdout), r.stdout
        assert "-> RCPT TO:<kåre@bücher.test>" in r.stdout
        assert sink.messages[0].rcpt_tos == ["kåre@bücher.test"]
    finally:
        controller.stop()


def test_lmtp_against_aiosmtpd():
    from aiosmtpd.controller import Controller
    from aiosmtpd.lmtp import LMTP

    class LmtpController(Controller):
        def factory(self):
            return LMTP(self.handler)

    port = free_port()
    sink = Sink()
    controller = LmtpController(_Handler(sink), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        # aiosmtpd's LMTP answers the end of data once, not per recipient: one recipient only.
        r = send("--server", f"127.0.0.1:{port}", "--lmtp", "--from", "chris@contoso.test",
                 "--to", "kate@example.test")
        assert r.returncode == 0, r.stdout
        assert "-> LHLO client.test" in r.stdout
        assert sink.messages[0].rcpt_tos == ["kate@example.test"]
    finally:
        controller.stop()


def lmtp_script(conn, io):
    """RFC 2033: one reply per accepted recipient after the final dot."""
    io.send(b"220 lmtp.test LMTP\r\n")
    rcpts = 0
    while True:
        verb = io.line().split(" ")[0].upper()
        if verb == "LHLO":
            io.send(b"250-lmtp.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n")
        elif verb == "RCPT":
            rcpts += 1
            io.send(b"250 2.1.5 ok\r\n")
        elif verb == "DATA":
            io.send(b"354 go\r\n")
            while io.line() != ".":
                pass
            io.send(b"250 2.0.0 <kate@example.test> delivered\r\n"
                    b"452 4.2.2 <sales@example.test> mailbox full\r\n"[:None if rcpts > 1 else 44])
        elif verb == "QUIT":
            io.send(b"221 bye\r\n")
            return
        else:
            io.send(b"250 2.0.0 ok\r\n")


def test_lmtp_reports_each_recipient():
    with ScriptedServer(lmtp_script) as s:
        r = send("--server", f"127.0.0.1:{s.port}", "--lmtp", "--from", "chris@contoso.test",
                 "--to", "kate@example.test", "--to", "sales@example.test")
    assert r.returncode == 11, r.stdout
    assert "** recipient kate@example.test: 250 2.0.0 <kate@example.test> delivered" in r.stdout
    assert "** recipient sales@example.test: 452 4.2.2 <sales@example.test> mailbox full" in r.stdout
    assert "FAIL DATA: sales@example.test: 452 4.2.2" in r.stdout


@pytest.mark.parametrize("step,last_command,delivered", [
    ("connect", None, False), ("ehlo", "EHLO client.test", False),
    ("mail", "MAIL FROM:<chris@contoso.test>", False),
    ("rcpt", "RCPT TO:<kate@example.test>", False), ("data", ".", True)])
def test_quit_after(srv, step, last_command, delivered):
    r = send("--server", f"127.0.0.1:{srv.port()}", "--from", "chris@contoso.test", "--to",
             "kate@example.test", "--quit-after", step)
    assert r.returncode == 0, r.stdout
    sent = [l for l in sent_lines(r.stdout) if not l.startswith("<message")]
    assert sent[-1] == "QUIT"
    if last_command:
        assert re.sub(r" SIZE=\d+", "", sent[-2]) == last_command
    else:
        assert sent == ["QUIT"]
    if not delivered:
        assert not srv.maildir("kate@example.test").exists() or not any(
            srv.maildir("kate@example.test").iterdir())


def test_json_report_matches_schema(srv):
    r = send("--server", f"127.0.0.1:{srv.port()}", "--from", "chris@contoso.test", "--to",
             "kate@example.test", "--to", "nobody@example.test", "--json")
    assert r.returncode == 10, r.stdout
    doc = check_schema(json.loads(r.stdout), "send")
    assert doc["failed_at"] == "RCPT TO"
    assert [x["code"] for x in doc["recipients"]] == [250, 550]
    assert doc["attempts"][0]["failed_at"] == "RCPT TO"
    assert any(t.startswith("-> RCPT TO:<nobody@example.test>") for t in doc["transcript"])


# --- MX: every host in order until one accepts ------------------------------------------------

def test_mx_hosts_tried_in_order_until_one_accepts():
    port = free_port()
    busy = ScriptedServer(smtp_script(banner=b"421 4.3.2 mx2 busy, try later\r\n"),
                          host="127.0.0.3", port=port)
    sink = RemoteServer("127.0.0.4", port)
    dns = DnsServer(mx=[("dom.test", "mx1.dom.test", 10), ("dom.test", "mx2.dom.test", 20),
                        ("dom.test", "mx3.dom.test", 30)],
                    hosts=[("mx1.dom.test", "127.0.0.2"), ("mx2.dom.test", "127.0.0.3"),
                           ("mx3.dom.test", "127.0.0.4")])
    try:
        r = send("--dns", dns.address, "--port", str(port), "--from", "chris@contoso.test",
                 "--to", "kate@dom.test")
        assert r.returncode == 0, r.stdout
        trying = [l for l in r.stdout.splitlines() if l.startswith("** trying")]
        assert trying == [f"** trying mx1.dom.test[127.0.0.2]:{port}",
                          f"** trying mx2.dom.test[127.0.0.3]:{port}",
                          f"** trying mx3.dom.test[127.0.0.4]:{port}"]
        assert f"mx1.dom.test[127.0.0.2]:{port}: failed at connect; trying the next host" in r.stdout
        assert f"mx2.dom.test[127.0.0.3]:{port}: failed at banner; trying the next host" in r.stdout
        assert "** result: OK: accepted by mx3.dom.test" in r.stdout
        assert sink.wait_for(1)[0].rcpt_tos == ["kate@dom.test"]
    finally:
        dns.stop()
        busy.stop()
        sink.stop()


def test_mx_permanent_refusal_stops_the_search():
    port = free_port()
    refusing = ScriptedServer(smtp_script(replies={"RCPT": b"550 5.1.1 <kate@dom.test>: User unknown\r\n"}),
                              host="127.0.0.2", port=port)
    sink = RemoteServer("127.0.0.3", port)
    dns = DnsServer(mx=[("dom.test", "mx1.dom.test", 10), ("dom.test", "mx2.dom.test", 20)],
                    hosts=[("mx1.dom.test", "127.0.0.2"), ("mx2.dom.test", "127.0.0.3")])
    try:
        r = send("--dns", dns.address, "--port", str(port), "--from", "chris@contoso.test",
                 "--to", "kate@dom.test")
        assert r.returncode == 10, r.stdout
        assert "trying mx2" not in r.stdout
        assert "FAIL RCPT TO: 550 5.1.1" in r.stdout
        assert not sink.messages
    finally:
        dns.stop()
        refusing.stop()
        sink.stop()


def test_mx_lookup_failures():
    dns = DnsServer(mx=[("null.test", ".", 0)])
    try:
        r = send("--dns", dns.address, "--to", "kate@nowhere.test")
        assert r.returncode == 3, r.stdout
        assert "FAIL DNS: MX lookup for nowhere.test failed: nxdomain" in r.stdout
        assert "does not exist" in r.stdout
        r = send("--dns", dns.address, "--to", "kate@null.test")
        assert r.returncode == 3
        assert "null MX" in r.stdout
    finally:
        dns.stop()


# --- bad input from the server --------------------------------------------------------------

def test_connection_refused():
    port = free_port()
    r = send("--server", f"127.0.0.1:{port}", "--to", "kate@example.test")
    assert r.returncode == 4
    assert f"FAIL connect: connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused" in r.stdout
    assert "nothing listens on this port" in r.stdout


@pytest.mark.parametrize("name,script,step,code,words", [
    ("silent banner", smtp_script(banner=None), "banner", 5, "timeout waiting for server"),
    ("cut mid-reply", smtp_script(after={"EHLO": b"250-scripted.test\r\n250-PIPE"}), "EHLO", 6,
     "cut the connection"),
    ("overlong line", smtp_script(banner=b"220 " + b"x" * 5000 + b"\r\n"), "banner", 5,
     "not an SMTP server"),
    ("invalid EHLO name", smtp_script(ehlo=b"501 5.5.4 Invalid domain name\r\n",
                                      replies={"HELO": b"501 5.5.4 Invalid domain name\r\n"}),
     "EHLO", 6, "invalid characters"),
    ("too many errors", smtp_script(replies={"MAIL": b"421 4.7.0 Too many errors on this connection, closing transmission channel\r\n"}),
     "MAIL FROM", 9, "too many"),
    ("unable to relay", smtp_script(replies={"RCPT": b"550 5.7.1 Unable to relay\r\n"}), "RCPT TO",
     10, "relay"),
    ("refused data", smtp_script(replies={".": b"554 5.6.0 Message rejected\r\n"}), "DATA", 11,
     ""),
])
def test_server_failure_classes(name, script, step, code, words):
    with ScriptedServer(script) as s:
        r = send("--server", f"127.0.0.1:{s.port}", "--from", "chris@contoso.test", "--to",
                 "kate@example.test", "--timeout", "2", timeout=20)
    assert r.returncode == code, r.stdout
    assert f"FAIL {step}:" in r.stdout, r.stdout
    assert words.lower() in r.stdout.lower(), r.stdout
    assert r.stdout.splitlines()[-1] == f"** result: FAILED at {step} (exit {code})"


def test_non_utf8_reply_is_shown_escaped():
    with ScriptedServer(smtp_script(banner=b"220 caf\xe9 \x1b[2J ESMTP\r\n")) as s:
        r = run_mailroom("send", "--server", f"127.0.0.1:{s.port}", "--ehlo", "client.test",
                         "--from", "a@b.test", "--to", "kate@example.test")
    assert r.returncode == 0, r.stdout
    assert "<- 220 caf\\xE9 \\x1B[2J ESMTP" in r.stdout


def test_tls_handshake_failure_and_untrusted_certificate(srv):
    for action in ("close", "garbage"):
        with ScriptedServer(starttls_then(action)) as s:
            r = send("--server", f"127.0.0.1:{s.port}", "--to", "kate@example.test", "--tls",
                     "--timeout", "3", timeout=30)
        assert r.returncode == 7, r.stdout
        assert "FAIL STARTTLS:" in r.stdout
    # mailroom's generated certificate is self-signed: fine for TLS, not for --tls-verify.
    ok = send("--server", f"127.0.0.1:{srv.port()}", "--to", "kate@example.test", "--tls")
    assert ok.returncode == 0, ok.stdout
    assert "certificate not trusted (self-signed certificate)" in ok.stdout
    bad = send("--server", f"127.0.0.1:{srv.port()}", "--to", "kate@example.test", "--tls",
               "--tls-verify")
    assert bad.returncode == 7, bad.stdout
    assert "server certificate not verified: self-signed certificate" in bad.stdout
    assert "MAIL FROM" not in "\n".join(sent_lines(bad.stdout))


def test_starttls_not_offered_with_tls_required():
    with ScriptedServer(smtp_script()) as s:
        r = send("--server", f"127.0.0.1:{s.port}", "--to", "kate@example.test", "--tls")
    assert r.returncode == 7
    assert "does not offer STARTTLS" in r.stdout


def test_inspecting_firewall_is_named(srv):
    with InspectingProxy(srv.port()) as proxy:
        r = send("--server", f"127.0.0.1:{proxy.port}", "--from", "chris@contoso.test", "--to",
                 "kate@example.test")
    assert r.returncode == 0, r.stdout  # HELO still works through it
    assert "<- 500 5.5.1 Command unrecognized" in r.stdout
    assert "-> HELO client.test" in r.stdout
    assert "** WARN SMTP inspection suspected" in r.stdout


# --- bad arguments: one line naming the option, exit 2 -----------------------------------------

@pytest.mark.parametrize("args,option", [
    (["--to", "not an address"], "--to"),
    (["--to", "a@b.test", "--server", "host:99999"], "--server"),
    (["--to", "a@b.test", "--quit-after", "lunch"], "--quit-after"),
    (["--to", "a@b.test", "--tls", "--tls-on-connect"], "--tls"),
    (["--to", "a@b.test", "--notify", "sometimes"], "--notify"),
    (["--to", "a@b.test", "--notify", "never,success"], "--notify"),
    (["--to", "a@b.test", "--header", "no colon here"], "--header"),
    (["--to", "a@b.test", "--auth", "CRAM-MD5", "--user", "u", "--password", "p"], "--auth"),
    (["--to", "a@b.test", "--auth", "PLAIN"], "--user"),
    (["--to", "a@b.test", "--body", "@/nonexistent/file"], "--body"),
    (["--to", "a@b.test", "--ret", "ALL"], "--ret"),
    (["--to", "a@b.test", "--count", "0"], "--count"),
    (["--to", "a@b.test", "--ehlo", "bad name"], "--ehlo"),
    ([], "--to"),
])
def test_bad_arguments(args, option):
    r = run_mailroom("send", *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert option in r.stderr


def test_password_missing_without_terminal(srv):
    r = run_mailroom("send", "--server", f"127.0.0.1:{srv.port()}", "--to", "a@b.test", "--auth",
                     "LOGIN", "--user", "kate", input="")
    assert r.returncode == 2
    assert "--password" in r.stderr


def test_dump_mail_prints_the_message():
    r = run_mailroom("send", "--to", "kate@example.test", "--from", "chris@contoso.test",
                     "--ehlo", "client.test", "--subject", "hello", "--dump-mail")
    assert r.returncode == 0
    assert "Subject: hello\r\n" in r.stdout.replace("\n", "\r\n") or "Subject: hello" in r.stdout
    assert "This is a test mailing" in r.stdout


# --- load: --count N --parallel C ---------------------------------------------------------------

def test_load_over_reused_connections(srv):
    r = send("--server", f"127.0.0.1:{srv.port()}", "--from", "chris@contoso.test", "--to",
             "kate@example.test", "--count", "40", "--parallel", "4", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "summary: 40 messages in " in r.stdout
    assert "over 4 connections opened" in r.stdout
    assert "accepted 40, failed 0" in r.stdout
    assert re.search(r"latency p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms", r.stdout)
    assert re.search(r"^ +40  250 2\.6\.0$", r.stdout, re.M), r.stdout
    assert r.stderr == ""  # no progress bar when stderr is not a terminal
    srv.wait_for_mail("kate@example.test", count=40)
    j = send("--server", f"127.0.0.1:{srv.port()}", "--from", "chris@contoso.test", "--to",
             "kate@example.test", "--to", "nobody@example.test", "--count", "6", "--parallel",
             "2", "--json", timeout=120)
    doc = check_schema(json.loads(j.stdout), "send-load")
    assert j.returncode == 10
    assert doc["failed"] == 6 and doc["accepted"] == 0
    assert doc["replies"]["550 5.1.1"] == 6
    assert doc["first_failure"]["step"] == "RCPT TO"


def test_load_against_nothing_fails_fast_with_the_reason():
    port = free_port()
    r = send("--server", f"127.0.0.1:{port}", "--to", "kate@example.test", "--count", "1000",
             "--parallel", "10", timeout=60)
    assert r.returncode == 4, r.stdout
    assert "accepted 0, failed 1000" in r.stdout
    assert "FAIL connect:" in r.stdout


def test_tls_on_connect(srv):
    r = send("--server", f"127.0.0.1:{srv.port('smtps')}", "--tls-on-connect", "--from",
             "chris@contoso.test", "--to", "kate@example.test")
    assert r.returncode == 0, r.stdout
    lines = r.stdout.splitlines()
    assert lines[2].startswith("** TLS established: TLSv1.3"), lines[:4]
    assert "STARTTLS" not in "\n".join(sent_lines(r.stdout))
    srv.wait_for_mail("kate@example.test")
    shell = run_mailroom("shell", "127.0.0.1", str(srv.port("smtps")), "--tls-on-connect",
                         input="EHLO client.test\nQUIT\n")
    assert shell.returncode == 0, shell.stdout
    assert "** TLS established" in shell.stdout and "<- 221 2.0.0" in shell.stdout
