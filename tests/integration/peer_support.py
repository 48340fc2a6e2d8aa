"""Scripted remote peers for delivery tests: an SMTP server that misbehaves on cue, and a DNS
server that answers, fails (SERVFAIL) or stays silent per name. Raw sockets and threads, so a
test controls every octet and every moment (aiosmtpd cannot hang mid-reply or send garbage).

    peer = ScriptedSmtp("127.0.0.2", port, [{"rcpt": "421 4.3.2 going down"}])
    # connection 0 answers RCPT with 421; later connections behave (the default script)
    peer.delivered -> [Message] answered 250 at end of data; peer.bodies_read -> every body read
    dns = ScriptedDns({("dom.test", "MX"): [(10, "mx1.dom.test")], ("mx1.dom.test", "A"): ["127.0.0.2"]},
                      fail={"dom.test": "servfail"})   # or "silent"; dns.fail.clear() heals it

A stage's action: None (the normal reply), a reply string (sent as it is, CRLF appended when
missing; may hold several lines), HANG (read and discard until the client gives up), DROP (close
at once), or a callable(conn) that does anything and returns the reply to send (or None).
Stages: banner, ehlo, starttls, mail, rcpt, data, eod (the reply to the end of the body), quit.
"""
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

HANG = "<hang>"
DROP = "<drop>"


@dataclass
class Message:
    mail_from: str
    rcpts: list
    data: bytes
    connection: int
    tls: bool = False


@dataclass
class Conn:
    sock: socket.socket
    index: int
    buf: bytes = b""
    lines: list = field(default_factory=list)  # what the client sent, for assertions
    tls: bool = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.rstrip(b"\r")
        self.lines.append(line)
        return line

    def hang(self, stop):
        """Reads and discards until the client closes (or the server stops): a peer that went
        silent without closing."""
        self.sock.settimeout(0.2)
        while not stop.is_set():
            try:
                if not self.sock.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return


class ScriptedSmtp:
    def __init__(self, host, port, scripts=(), default=None, pipelining=True, starttls=None,
                 name=None, ehlo_extra=(), lmtp=False, eightbit=True):
        """scripts[i]: the stage actions of connection i; `default` those of later connections.
        starttls: an ssl.SSLContext to offer STARTTLS with (a handshake with it must work),
        "broken" to offer STARTTLS, say 220 and answer the ClientHello with an alert, or "hang"
        to say 220 and then never answer."""
        self.host, self.port = host, port
        self.scripts = list(scripts)
        self.default = default or {}
        self.pipelining = pipelining
        self.starttls = starttls
        self.name = name or f"peer.{host}"
        self.ehlo_extra = list(ehlo_extra)
        self.lmtp = lmtp  # one reply per recipient after the body; `delivered` holds one each
        self.eightbit = eightbit  # announce 8BITMIME
        self.delivered = []     # answered 250 at end of data
        self.bodies_read = []   # every complete body read, whatever the answer
        self.conns = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    # --- observation ------------------------------------------------------------------------
    @property
    def connections(self):
        with self.lock:
            return len(self.conns)

    def wait_for(self, count=1, timeout=30, what="delivered"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                got = list(getattr(self, what))
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{self.host}:{self.port}: expected {count} {what}, got {len(got)}; "
                             f"client lines: {self.client_lines()}")

    def wait_connections(self, count, timeout=30):
        deadline = time.time() + timeout
        while self.connections < count:
            if time.time() > deadline:
                raise AssertionError(f"{self.host}:{self.port}: expected {count} connections, "
                                     f"got {self.connections}")
            time.sleep(0.05)

    def client_lines(self):
        with self.lock:
            return [[l.decode("utf-8", "replace") for l in c.lines] for c in self.conns]

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=5)
        self.listener.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.sock.close()
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- the server -------------------------------------------------------------------------
    def _accept(self):
        while not self.stop_event.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                conn = Conn(sock, len(self.conns))
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _actions(self, index):
        return self.scripts[index] if index < len(self.scripts) else self.default

    def _serve(self, conn):
        conn.sock.settimeout(60)
        try:
            self._session(conn, self._actions(conn.index))
        except Exception:  # noqa: BLE001 - whatever the client did, the peer just hangs up
            pass
        finally:
            try:
                conn.sock.close()
            except OSError:
                pass

    def _act(self, conn, actions, stage, normal):
        """Answers one stage; False when the session must end here."""
        action = actions.get(stage)
        if action is None:
            action = normal
        if callable(action):
            action = action(conn)
            if action is None:
                return True
        if action == HANG:
            conn.hang(self.stop_event)
            return False
        if action == DROP:
            conn.sock.close()
            return False
        if isinstance(action, str):
            action = action.encode()
        if not action.endswith(b"\n"):
            action += b"\r\n"
        conn.send(action)
        return True

    def _ehlo_reply(self, conn):
        lines = [self.name]
        if self.pipelining:
            lines.append("PIPELINING")
        if self.eightbit:
            lines.append("8BITMIME")
        lines += ["SIZE 10240000", "ENHANCEDSTATUSCODES"]
        if self.starttls is not None and not conn.tls:
            lines.append("STARTTLS")
        lines += self.ehlo_extra
        return "\r\n".join(f"250-{l}" for l in lines[:-1]) + f"\r\n250 {lines[-1]}"

    def _session(self, conn, actions):
        if not self._act(conn, actions, "banner", f"220 {self.name} ESMTP scripted"):
            return
        mail_from, rcpts = None, []
        while True:
            line = conn.readline()
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO", b"LHLO"):
                mail_from, rcpts = None, []
                normal = f"250 {self.name}" if verb == b"HELO" else self._ehlo_reply(conn)
                if not self._act(conn, actions, "ehlo", normal):
                    return
            elif verb == b"STAR":
                if not self._act(conn, actions, "starttls", "220 2.0.0 Ready to start TLS"):
                    return
                action = actions.get("starttls")
                if not (action is None or (isinstance(action, str) and action.startswith("220"))):
                    continue
                if self.starttls == "hang":
                    # Says 220, then never answers the ClientHello.
                    conn.hang(self.stop_event)
                    return
                if self.starttls == "broken":
                    # Takes the ClientHello, answers with a handshake_failure alert, hangs up.
                    conn.sock.recv(65536)
                    conn.send(b"\x15\x03\x03\x00\x02\x02\x28")
                    conn.sock.close()
                    return
                conn.sock = self.starttls.wrap_socket(conn.sock, server_side=True)
                conn.tls, conn.buf = True, b""
            elif verb == b"MAIL":
                mail_from = line[10:].split(b">")[0].lstrip(b"<").decode()
                rcpts = []
                if not self._act(conn, actions, "mail", "250 2.1.0 Ok"):
                    return
            elif verb == b"RCPT":
                rcpt = line[8:].split(b">")[0].lstrip(b"<").decode()
                action = actions.get("rcpt:" + rcpt, actions.get("rcpt"))
                if not self._act(conn, {"rcpt": action}, "rcpt", "250 2.1.5 Ok"):
                    return
                if action is None or (isinstance(action, str) and action.startswith("2")):
                    rcpts.append(rcpt)
            elif verb == b"DATA":
                if not rcpts:
                    conn.send(b"554 5.5.1 Error: no valid recipients\r\n")
                    continue
                if not self._act(conn, actions, "data", "354 End data with <CR><LF>.<CR><LF>"):
                    return
                action = actions.get("data")
                if not (action is None or (isinstance(action, str) and action.startswith("354"))):
                    continue
                body = self._read_body(conn)
                msg = Message(mail_from, list(rcpts), body, conn.index, conn.tls)
                with self.lock:
                    self.bodies_read.append(msg)
                if self.lmtp:
                    if not self._lmtp_replies(conn, actions, msg):
                        return
                    mail_from, rcpts = None, []
                    continue
                action = actions.get("eod")
                if action is None or (isinstance(action, str) and action.startswith("250 ")):
                    with self.lock:
                        self.delivered.append(msg)
                if not self._act(conn, actions, "eod", "250 2.0.0 Ok: queued as SCRIPTED"):
                    return
                mail_from, rcpts = None, []
            elif verb == b"RSET":
                mail_from, rcpts = None, []
                conn.send(b"250 2.0.0 Ok\r\n")
            elif verb == b"NOOP":
                conn.send(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                self._act(conn, actions, "quit", "221 2.0.0 Bye")
                return
            else:
                conn.send(b"502 5.5.2 Error: command not recognized\r\n")

    def _lmtp_replies(self, conn, actions, msg):
        """LMTP (RFC 2033 4.2): one reply per accepted recipient after the body; "eod:<rcpt>"
        scripts one (a callable returns the reply, None for the normal one). A recipient
        answered 250 counts as delivered on its own."""
        for rcpt in msg.rcpts:
            action = actions.get("eod:" + rcpt)
            if callable(action):
                action = action(conn)
            if action is None or (isinstance(action, str) and action.startswith("250 ")):
                with self.lock:
                    self.delivered.append(Message(msg.mail_from, [rcpt], msg.data,
                                                  msg.connection, msg.tls))
            if not self._act(conn, {"eod": action}, "eod", f"250 2.0.0 <{rcpt}> Saved"):
                return False
        return True

    @staticmethod
    def _read_body(conn):
        out = []
        while True:
            line = conn.readline()
            if line == b".":
                return b"".join(out)
            if line.startswith(b"."):
                line = line[1:]
            out.append(line + b"\r\n")


# --- DNS ------------------------------------------------------------------------------------

_TYPES = {"A": 1, "CNAME": 5, "MX": 15, "AAAA": 28}
_TYPE_NAMES = {v: k for k, v in _TYPES.items()}


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def _decode_question(packet):
    pos, labels = 12, []
    while packet[pos]:
        n = packet[pos]
        labels.append(packet[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    qtype, qclass = struct.unpack("!HH", packet[pos + 1:pos + 5])
    return ".".join(labels).lower(), qtype, pos + 5


class ScriptedDns:
    """A UDP DNS server on 127.0.0.1:<free port> answering from `records`:
    {(name, "MX"): [(pref, exchange)], (name, "A"): ["127.0.0.2"], (name, "CNAME"): "target"}.
    A name it has no records of is NXDOMAIN; a known name without the asked type is NODATA.
    `fail[name]` = "servfail" or "silent" overrides (for every type); change it any time."""

    def __init__(self, records, fail=None):
        self.records = {(n.lower(), t): v for (n, t), v in records.items()}
        self.fail = dict(fail or {})
        self.queries = []  # (name, type name, what was done)
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def count(self, name, qtype=None, outcome=None):
        with self.lock:
            return sum(1 for n, t, o in self.queries
                       if n == name and (qtype is None or t == qtype)
                       and (outcome is None or o == outcome))

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=5)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _run(self):
        while not self.stop_event.is_set():
            try:
                packet, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self._answer(packet)
            except Exception:  # noqa: BLE001 - a query it cannot parse gets no answer
                continue
            if reply is not None:
                self.sock.sendto(reply, peer)

    def _rr(self, qtype, value):
        if qtype == 1:
            return socket.inet_aton(value)
        if qtype == 28:
            return socket.inet_pton(socket.AF_INET6, value)
        if qtype == 15:
            pref, exchange = value
            return struct.pack("!H", pref) + _encode_name(exchange)
        if qtype == 5:
            return _encode_name(value)
        raise ValueError(qtype)

    def _answer(self, packet):
        qid, flags = struct.unpack("!HH", packet[:4])
        name, qtype, end = _decode_question(packet)
        tname = _TYPE_NAMES.get(qtype, str(qtype))
        mode = self.fail.get(name)
        with self.lock:
            self.queries.append((name, tname, mode or "answered"))
        if mode == "silent":
            return None
        question = packet[12:end]
        rcode, answers = 0, []
        if mode == "servfail":
            rcode = 2
        else:
            known = any(n == name for n, _ in self.records)
            cname = self.records.get((name, "CNAME"))
            if cname and qtype != 5:
                answers.append((name, 5, cname))
                name = cname.lower()
            values = self.records.get((name, tname))
            if values is not None:
                for v in values:
                    answers.append((name, qtype, v))
            elif not known and not cname:
                rcode = 3
        out = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | 0x0080 | rcode, 1,
                          len(answers), 0, 0) + question
        for owner, t, v in answers:
            rdata = self._rr(t, v)
            out += _encode_name(owner) + struct.pack("!HHIH", t, 1, 1, len(rdata)) + rdata
        return out


def free_port_on(*hosts):
    """A TCP port that can be bound on every one of `hosts` (127.0.0.x addresses). Asking the
    kernel on 127.0.0.1 is not enough: other tests' outbound connections leave TIME-WAIT sockets
    on 127.0.0.2:port, which block a later listener there (Postfix's master failed to bind)."""
    hosts = hosts or ("127.0.0.1",)
    for _ in range(100):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        try:
            for h in hosts[1:]:
                with socket.socket() as t:
                    t.bind((h, port))
            return port
        except OSError:
            continue
    raise RuntimeError(f"no port free on all of {hosts}")


MX_HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6")


def mx_port():
    """The port every test MX host listens on (remote_port), free on all of them."""
    return free_port_on(*MX_HOSTS)
