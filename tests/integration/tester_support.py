"""Support for the tester's integration tests (`mailroom mx|probe|send|shell`):

  run_mailroom(*args)      runs the binary, returns CompletedProcess (text, timeout bound)
  ScriptedServer(...)      a misbehaving SMTP server on loopback: hangs, cuts replies, sends
                           overlong or non-UTF-8 lines, refuses with a chosen reply, fakes STARTTLS
  InspectingProxy(...)     a TCP proxy that rewrites the dialogue the way seed 004's Cisco PIX
                           "fixup smtp" does: banner masked with asterisks, EHLO answered
                           "500 5.5.1 Command unrecognized", extension lines shown as XXXXXXXA
  postfix_available()      whether a private Postfix can run here (postfix_support.PrivatePostfix)
  check_schema(doc, name)  validates a --json document against docs/json/<name>.schema.json
                           (the subset of JSON Schema those files use)

Everything listens on 127.0.0.x only.
"""
import json
import os
import shutil
import socket
import subprocess
import threading
import time

from conftest import BIN, ROOT, free_port

SCHEMA_DIR = ROOT / "docs" / "json"


def run_mailroom(*args, input=None, timeout=60, env=None):
    return subprocess.run([BIN, *args], input=input, capture_output=True, text=True,
                          timeout=timeout, env=env, errors="replace")


def sent_lines(output):
    """The "-> " lines of a transcript (what the client sent), without the prefix."""
    return [l[3:] for l in output.splitlines() if l.startswith("-> ")]


# --- JSON schema (the subset the docs/json files use) ------------------------------------------

def _check(value, schema, path, defs):
    if "$ref" in schema:
        schema = defs[schema["$ref"].split("/")[-1]]
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        ok = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "null": lambda v: v is None,
        }
        assert any(ok[t](value) for t in types), f"{path}: {value!r} is not {types}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{path}: missing {key!r}"
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            extra = set(value) - set(props)
            assert not extra, f"{path}: unexpected {sorted(extra)}"
        for key, sub in props.items():
            if key in value:
                _check(value[key], sub, f"{path}.{key}", defs)
        if isinstance(schema.get("additionalProperties"), dict):
            for key, v in value.items():
                if key not in props:
                    _check(v, schema["additionalProperties"], f"{path}.{key}", defs)
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            _check(v, schema["items"], f"{path}[{i}]", defs)
    if "minimum" in schema and isinstance(value, (int, float)):
        assert value >= schema["minimum"], f"{path}: {value} < {schema['minimum']}"


def check_schema(document, name):
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    _check(document, schema, "$", schema.get("$defs", {}))
    return document


# --- scripted misbehaving servers ---------------------------------------------------------------

class ScriptedServer:
    """An SMTP server that behaves as told. `script(conn, io)` runs per connection in a thread;
    the helpers below build common ones. Listens on host:port (port 0: a free one)."""

    def __init__(self, script, host="127.0.0.1", port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.script = script
        self.received = []  # lines the clients sent
        self.stopping = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        io = _LineIO(conn, self.received)
        try:
            self.script(conn, io)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class _LineIO:
    def __init__(self, conn, received):
        self.conn, self.buf, self.received = conn, b"", received

    def send(self, data):
        self.conn.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self, timeout=10):
        self.conn.settimeout(timeout)
        while b"\r\n" not in self.buf:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise OSError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        text = line.decode("utf-8", "replace")
        self.received.append(text)
        return text


def smtp_script(banner=b"220 scripted.test ESMTP\r\n", ehlo=None, replies=None, after=None):
    """A server that greets with `banner`, answers EHLO with `ehlo`, other verbs from `replies`
    ({"MAIL": b"250 ok\\r\\n", ...}, default 250), DATA content up to "." then 250. `after`:
    bytes sent (then close) once a verb listed in it arrives, e.g. {"EHLO": b"250-cut"}."""
    replies = replies or {}
    after = after or {}

    def script(conn, io):
        if banner is None:
            time.sleep(30)  # never greets
            return
        io.send(banner)
        while True:
            line = io.line(timeout=30)
            verb = line.split(" ")[0].upper()
            if verb in after:
                io.send(after[verb])
                return
            if verb in ("EHLO", "LHLO"):
                io.send(ehlo or b"250-scripted.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == "HELO":
                io.send(replies.get("HELO", b"250 scripted.test\r\n"))
            elif verb == "DATA":
                reply = replies.get("DATA", b"354 go ahead\r\n")
                io.send(reply)
                if reply.startswith(b"354"):
                    while io.line() != ".":
                        pass
                    io.send(replies.get(".", b"250 2.0.0 queued\r\n"))
            elif verb == "QUIT":
                io.send(b"221 2.0.0 bye\r\n")
                return
            else:
                io.send(replies.get(verb, b"250 2.0.0 ok\r\n"))
    return script


def starttls_then(action):
    """Offers STARTTLS, answers it 220, then `action` ("close" or "garbage"): a TLS failure."""
    def script(conn, io):
        io.send(b"220 scripted.test ESMTP\r\n")
        while True:
            verb = io.line().split(" ")[0].upper()
            if verb == "EHLO":
                io.send(b"250-scripted.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
            elif verb == "STARTTLS":
                io.send(b"220 2.0.0 Ready to start TLS\r\n")
                if action == "garbage":
                    conn.recv(4096)
                    io.send(b"this is not TLS\r\n" * 4)
                return
            else:
                io.send(b"250 ok\r\n")
    return script


# --- seed 004: an SMTP-inspecting firewall ------------------------------------------------------

class InspectingProxy:
    """Cisco PIX "fixup smtp" / ASA "inspect esmtp" in front of a real server: the 220 banner's
    text becomes asterisks, EHLO never reaches the server (the proxy answers 500 5.5.1), and any
    extension line the server sends (250-KEYWORD) reaches the client as 250-XXXXXXXA."""

    def __init__(self, upstream_port, host="127.0.0.1"):
        self.upstream_port = upstream_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(client,), daemon=True).start()

    @staticmethod
    def _rewrite(line, first):
        if first and line.startswith(b"220"):
            return line[:4] + b"*" * (len(line) - 4)
        if line.startswith(b"250-") and not first:
            return b"250-XXXXXXXA"
        return line

    def _session(self, client):
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        except OSError:
            client.close()
            return
        state = {"first": True}

        def downstream():
            buf = b""
            try:
                while True:
                    chunk = server.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                    while b"\r\n" in buf:
                        line, buf = buf.split(b"\r\n", 1)
                        client.sendall(self._rewrite(line, state["first"]) + b"\r\n")
                        if not line.startswith(b"220-"):
                            state["first"] = False
            except OSError:
                pass
            finally:
                client.close()

        threading.Thread(target=downstream, daemon=True).start()
        buf = b""
        try:
            while True:
                chunk = client.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    if line[:4].upper() == b"EHLO":
                        client.sendall(b"500 5.5.1 Command unrecognized\r\n")
                    else:
                        server.sendall(line + b"\r\n")
        except OSError:
            pass
        finally:
            server.close()

    def stop(self):
        self.stopping = True
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --- a private Postfix (postfix_support.PrivatePostfix) ------------------------------------

def postfix_available():
    return os.geteuid() == 0 and shutil.which("postfix") and shutil.which("postconf")


