"""Shared helpers for the hostile-input suites (test_hostile_*.py), and the positive controls that
prove those helpers can see a message that did get through.

Every hostile test asserts two things: the precise reply, and that nothing was stored that should
not have been. "Stored" means any of:
  - a committed queue file in data_dir/queue/messages/<id> (src/spool/queue_file.hpp: message
    bytes, then an envelope record "MAILROOM-ENVELOPE 1 ... end", then a 83-byte footer
    "MAILROOM-QUEUE-V2 <body bytes:20> <envelope bytes:10> <XXH3-128 hex:32>\\n"),
  - a delivered message in a Maildir under data_dir/mailboxes/<domain>/<user>/{new,cur}/ (once
    local delivery moves messages out of the queue),
  - a leftover in data_dir/queue/incoming/ (a refused message must not leave its spool file).
The controls below send a well-behaved message and check these helpers find it with the right
envelope, so a "nothing stored" assertion elsewhere cannot pass merely because the helper is blind.
"""
import os
import pathlib
import re
import socket
import threading
import time

import pytest

from conftest import HOSTNAME, RawSmtp, Server, free_port

FOOTER_BYTES = 83  # spool/queue_file.hpp kFooterBytes
GREETING = re.compile(r"^220 mx\.example\.test .*ready at ")
USER = "kate@example.test"
PASSWORD = "correct horse battery staple"


# --- servers -------------------------------------------------------------------------------------

def loopback_dns():
    """A [dns] table pointing at a closed loopback port: nothing a test does may query the
    machine's resolver (machine-facts: it is unreachable, and tests stay on 127.0.0.0/8)."""
    return {"servers": [f"127.0.0.1:{free_port()}"], "timeout_ms": 200}


def listener(**kw):
    """An inbound-style listener: anonymous, no relay, local domain example.test."""
    l = {"name": "inbound", "tls": "none", "auth": "optional", "relay": "none"}
    l.update(kw)
    return l


def hostile_limits(**kw):
    """Small limits so that timeouts and caps are reached in a test's lifetime."""
    lim = {"idle_timeout_s": 5, "data_timeout_s": 5, "session_timeout_s": 60,
           "error_delay_ms": 0, "auth_failure_delay_ms": 0}
    lim.update(kw)
    return lim


def make_server(mailroom, listeners=None, users=(USER,), limits=None, server=None, extra=None):
    """Starts a mailroom with `users` created (password PASSWORD) before it starts."""
    ex = {"dns": loopback_dns()}
    ex.update(extra or {})
    srv = mailroom(listeners=listeners or [listener()], limits=hostile_limits(**(limits or {})),
                   server=server, extra=ex)
    for u in users:
        srv.add_user(u, PASSWORD)
    return srv.start()


def start_module_server(tmp_dir, listeners=None, users=(USER,), limits=None, server=None,
                        extra=None):
    """Like make_server, for a server shared by a whole module (the conftest fixture is
    per-test); the caller stops it."""
    ex = {"dns": loopback_dns()}
    ex.update(extra or {})
    srv = Server(tmp_dir, listeners or [listener()], server=server,
                 limits=hostile_limits(**(limits or {})), extra=ex)
    for u in users:
        srv.add_user(u, PASSWORD)
    return srv.start()


# --- clients -------------------------------------------------------------------------------------

def connect(srv, name=None, ehlo="client.example.org", source_ip=None, timeout=10):
    """A RawSmtp that has read the 220 greeting and, unless ehlo is None, said EHLO."""
    c = RawSmtp(srv.port(name), timeout=timeout) if source_ip is None else \
        raw_from(srv.port(name), source_ip, timeout)
    code, lines = c.reply()
    assert code == 220 and GREETING.match(lines[-1]), lines
    if ehlo:
        c.expect(f"EHLO {ehlo}", 250)
    return c


def raw_from(port, source_ip, timeout):
    """A RawSmtp whose socket is bound to another loopback address (127.0.0.0/8 is all ours)."""
    c = RawSmtp.__new__(RawSmtp)
    c.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                      source_address=(source_ip, 0))
    c.buf = b""
    return c


def send_message(c, rcpts, body, sender="sender@client.example.org"):
    """A well-behaved transaction; returns the final (code, lines)."""
    c.expect(f"MAIL FROM:<{sender}>", 250, "2.1.0 Sender OK")
    for r in rcpts:
        c.expect(f"RCPT TO:<{r}>", 250, "2.1.5 Recipient OK")
    c.expect("DATA", 354)
    if isinstance(body, str):
        body = body.encode()
    c.send(body + b"\r\n.\r\n")
    return c.reply()


def expect_queued(c, rcpts, body, sender="sender@client.example.org"):
    code, lines = send_message(c, rcpts, body, sender)
    assert code == 250 and re.match(r"^250 2\.6\.0 <[0-9a-z]{21}@mx\.example\.test> Queued mail",
                                    lines[-1]), lines
    return re.search(r"<([0-9a-z]{21})@", lines[-1]).group(1)


def no_reply_within(c, seconds):
    """True if the server sends nothing for `seconds` (it is waiting for more input)."""
    c.sock.settimeout(seconds)
    try:
        data = c.sock.recv(65536)
    except socket.timeout:
        return True
    finally:
        c.sock.settimeout(10)
    c.buf += data
    return False


def read_until_closed(c, timeout=15):
    """Reads everything until EOF; returns the bytes (any buffered ones included)."""
    deadline = time.time() + timeout
    data = c.buf
    c.buf = b""
    c.sock.settimeout(1)
    while time.time() < deadline:
        try:
            chunk = c.sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return data
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"server did not close the connection; got {data[-500:]!r}")


# --- what got stored -----------------------------------------------------------------------------

def parse_queue_file(path):
    """-> (envelope dict with 'rcpt' list, message bytes) of a committed queue file."""
    raw = pathlib.Path(path).read_bytes()
    footer = raw[-FOOTER_BYTES:]
    m = re.match(rb"^MAILROOM-QUEUE-V2 (\d{20}) (\d{10}) [0-9a-f]{32}\n$", footer)
    assert m, f"{path}: bad footer {footer!r}"
    body_len, env_len = int(m.group(1)), int(m.group(2))
    assert body_len + env_len + FOOTER_BYTES == len(raw), f"{path}: sizes do not add up"
    body = raw[:body_len]
    record = raw[body_len:body_len + env_len].decode()
    env = {"rcpt": []}
    lines = record.split("\n")
    assert lines[0] == "MAILROOM-ENVELOPE 1" and lines[-2] == "end", record
    for line in lines[1:-2]:
        # Percent-escaping keeps every field on one line with no raw control octet.
        assert re.fullmatch(r"[\x21-\x7e ]+", line), f"unescaped octet in envelope line {line!r}"
        parts = line.split(" ")
        if parts[0] == "rcpt":
            env["rcpt"].append(_unescape(parts[1]))
        else:
            env[parts[0]] = _unescape(parts[1])
    return env, body


def _unescape(v):
    if v == "%":
        return ""
    return re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), v)


class Stored:
    """One message that got through, whatever stage it is at.

    kind "queue": a committed queue file; envelope is its parsed envelope record.
    kind "maildir": delivered copies (one per mailbox) of a message whose queue file is gone;
    envelope is None and recipients are the mailboxes.
    body is the message as the server stored it on receipt: CRLF line ends, starting with our
    Received: header. For Maildir copies that means undoing what local delivery does (it writes
    LF line ends and prepends Return-Path: and Delivered-To:, src/delivery/maildir_agent.hpp).
    The server refuses every message holding a bare CR or LF, so LF -> CRLF restores the bytes
    exactly. raw is the file's bytes as they are."""

    def __init__(self, kind, path, envelope, body, raw=None, mailboxes=()):
        self.kind, self.path, self.envelope, self.body = kind, path, envelope, body
        self.raw = body if raw is None else raw
        self.mailboxes = list(mailboxes)

    @property
    def recipients(self):
        if self.envelope is not None:
            return self.envelope["rcpt"]
        return self.mailboxes

    def __repr__(self):
        return f"Stored({self.kind}, {self.path}, rcpt={self.recipients})"


# Our own trace field names the queue id; it is the first Received: field of every message.
_OUR_ID = re.compile(
    rb"^Received: from [^\r\n]*\r\n\tby [^ ]+ \(mailroom\) with \S+ id ([0-9a-z]+)", re.M)
_DELIVERY_HEADERS = re.compile(
    rb"\A(?:Return-Path: [^\r\n]*\r\n)?(?:Delivered-To: [^\r\n]*\r\n)?")


def _maildir_copy(path):
    raw = path.read_bytes()
    body = _DELIVERY_HEADERS.sub(b"", raw.replace(b"\n", b"\r\n"), count=1)
    m = _OUR_ID.search(body)
    parts = path.parts
    i = parts.index("mailboxes")
    mailbox = f"{parts[i + 2]}@{parts[i + 1]}"
    return (m.group(1).decode() if m else str(path)), raw, body, mailbox


def stored_messages(srv):
    """Every message that got through, keyed by queue id: committed queue files, and delivered
    Maildir copies grouped by the queue id in their Received: header. A message is listed once
    whether it is still queued, being delivered (queue file and Maildir copies both exist for a
    moment) or delivered, so counts do not depend on how fast local delivery is."""
    out = {}
    # Queue first: a message is committed before its 250, and delivery renames its copy into new/
    # before the queue file goes, so one missing from this scan is already in a Maildir below.
    # (Scanning the Maildirs first can miss a message delivered between the two scans.)
    qdir = srv.data_dir / "queue" / "messages"
    if qdir.is_dir():
        for p in sorted(qdir.iterdir()):
            try:
                env, body = parse_queue_file(p)
            except FileNotFoundError:
                continue  # delivered and removed while we looked
            out[p.name] = Stored("queue", str(p), env, body)
    mroot = srv.data_dir / "mailboxes"
    if mroot.is_dir():
        for p in sorted(mroot.rglob("*")):
            if not (p.parent.name in ("new", "cur") and p.is_file()):
                continue
            try:
                key, raw, body, mailbox = _maildir_copy(p)
            except FileNotFoundError:
                continue
            if key not in out:
                out[key] = Stored("maildir", str(p), None, body, raw, [mailbox])
            elif out[key].kind == "maildir":
                out[key].mailboxes.append(mailbox)
    return out


def incoming_leftovers(srv):
    d = srv.data_dir / "queue" / "incoming"
    return sorted(d.iterdir()) if d.is_dir() else []


def new_messages(srv, before):
    """Messages stored since the snapshot `before` (a stored_messages() result), once each."""
    return [m for key, m in stored_messages(srv).items() if key not in before]


def assert_nothing_new(srv, before, settle=0.3):
    """Nothing was stored since `before`, and no spool file is left behind."""
    deadline = time.time() + 5
    while incoming_leftovers(srv) and time.time() < deadline:
        time.sleep(0.05)  # a refused message's spool file goes when its session lets it go
    time.sleep(settle)
    fresh = new_messages(srv, before)
    assert fresh == [], f"stored although refused: {fresh}"
    assert incoming_leftovers(srv) == [], f"spool leftovers: {incoming_leftovers(srv)}"


# --- the server process --------------------------------------------------------------------------

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class RssSampler:
    """Samples a process's resident set size in the background; .peak_kb after stop()."""

    def __init__(self, pid, interval=0.01):
        self.pid, self.interval, self.peak_kb = pid, interval, rss_kb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, rss_kb(self.pid))
            except (FileNotFoundError, ProcessLookupError):
                return
            time.sleep(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak_kb


def log_mark(srv):
    """The log's current length: pass it to log_since() to see only what happened after."""
    return len(srv.log_text())


def log_since(srv, mark):
    return srv.log_text()[mark:]


def log_lines_are_clean(srv):
    """Every log line starts with a timestamp: no client byte started a line of its own, and no
    raw control octet other than the newline itself is in the log."""
    text = srv.log_path.read_bytes()
    bad = [l for l in text.split(b"\n") if l and not re.match(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", l)]
    ctrl = re.findall(rb"[\x00-\x08\x0b-\x1f\x7f]", text)
    return bad, ctrl


# --- positive controls ---------------------------------------------------------------------------

def test_control_a_queued_message_is_seen_with_its_envelope(mailroom):
    srv = make_server(mailroom)
    before = stored_messages(srv)
    c = connect(srv)
    msg_id = expect_queued(c, [USER], "Subject: control\r\n\r\nwell-behaved\r\n")
    fresh = new_messages(srv, before)
    assert len(fresh) == 1, fresh
    assert fresh[0].recipients == [USER]
    assert b"well-behaved" in fresh[0].body
    if fresh[0].kind == "queue":
        assert fresh[0].envelope["id"] == msg_id
    with pytest.raises(AssertionError, match="stored although refused"):
        assert_nothing_new(srv, before, settle=0)
    c.expect("QUIT", 221)


def test_control_a_silent_server_is_detected(mailroom):
    srv = make_server(mailroom)
    c = connect(srv)
    c.send("NOOP")  # no CRLF: the server is waiting for the rest of the line
    assert no_reply_within(c, 0.5)
    c.send("\r\n")
    c.expect(None, 250, "2.0.0 OK")
