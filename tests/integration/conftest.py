"""Integration-test harness: each test starts a real `mailroom serve` on free loopback ports with
its own temporary config and data dir, and talks to it over real TCP.

Fixtures:
  mailroom        -> a factory: mailroom(listeners=[...], server={...}, limits={...}) -> Server
  raw             -> a factory of RawSmtp line clients (the "telnet" of the seeds)
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
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

    # --- process control -------------------------------------------------------------------
    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        for name in self.listeners:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mailroom exited with {self.proc.returncode}:\n" + self.log_text())
                try:
                    socket.create_connection(("127.0.0.1", self.port(name)), timeout=0.5).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("mailroom did not start listening:\n" + self.log_text())
                    time.sleep(0.05)
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
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

    def cli(self, *args, input=None, check=True):
        r = subprocess.run([BIN, *args, "--config", str(self.config_path)], input=input,
                           capture_output=True, text=True, timeout=60)
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


@pytest.fixture
def mailroom(tmp_path):
    servers = []

    def make(listeners=None, **kw):
        s = Server(tmp_path / f"srv{len(servers)}", listeners or [dict(DEFAULT_LISTENER)], **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


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
