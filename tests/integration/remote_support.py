"""Remote SMTP servers for delivery tests: Python's aiosmtpd (Debian's python3-aiosmtpd) on a
127.0.0.x address, recording every transaction, with scripted refusals where a test needs one.

    sink = RemoteServer("127.0.0.2", port, rcpt_replies={"nobody@dom.test": "550 5.1.1 No such user"})
    ...; sink.messages -> [Received(mail_from, rcpt_tos, data)]
"""
import email
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


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


# --- a mailroom that delivers remotely, and what it sends back --------------------------------

RELAY = {"name": "inbound", "tls": "none", "auth": "none", "relay": "ranges",
         "relay_ranges": ["127.0.0.0/8"]}
SENDER = "chris@example.test"
# Timeouts small enough that a silent peer costs seconds, not minutes.
SHORT_TIMEOUTS = {k: 2 for k in ("connect_timeout_s", "helo_timeout_s", "mail_timeout_s",
                                 "rcpt_timeout_s", "data_init_timeout_s", "data_xfer_timeout_s",
                                 "data_done_timeout_s", "quit_timeout_s")}


def start_relay(mailroom, dns_address, port, queue=None, server=None, dns_timeout_ms=1000,
                extra=None, users=(), **delivery):
    """A mailroom relaying for loopback clients, its DNS at `dns_address`, MX hosts on `port`,
    retrying deferred mail every second or two; SENDER has a mailbox for the DSNs."""
    d = {"remote_port": port, "destination_backoff_s": 0}
    d.update(delivery)
    q = {"min_backoff_s": 1, "max_backoff_s": 2}
    q.update(queue or {})
    tables = {"dns": {"servers": [dns_address], "timeout_ms": dns_timeout_ms},
              "delivery": d, "queue": q}
    tables.update(extra or {})  # e.g. {"delivery.tls_policy": {'"dom.test"': "verify"}}
    srv = mailroom([dict(RELAY)], server=server, extra=tables)
    for user in (SENDER, *users):  # before the start: a DSN must find its mailbox at once
        srv.add_user(user, "pw")
    srv.start()
    return srv


def body_of(data):
    """The message as the client gave it: everything after mailroom's own Received: header."""
    assert data.startswith(b"Received: from "), data[:200]
    return data[data.index(b"\r\nFrom: ") + 2:]


def dsns_for(srv, count=1, timeout=30, address=SENDER):
    files = srv.wait_for_mail(address, count=count, timeout=timeout)
    return [email.message_from_bytes(f.read_bytes()) for f in files]


def delivery_status(msg):
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            return part.as_string()
    raise AssertionError("no message/delivery-status part")


def queue_listing(srv):
    return srv.cli("queue", "list").stdout


def wait_queue_empty(srv, timeout=30):
    from queue_support import wait_until
    wait_until(lambda: "Mail queue is empty" in queue_listing(srv), timeout=timeout,
               what="the queue to empty")
