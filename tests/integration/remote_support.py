"""Remote SMTP servers for delivery tests: Python's aiosmtpd (Debian's python3-aiosmtpd) on a
127.0.0.x address, recording every transaction, with scripted refusals where a test needs one.

    sink = RemoteServer("127.0.0.2", port, rcpt_replies={"nobody@dom.test": "550 5.1.1 No such user"})
    ...; sink.messages -> [Received(mail_from, rcpt_tos, data)]
"""
import random
import socket
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def free_port_on(*hosts):
    """A TCP port that nothing listens on at any of `hosts` (127.0.0.x addresses share ports with
    127.0.0.1 only in name: each address has its own listeners)."""
    for _ in range(200):
        port = random.randint(20000, 60000)
        ok = True
        for host in ("127.0.0.1",) + hosts:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((host, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise RuntimeError("no free port on " + ", ".join(hosts))


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list
    data: bytes
    mail_options: list = field(default_factory=list)
    rcpt_options: list = field(default_factory=list)
    peer: tuple = ()
    ehlo: str = ""


class _Handler:
    def __init__(self, owner):
        self.owner = owner

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.owner.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.owner.data_reply:
            return self.owner.data_reply
        with self.owner.lock:
            self.owner.messages.append(Received(
                envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                list(envelope.mail_options), list(envelope.rcpt_options), session.peer,
                session.host_name or ""))
        return "250 2.0.0 Ok: queued"


class RemoteServer:
    def __init__(self, host, port, rcpt_replies=None, data_reply=None, server_hostname=None,
                 tls_context=None, require_starttls=False):
        self.host, self.port = host, port
        self.rcpt_replies = {k.lower(): v for k, v in (rcpt_replies or {}).items()}
        self.data_reply = data_reply
        self.messages = []
        self.lock = threading.Lock()
        kwargs = {}
        if tls_context is not None:
            kwargs = {"tls_context": tls_context, "require_starttls": require_starttls}
        self.controller = Controller(_Handler(self), hostname=host, port=port,
                                     server_hostname=server_hostname or f"mx.{host}",
                                     decode_data=False, **kwargs)
        self.controller.start()

    def stop(self):
        self.controller.stop()

    def wait_for(self, count=1, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"{self.host}:{self.port}: expected {count} message(s), got "
                             f"{len(self.messages)}")
