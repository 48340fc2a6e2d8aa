"""`mailroom shell`: driven through a pseudo-terminal as a person would (libedit line editing and
history, :starttls, :auth login with the password asked without echo, :log, dot-stuffed DATA,
Ctrl-D), and through a pipe as a script; failures end with a FAIL line and the step's exit code."""
import base64
import os
import pty
import re
import select
import signal
import time

import pytest

from conftest import BIN, free_port
from tester_support import ScriptedServer, run_mailroom, smtp_script

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


class Terminal:
    """The shell on a pty: what a person at a terminal sees and types."""

    def __init__(self, *args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm"
            os.execv(BIN, [BIN, "shell", *args])
        self.seen = b""
        self.status = None

    def expect(self, pattern, timeout=15):
        regex = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.time() + timeout
        while True:
            m = regex.search(self.seen)
            if m:
                self.seen = self.seen[m.end():]
                return m
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; screen so far:\n"
                                     + self.seen.decode(errors="replace"))
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the shell ended before {pattern!r}:\n"
                                         + self.seen.decode(errors="replace"))
                self.transcript += chunk
                self.seen += chunk

    transcript = b""

    def type(self, text):
        os.write(self.fd, text.encode() if isinstance(text, str) else text)

    def line(self, text):
        self.type(text + "\r")

    def wait(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if ready:
                    chunk = os.read(self.fd, 65536)
                    self.transcript += chunk
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("the shell did not exit:\n" + self.transcript.decode(errors="replace"))


def test_interactive_session_with_starttls_auth_login_log_and_data(srv, tmp_path):
    log = tmp_path / "session.log"
    t = Terminal("127.0.0.1", str(srv.port("submission")), "--timeout", "10")
    t.expect(r"220 mx\.example\.test")
    t.expect(r"# 220: success: service ready")
    t.expect(r"smtp> ")
    t.line("EHLO client.test")
    t.expect(r"250 SMTPUTF8")
    t.expect(r"smtp> ")
    t.line("NOOP")
    t.expect(r"250 2\.0\.0 OK")
    t.expect(r"smtp> ")
    t.type("\x1b[A\r")  # history: up arrow brings NOOP back
    t.expect(r"NOOP")
    t.expect(r"250 2\.0\.0 OK")
    t.expect(r"smtp> ")
    t.line(":starttls")
    t.expect(r"-> STARTTLS")
    t.expect(r"220 2\.0\.0")
    t.expect(r"TLS established: TLSv1\.[23]")
    t.expect(r"say EHLO again")
    t.expect(r"smtp> ")
    t.line("EHLO client.test")
    t.expect(r"250-AUTH PLAIN LOGIN")
    t.expect(r"smtp> ")
    t.line(":auth login kate@example.test")
    t.expect(r"334 VXNlcm5hbWU6")
    t.expect(r'decoded: "Username:"')
    t.expect(r"334 UGFzc3dvcmQ6")
    t.expect(r'decoded: "Password:"')
    t.expect(r"Password for kate@example\.test: ")
    t.line("kate-secret")
    t.expect(r"-> \*\*\*\*")
    t.expect(r"235 2\.7\.0")
    t.expect(r"smtp> ")
    t.line(f":log {log}")
    t.expect(r"logging this session")
    t.expect(r"smtp> ")
    t.line("MAIL FROM:<kate@example.test>")
    t.expect(r"250 2\.1\.0")
    t.expect(r"smtp> ")
    t.line("RCPT TO:<kate@example.test>")
    t.expect(r"250 2\.1\.5")
    t.expect(r"smtp> ")
    t.line("DATA")
    t.expect(r"354 ")
    t.expect(r"data> ")
    for text in ("Subject: typed by hand", "", ".a line that starts with a dot", "body"):
        t.line(text)
        t.expect(r"data> ")
    t.line(".")
    t.expect(r"dot-stuffed")
    t.expect(r"250 2\.6\.0")
    t.expect(r"smtp> ")
    t.type("\x04")  # Ctrl-D
    t.expect(r"221 2\.0\.0")
    assert t.wait() == 0
    screen = t.transcript.decode(errors="replace")
    secret_b64 = base64.b64encode(b"kate-secret").decode()
    assert "kate-secret" not in screen and secret_b64 not in screen
    text = log.read_text()
    assert "-> AUTH LOGIN" in text and "-> ****" in text and "235 2.7.0" in text
    assert "-> MAIL FROM:<kate@example.test>" in text and "221 2.0.0" in text
    assert "kate-secret" not in text and secret_b64 not in text
    (path,) = srv.wait_for_mail("kate@example.test")
    body = path.read_text()
    assert "Subject: typed by hand" in body
    assert "\n.a line that starts with a dot\n" in body


def test_scripted_session_through_a_pipe(srv, tmp_path):
    log = tmp_path / "script.log"
    script = "\n".join([
        "EHLO client.test", "MAIL FROM:<chris@contoso.test>", "RCPT TO:<nobody@example.test>",
        "RCPT TO:<kate@example.test>", "DATA", "Subject: scripted", "", "..two dots", ".",
        f":log {log}", "QUIT"]) + "\n"
    r = run_mailroom("shell", "127.0.0.1", str(srv.port()), input=script)
    assert r.returncode == 0, r.stdout
    out = r.stdout
    assert "-> EHLO client.test" in out  # commands from a script are shown as sent
    assert "<- 550 5.1.1 User unknown" in out
    assert "# 550 5.1.1: permanent failure" in out and "bad destination mailbox address" in out
    assert "-> ...two dots" in out  # dot-stuffed on the wire
    assert "# 221 2.0.0: success: service closing transmission channel" in out
    assert "-> QUIT" in log.read_text()
    (path,) = srv.wait_for_mail("kate@example.test")
    assert "\n..two dots\n" in path.read_text()


def test_auth_plain_from_a_script_never_shows_the_password(srv):
    script = "\n".join(["EHLO client.test", ":starttls", "EHLO client.test",
                        ":auth plain kate@example.test", "kate-secret", "QUIT"]) + "\n"
    r = run_mailroom("shell", "127.0.0.1", str(srv.port("submission")), input=script)
    assert r.returncode == 0, r.stdout
    assert "-> AUTH PLAIN ****" in r.stdout
    assert "235 2.7.0" in r.stdout
    assert "kate-secret" not in r.stdout


def test_end_of_input_in_data_ends_the_message_then_quits(srv):
    r = run_mailroom("shell", "127.0.0.1", str(srv.port()),
                     input="EHLO c.test\nMAIL FROM:<a@b.test>\nRCPT TO:<kate@example.test>\n"
                           "DATA\nSubject: cut\n")
    assert r.returncode == 0, r.stdout
    assert "ending the message first" in r.stdout
    assert "-> QUIT" in r.stdout
    srv.wait_for_mail("kate@example.test")


def test_connect_refused_and_silent_server():
    r = run_mailroom("shell", "127.0.0.1", str(free_port()), input="")
    assert r.returncode == 4
    assert "FAIL connect:" in r.stdout and "Connection refused" in r.stdout
    with ScriptedServer(smtp_script(banner=None)) as s:
        r = run_mailroom("shell", "127.0.0.1", str(s.port), "--timeout", "1", input="",
                         timeout=20)
    assert r.returncode == 5
    assert "FAIL banner: no greeting within 1 s" in r.stdout


def test_server_hangs_up_after_a_command():
    script = smtp_script(after={"MAIL": b"421 4.7.0 Too many errors on this connection\r\n"})
    with ScriptedServer(script) as s:
        r = run_mailroom("shell", "127.0.0.1", str(s.port),
                         input="EHLO c.test\nMAIL FROM:<a@b.test>\nRCPT TO:<c@d.test>\n")
    assert r.returncode == 9, r.stdout
    assert "<- 421 4.7.0 Too many errors on this connection" in r.stdout
    assert "FAIL MAIL FROM: the server closed the connection" in r.stdout
    assert "RCPT" not in "\n".join(l for l in r.stdout.splitlines() if l.startswith("->"))


def test_slow_reply_is_reported_and_the_session_goes_on():
    def script(conn, io):
        io.send(b"220 slow.test ESMTP\r\n")
        io.line()
        time.sleep(2)
        io.send(b"250 slow.test\r\n")
        while True:
            verb = io.line().split(" ")[0].upper()
            io.send(b"221 bye\r\n" if verb == "QUIT" else b"250 ok\r\n")
            if verb == "QUIT":
                return
    with ScriptedServer(script) as s:
        r = run_mailroom("shell", "127.0.0.1", str(s.port), "--timeout", "1",
                         input="HELO c.test\nNOOP\nQUIT\n", timeout=20)
    assert r.returncode == 0, r.stdout
    assert "no reply within 1 s" in r.stdout
    # the late 250 is labelled as HELO's, never taken for the NOOP's answer
    assert "# (late reply to an earlier command) 250: success" in r.stdout
    assert r.stdout.count("<- 250 ok") == 1 and "<- 250 slow.test" in r.stdout


def test_non_utf8_reply_is_escaped():
    with ScriptedServer(smtp_script(banner=b"220 \xc3\x28 \x07bell\r\n")) as s:
        r = run_mailroom("shell", "127.0.0.1", str(s.port), input="QUIT\n")
    assert r.returncode == 0
    assert "<- 220 \\xC3( \\x07bell" in r.stdout


def test_shell_bad_arguments():
    for args in ([], ["127.0.0.1:99999"], ["127.0.0.1", "0"]):
        r = run_mailroom("shell", *args, input="")
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
