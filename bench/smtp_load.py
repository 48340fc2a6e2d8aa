"""smtp_load: an SMTP load generator that timestamps end-of-data -> final reply for every message.

Used in two ways, identically for both servers: as the latency probe that runs beside smtp-source
(one session, a pause between messages, until SIGTERM) and as the whole load for the STARTTLS
scenario, because smtp-source cannot do TLS. Speaks like smtp-source: one command at a time, no
pipelining; EHLO instead of HELO because STARTTLS needs it. Full TLS handshakes every time (no
session resumption), certificate not verified. Prints one JSON object on stdout when done.
Connects to 127.0.0.1 only.
"""

import argparse
import asyncio
import json
import resource
import signal
import ssl
import sys
import time

LOOPBACK = "127.0.0.1"
# A SIGTERM that arrives before the event loop installs its handler must still stop cleanly.
_EARLY_STOP = []
signal.signal(signal.SIGTERM, lambda _sig, _frame: _EARLY_STOP.append(True))


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


async def read_reply(reader):
    """Returns (code, text) of one possibly multi-line reply."""
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise SmtpFailure("connection closed by server")
        lines.append(line.rstrip(b"\r\n").decode("latin-1"))
        if len(line) < 4 or line[3:4] != b"-":
            return int(lines[-1][:3]), "\n".join(lines)


async def command(reader, writer, text, expect):
    writer.write(text.encode() + b"\r\n")
    await writer.drain()
    code, reply = await read_reply(reader)
    if code // 100 != expect:
        raise SmtpFailure(f"{text.split()[0]} -> {reply}")
    return reply


class Load:
    def __init__(self, args):
        self.args = args
        self.remaining = args.messages
        self.stop = asyncio.Event()
        self.accepted = 0
        self.failed = 0
        self.errors = []
        self.latencies_ms = []
        rcpt_local = args.recipient_local
        # smtp-source -r N: "Nlocal", ..., "2local", "local" (see bench/scenarios.py).
        self.recipients = [f"{i}{rcpt_local}@{args.domain}" for i in range(args.recipients, 1, -1)]
        self.recipients.append(f"{rcpt_local}@{args.domain}")
        self.message = build_message(args.size, args.sender, self.recipients, "bench")
        self.tls = None
        if args.starttls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self.tls.check_hostname = False
            self.tls.verify_mode = ssl.CERT_NONE

    def take(self):
        if self.stop.is_set():
            return False
        if self.args.messages == 0:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True

    async def connect(self):
        reader, writer = await asyncio.open_connection(LOOPBACK, self.args.port)
        writer.transport.set_write_buffer_limits(high=0)  # drain() returns once all is sent
        code, reply = await read_reply(reader)
        if code != 220:
            raise SmtpFailure(f"greeting {reply}")
        await command(reader, writer, "EHLO client.test", 2)
        if self.tls:
            await command(reader, writer, "STARTTLS", 2)
            await writer.start_tls(self.tls, server_hostname="mx.example.test")
            writer.transport.set_write_buffer_limits(high=0)
            await command(reader, writer, "EHLO client.test", 2)
        return reader, writer

    async def transaction(self, reader, writer):
        await command(reader, writer, f"MAIL FROM:<{self.args.sender}>", 2)
        for rcpt in self.recipients:
            await command(reader, writer, f"RCPT TO:<{rcpt}>", 2)
        await command(reader, writer, "DATA", 3)
        writer.write(self.message)
        await writer.drain()
        end_of_data = time.perf_counter()
        code, reply = await read_reply(reader)
        if code != 250:
            raise SmtpFailure(f"end of data -> {reply}")
        self.latencies_ms.append((time.perf_counter() - end_of_data) * 1000.0)

    async def session(self):
        reader = writer = None
        while self.take():
            try:
                if writer is None:
                    reader, writer = await self.connect()
                await self.transaction(reader, writer)
                self.accepted += 1
                if not self.args.reuse:
                    await close(reader, writer)
                    writer = None
            except (OSError, SmtpFailure, ssl.SSLError, asyncio.IncompleteReadError) as e:
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(f"{type(e).__name__}: {e}")
                if writer is not None:
                    writer.close()
                writer = None
            if self.args.pause_ms:
                await asyncio.sleep(self.args.pause_ms / 1000.0)
        if writer is not None:
            await close(reader, writer)


async def close(reader, writer):
    try:
        await command(reader, writer, "QUIT", 2)
    except (OSError, SmtpFailure, ssl.SSLError):
        pass
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, ssl.SSLError):
        pass


async def main_async(args):
    load = Load(args)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, load.stop.set)
    if _EARLY_STOP:
        load.stop.set()
    if args.announce_ready:
        print("ready", flush=True)
    started = time.perf_counter()
    await asyncio.gather(*(load.session() for _ in range(args.sessions)))
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
    result = asyncio.run(main_async(parse_args(sys.argv[1:])))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
