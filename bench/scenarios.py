"""scenarios: what issues 6 and 13 ask to measure, as data (sizes chosen so a full run fits
~15 minutes for (a)-(g) and ~6 more for (h) and (i)).

A throughput scenario is driven by smtp-source (or, for STARTTLS, which smtp-source cannot do, by
bench/smtp_load.py) with the same arguments against each server. Message counts are totals over
all sessions; `quick_messages` is for `--quick` smoke runs.
"""

import os
from dataclasses import dataclass

DOMAIN = "example.test"
SENDER = "bench@client.test"
RECIPIENT_LOCAL = "user"
MAX_RECIPIENTS = 50
# (h) and (i): mail for other domains, found by MX (mailroom) or transport_maps (Postfix).
REMOTE_DOMAIN = "remote.test"  # its MX is smtp-sink on 127.0.0.2
DOWN_DOMAIN = "down.test"  # its MX is 127.0.0.3, where nothing listens until the backlog drains
REMOTE_MX_ADDRESS = "127.0.0.2"
DOWN_MX_ADDRESS = "127.0.0.3"


def recipient_local_parts(count):
    """The mailboxes smtp-source -r COUNT -t user@... writes to: "COUNTuser", ..., "2user", "user".

    (Without -N, smtp-source prefixes recipients 2..N of each message with their number.)
    """
    return [f"{i}{RECIPIENT_LOCAL}" for i in range(count, 1, -1)] + [RECIPIENT_LOCAL]


@dataclass(frozen=True)
class Throughput:
    key: str
    group: str
    title: str
    sessions: int
    messages: int
    quick_messages: int
    size_bytes: int = 4096
    recipients: int = 1
    reuse: bool = False  # smtp-source -d: several messages per connection
    starttls: bool = False

    def message_count(self, quick):
        return self.quick_messages if quick else self.messages

    def driver(self):
        return "smtp_load.py (STARTTLS)" if self.starttls else "smtp-source"

    def shape(self):
        sessions = f"{self.sessions} session" + ("s" if self.sessions != 1 else "")
        parts = [sessions, _size_text(self.size_bytes)]
        if self.recipients > 1:
            parts.append(f"{self.recipients} recipients/message")
        parts.append("reused connections" if self.reuse else "new connection per message")
        if self.starttls:
            parts.append("STARTTLS")
        return ", ".join(parts)


@dataclass(frozen=True)
class IdleConnections:
    key: str
    group: str
    title: str
    connections: int
    quick_connections: int
    open_deadline_s: float = 40.0  # bounded: a server that stops accepting must not hang the run
    banner_probes: int = 10
    banner_timeout_s: float = 3.0


@dataclass(frozen=True)
class Relay:
    """(h): clients submit mail for REMOTE_DOMAIN; timed until the queue is empty again."""
    key: str
    group: str
    title: str
    sessions: int
    messages: int
    quick_messages: int
    size_bytes: int = 4096
    recipients: int = 1
    reuse: bool = False
    starttls: bool = False

    def message_count(self, quick):
        return self.quick_messages if quick else self.messages

    def driver(self):
        return "smtp-source"

    def shape(self):
        return (f"{self.sessions} sessions, {_size_text(self.size_bytes)}, "
                f"{'reused connections' if self.reuse else 'new connection per message'}, "
                f"to {REMOTE_DOMAIN} (smtp-sink on {REMOTE_MX_ADDRESS})")


def backlog_default():
    """(i)'s message count: BACKLOG_MESSAGES from the environment, else 100,000."""
    return int(os.environ.get("BACKLOG_MESSAGES", "100000"))


@dataclass(frozen=True)
class Backlog:
    """(i): `messages` deferred to DOWN_DOMAIN, then kill -9 and restart, then the MX comes back
    and the queue is flushed. Injected over reused connections (the injection is not the
    measurement; Postfix took 2 minutes for 100,000 messages that way here)."""
    key: str
    group: str
    title: str
    sessions: int
    messages: int
    quick_messages: int
    size_bytes: int = 4096
    recipients: int = 1
    reuse: bool = True
    starttls: bool = False

    def message_count(self, quick):
        return self.quick_messages if quick else self.messages


def _size_text(n):
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


# A short run before measuring, so that no measured run pays for start-up (bench/ab_compare.py,
# protocol_log_overhead.py, profile_server.py).
WARMUP = Throughput("warmup", "warmup", "warm-up", 20, 300, 100)

SCENARIOS = [
    Throughput("a", "a", "(a) new connection per message", 20, 5000, 400),
    Throughput("b", "b", "(b) reused connections (-d)", 20, 6000, 500, reuse=True),
    Throughput("c", "c", "(c) 50 recipients per message", 20, 300, 30, recipients=50),
    Throughput("d", "d", "(d) 1 MB messages", 20, 200, 20, size_bytes=1024 * 1024),
    Throughput("e1", "e", "(e) scaling: 1 session", 1, 600, 60),
    Throughput("e10", "e", "(e) scaling: 10 sessions", 10, 3000, 300),
    Throughput("e50", "e", "(e) scaling: 50 sessions", 50, 3000, 300),
    Throughput("e200", "e", "(e) scaling: 200 sessions", 200, 3000, 400),
    Throughput("f", "f", "(f) STARTTLS on every session", 20, 2000, 200, starttls=True),
    IdleConnections("g", "g", "(g) 10,000 concurrent idle connections", 10000, 1000),
    Relay("h", "h", "(h) relay to a remote MX", 20, 5000, 500),
    Backlog("i", "i", "(i) backlog for a destination that is down", 20, backlog_default(), 2000),
]

# smtp-sink (stores nothing) at the shapes of (a) and (b): the protocol ceiling on this machine.
SINK_SCENARIOS = [
    Throughput("sink-a", "sink", "smtp-sink, new connection per message", 20, 10000, 1000),
    Throughput("sink-b", "sink", "smtp-sink, reused connections", 20, 20000, 2000, reuse=True),
]

ALL_GROUPS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "sink"]


def select(groups):
    """The scenarios of the named groups ("a".."i", "sink"), in the canonical order."""
    unknown = set(groups) - set(ALL_GROUPS)
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}; "
                         f"known: {','.join(ALL_GROUPS)}")
    servers = [s for s in SCENARIOS if s.group in groups]
    sink = [s for s in SINK_SCENARIOS if "sink" in groups]
    return servers, sink
