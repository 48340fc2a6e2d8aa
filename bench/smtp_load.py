"""smtp_load: an SMTP load generator that timestamps end-of-data -> final reply for every message.

Used in two ways, identically for both servers: as the latency probe that runs beside smtp-source
(one session, a pause between messages, until SIGTERM) and as the whole load for the STARTTLS
scenario, because smtp-source cannot do TLS. Speaks like smtp-source: one command at a time, no
pipelining; EHLO instead of HELO because STARTTLS needs it. Full TLS handshakes every time (no
session resumption), certificate not verified. One thread per session over blocking sockets:
measured here, that costs the client about a third of the CPU per message that asyncio streams
do, and client CPU is taken from the same two cores the server runs on. Prints one JSON object
on stdout when done. Connects to 127.0.0.1 only.
"""

import argparse
import json
import resource
import signal
import socket
import ssl
import sys
import threading
import time

LOOPBACK = "127.0.0.1"
SOCKET_TIMEOUT_S = 120  # a server that stops answering fails the run instead of hanging it

_stop = threading.Event()
signal.signal(signal.SIGTERM, lambda _sig, _frame: _stop.set())


class SmtpFailure(Exception):
    pass


def build_message(size_bytes, sender, recipients, subject):
    """Headers like smtp-source's, then `size_bytes` of 78-column body lines (no dot-stuffing)."""
    header = (f"From: <{sender}>\r\nTo: <{recipients[0]}>\r\nSubject: {subject}\r\n"
              f"Message-Id: <bench.{time.time_ns()}@client.test>\r\n\r\n").encode()
    line = b"x" * 76 + b"\r\n"
    body = line * (size_bytes // len(line))
    rest = size_bytes - len(body)
    if rest >= 3:
        body += b"y" * (rest - 2) + b"\r\n"
    return header + body + b".\r\n"


class Connection:
    def __init__(self, port, tls_context):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=SOCKET_TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")
        code, reply = self.read_reply()
        if code != 220:
            raise SmtpFailure(f"greeting {reply}")
        self.command("EHLO client.test", 2)
        if tls_context is not None:
            self.command("STARTTLS", 2)
            self.reader.close()
            self.sock = tls_context.wrap_socket(self.sock, server_hostname="mx.example.test")
            self.reader = self.sock.makefile("rb")
            self.command("EHLO client.test", 2)

    def read_reply(self):
        """(code, text) of one possibly multi-line reply."""
        lines = []
        while True:
            line = self.reader.readline()
            if not line:
                raise SmtpFailure("connection closed by server")
            lines.append(line.rstrip(b"\r\n").decode("latin-1"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), "\n".join(lines)

    def command(self, text, expect):
        self.sock.sendall(text.encode() + b"\r\n")
        code, reply = self.read_reply()
        if code // 100 != expect:
            raise SmtpFailure(f"{text.split()[0]} -> {reply}")

    def send_message(self, sender, recipients, message):
        """Sends one transaction; returns seconds from end-of-data to the 250."""
        self.command(f"MAIL FROM:<{sender}>", 2)
        for rcpt in recipients:
            self.command(f"RCPT TO:<{rcpt}>", 2)
        self.command("DATA", 3)
        self.sock.sendall(message)
        end_of_data = time.perf_counter()
        code, reply = self.read_reply()
        if code != 250:
            raise SmtpFailure(f"end of data -> {reply}")
        return time.perf_counter() - end_of_data

    def close(self, polite=True):
        try:
            if polite:
                self.command("QUIT", 2)
        except (OSError, SmtpFailure):
            pass
        self.reader.close()
        self.sock.close()


class Load:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.remaining = args.messages
        self.accepted = 0
        self.failed = 0
        self.errors = []
        self.latencies_ms = []
        local = args.recipient_local
        # smtp-source -r N writes to "Nlocal", ..., "2local", "local" (see bench/scenarios.py).
        self.recipients = [f"{i}{local}@{args.domain}" for i in range(args.recipients, 1, -1)]
        self.recipients.append(f"{local}@{args.domain}")
        self.message = build_message(args.size, args.sender, self.recipients, "bench")
        self.tls = None
        if args.starttls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self.tls.check_hostname = False
            self.tls.verify_mode = ssl.CERT_NONE

    def take(self):
        if _stop.is_set():
            return False
        if self.args.messages == 0:
            return True
        with self.lock:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
            return True

    def session(self):
        conn = None
        while self.take():
            try:
                if conn is None:
                    conn = Connection(self.args.port, self.tls)
                latency_s = conn.send_message(self.args.sender, self.recipients, self.message)
                with self.lock:
                    self.accepted += 1
                    self.latencies_ms.append(latency_s * 1000.0)
                if not self.args.reuse:
                    conn.close()
                    conn = None
            except (OSError, SmtpFailure) as e:  # ssl.SSLError is an OSError
                with self.lock:
                    self.failed += 1
                    if len(self.errors) < 5:
                        self.errors.append(f"{type(e).__name__}: {e}")
                if conn is not None:
                    conn.close(polite=False)
                conn = None
            if self.args.pause_ms:
                _stop.wait(self.args.pause_ms / 1000.0)
        if conn is not None:
            conn.close()


def run(args):
    load = Load(args)
    if args.announce_ready:
        print("ready", flush=True)
    started = time.perf_counter()
    threads = [threading.Thread(target=load.session, daemon=True) for _ in range(args.sessions)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)  # short joins keep the main thread free to run the SIGTERM handler
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"accepted": load.accepted, "failed": load.failed, "errors": load.errors,
            "elapsed_s": elapsed, "client_cpu_s": usage.ru_utime + usage.ru_stime,
            "recipients_per_message": len(load.recipients), "latencies_ms": load.latencies_ms}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sessions", type=int, default=1)
    p.add_argument("--messages", type=int, default=0, help="total; 0 = until SIGTERM")
    p.add_argument("--size", type=int, default=4096, help="body bytes, like smtp-source -l")
    p.add_argument("--recipients", type=int, default=1)
    p.add_argument("--recipient-local", default="user")
    p.add_argument("--domain", default="example.test")
    p.add_argument("--sender", default="bench@client.test")
    p.add_argument("--reuse", action="store_true", help="like smtp-source -d")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--pause-ms", type=float, default=0.0)
    p.add_argument("--announce-ready", action="store_true",
                   help='print "ready" once SIGTERM is handled, before the first connection')
    return p.parse_args(argv)


if __name__ == "__main__":
    result = run(parse_args(sys.argv[1:]))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
