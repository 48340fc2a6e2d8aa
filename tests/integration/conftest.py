"""Integration-test harness: each test starts a real `mailroom serve` on free loopback ports with
its own temporary config and data dir, and talks to it over real TCP.

Fixtures:
  mailroom        -> a factory: mailroom(listeners=[...], server={...}, limits={...}) -> Server
  raw             -> a factory of RawSmtp line clients (the "telnet" of the seeds)

Every server must end well: Server.stop() (the fixtures' teardown) sends SIGTERM and fails the
test unless the process exits 0 within STOP_TIMEOUT_S, and a server that died on its own (a crash,
a sanitizer abort) fails it too; only Server.kill9() ends one on purpose. MAILROOM_BIN may be a
sanitized build (make test runs the hostile and queue suites against one): every mailroom process
a test starts, server or CLI, stops at its first sanitizer report; ASan/LSan write theirs to files
in the server's directory, UBSan to stderr (the server log, or the CLI's captured stderr).
Server.stop() fails the test on any report file or report in the log, even after an exit 0;
Server.cli() fails at once on a report in its stderr.
"""
import os
import pathlib
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("MAILROOM_BIN", str(ROOT / "build" / "release" / "mailroom"))
HOSTNAME = "mx.example.test"
# SIGTERM to exit: the server's shutdown grace (server.shutdown_grace_s, 30 s by default) plus a
# margin for a slow (sanitized, loaded) machine. Tests that want a shutdown to take long set a
# larger grace and give stop() their own bound.
STOP_TIMEOUT_S = 60
SANITIZER_REPORT_PREFIX = "sanitizer-report"
SANITIZER_IN_LOG = re.compile(r"(==\d+==ERROR: \w+Sanitizer.*|.*runtime error: .*|SUMMARY: \w+Sanitizer.*)")


def sanitizer_env(report_dir):
    """The environment for a mailroom process: sanitizer reports go to files in report_dir (the
    test scans them), and any report stops the process. Harmless for an unsanitized build."""
    env = dict(os.environ)
    log = os.path.join(str(report_dir), SANITIZER_REPORT_PREFIX)
    env["ASAN_OPTIONS"] = f"log_path={log}:halt_on_error=1:abort_on_error=1:detect_leaks=1"
    env["UBSAN_OPTIONS"] = f"log_path={log}:halt_on_error=1:abort_on_error=1:print_stacktrace=1"
    env["LSAN_OPTIONS"] = f"log_path={log}"
    return env


def sanitizer_reports(report_dir):
    """-> [(file name, text)] of the sanitizer reports written in report_dir."""
    out = []
    for p in sorted(pathlib.Path(report_dir).glob(SANITIZER_REPORT_PREFIX + "*")):
        out.append((p.name, p.read_text(errors="replace")))
    return out


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_toml(tables):
    out = []
    for name, table in tables.items():
        if isinstance(table, list):
            for t in table:
                out.append(f"[[{name}]]")
                out += [f"{k} = {toml_value(v)}" for k, v in t.items()]
                out.append("")
        else:
            out.append(f"[{name}]")
            out += [f"{k} = {toml_value(v)}" for k, v in table.items()]
            out.append("")
    return "\n".join(out)


class Server:
    def __init__(self, tmp, listeners, server=None, limits=None, extra=None):
        self.tmp = pathlib.Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.tmp / "data"
        self.config_path = self.tmp / "mailroom.toml"
        self.log_path = self.tmp / "server.log"
        self.listeners = {}
        ls = []
        for l in listeners:
            l = dict(l)
            l.setdefault("address", f"127.0.0.1:{free_port()}")
            self.listeners[l["name"]] = l
            ls.append(l)
        srv = {"hostname": HOSTNAME, "data_dir": str(self.data_dir),
               "local_domains": ["example.test"], "log_level": "debug"}
        srv.update(server or {})
        tables = {"server": srv, "listener": ls}
        lim = {"error_delay_ms": 0, "auth_failure_delay_ms": 0}
        lim.update(limits or {})
        tables["limits"] = lim
        # Never a DNS query off loopback (the machine's resolver is unreachable anyway): unless a
        # test brings its own DNS server, point the resolver at a closed loopback port, so remote
        # destinations fail at once with a temporary 4.4.3.
        tables["dns"] = {"servers": ["127.0.0.1:9"], "timeout_ms": 500}
        for k, v in (extra or {}).items():
            tables[k] = v
        self.config_path.write_text(render_toml(tables))
        self.proc = None
        self.ended = False  # stopped, or ended by kill9(): no exit status left to check

    # --- process control -------------------------------------------------------------------
    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=sanitizer_env(self.tmp))
        self.ended = False
        deadline = time.time() + 20
        for name in self.listeners:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mailroom exited with {self.proc.returncode}:\n" + self.log_text())
                try:
                    socket.create_connection((self.host(name), self.port(name)),
                                             timeout=0.5).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("mailroom did not start listening:\n" + self.log_text())
                    time.sleep(0.05)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        """Ends the server with `sig` and fails unless it exits 0 within `timeout` seconds, did
        not die before, and no sanitizer report was written. Returns the exit status."""
        problems = []
        if self.proc and not self.ended:
            if self.proc.poll() is not None:
                problems.append(f"mailroom had already exited with {self.proc.returncode} "
                                f"before it was asked to stop")
                self.ended = True
            else:
                self.proc.send_signal(sig)
        return self._finish(timeout, problems, f"signal {sig}")

    def wait_for_exit(self, timeout=STOP_TIMEOUT_S):
        """For a test that signalled the server itself: waits for the exit, with stop()'s checks
        (exit 0 within `timeout`, no sanitizer report). Returns the exit status."""
        return self._finish(timeout, [], "the test's signal")

    def _finish(self, timeout, problems, after):
        if self.proc and not self.ended:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append(f"mailroom did not exit within {timeout}s of {after} (killed)")
            else:
                if self.proc.returncode != 0:
                    problems.append(f"mailroom exited with {self.proc.returncode} after {after}")
            self.ended = True  # a later stop() has no process to check
        if self.proc and not self.log.closed:
            self.log.close()
        problems += self.sanitizer_problems()
        if problems:
            raise AssertionError("; ".join(problems) + "\n--- server log (end) ---\n" +
                                 self.log_text()[-4000:])
        return self.proc.returncode if self.proc else None

    def sanitizer_problems(self):
        found = [f"sanitizer report {name}:\n{text[:6000]}"
                 for name, text in sanitizer_reports(self.tmp)]
        # UBSan reports on stderr (the log) even with a log_path; so does a process started
        # without sanitizer_env().
        m = SANITIZER_IN_LOG.search(self.log_text())
        if m:
            found.append(f"sanitizer report in the server log: {m.group(0)}")
        return found

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.ended = True
        self.log.close()

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # --- helpers -----------------------------------------------------------------------------
    def port(self, name=None):
        name = name or next(iter(self.listeners))
        return int(self.listeners[name]["address"].rsplit(":", 1)[1])

    def host(self, name=None):
        """The loopback address a client uses to reach the listener: its own, or ::1 or
        127.0.0.1 for a wildcard."""
        name = name or next(iter(self.listeners))
        host = self.listeners[name]["address"].rsplit(":", 1)[0]
        if host.startswith("["):
            host = host[1:-1]
        return {"::": "::1", "*": "127.0.0.1", "0.0.0.0": "127.0.0.1"}.get(host, host)

    def cli(self, *args, input=None, check=True):
        r = subprocess.run([BIN, *args, "--config", str(self.config_path)], input=input,
                           capture_output=True, text=True, timeout=60,
                           env=sanitizer_env(self.tmp))
        # UBSan reports on stderr even with a log_path (only ASan's and LSan's go to files).
        m = SANITIZER_IN_LOG.search(r.stderr)
        if m:
            raise AssertionError(f"mailroom {' '.join(args)}: sanitizer report: {m.group(0)}\n"
                                 + r.stderr[-4000:])
        if check and r.returncode != 0:
            raise AssertionError(f"mailroom {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def add_user(self, address, password):
        return self.cli("user", "add", address, "--password-stdin", input=password + "\n")

    def maildir(self, address, folder="new"):
        user, domain = address.split("@")
        return self.data_dir / "mailboxes" / domain / user / folder

    def wait_for_mail(self, address, count=1, timeout=20):
        d = self.maildir(address)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if d.is_dir():
                files = sorted(d.iterdir())
                if len(files) >= count:
                    return files
            time.sleep(0.05)
        raise AssertionError(f"{address}: expected {count} message(s) in {d}\n" + self.log_text()[-3000:])


class RawSmtp:
    """A line-oriented client, like the seeds' telnet session, with TLS upgrade."""

    def __init__(self, port, host="127.0.0.1", timeout=10, implicit_tls=False):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if implicit_tls:
            self.sock = _client_tls().wrap_socket(self.sock, server_hostname=HOSTNAME)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _readline(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection; buffered: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """Reads one (possibly multi-line) reply -> (code, [lines])."""
        lines = []
        while True:
            line = self._readline()
            assert re.match(r"^\d{3}[ -]", line) or re.match(r"^\d{3}$", line), f"bad reply line {line!r}"
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return int(line[:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def expect(self, line, code, text=None):
        got_code, lines = self.cmd(line) if line is not None else self.reply()
        assert got_code == code, f"{line!r}: expected {code}, got {lines}"
        if text is not None:
            assert lines[-1] == f"{code} {text}", f"{line!r}: expected '{code} {text}', got {lines[-1]!r}"
        return lines

    def starttls(self):
        self.expect("STARTTLS", 220, "2.0.0 Ready to start TLS")
        self.sock = _client_tls().wrap_socket(self.sock, server_hostname=HOSTNAME)

    def closed(self, timeout=5):
        """True when the server has closed the connection (EOF)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _client_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


DEFAULT_LISTENER = {"name": "inbound", "tls": "starttls", "auth": "optional", "relay": "none"}


def pytest_configure(config):
    config.addinivalue_line("markers", "measures_rss: asserts on the server's resident memory; "
                            "deselected against the sanitized build (make test), whose shadow "
                            "memory and quarantine make RSS meaningless")
    config.addinivalue_line("markers", "must_run_in_ci: its setup may fail on a machine that "
                            "cannot run it (needs root, a tmpfs mount, PostgreSQL); there it "
                            "skips, but with CI=true a skip is a failure, so a green CI run means "
                            "it ran")


def in_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and item.get_closest_marker("must_run_in_ci"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where it must run: {reason}"


@pytest.fixture
def mailroom(tmp_path):
    servers = []

    def make(listeners=None, **kw):
        s = Server(tmp_path / f"srv{len(servers)}", listeners or [dict(DEFAULT_LISTENER)], **kw)
        servers.append(s)
        return s

    yield make
    failures = []
    for s in servers:
        try:
            s.stop()
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "\n\n".join(failures)


@pytest.fixture
def raw():
    conns = []

    def make(port, **kw):
        c = RawSmtp(port, **kw)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()
