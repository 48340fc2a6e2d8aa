"""idle_connections: scenario (g), many concurrent idle SMTP sessions held open against a server.

Opens up to N loopback connections (a bounded number of connects in flight, a bounded total
time, giving up early once nothing progresses for OPEN_STALL_S), reads each greeting and then
leaves the session idle. While they are open it reads the server's memory (VmRSS and Pss of
its process tree) and times how long a new session waits for its 220 greeting. A server that
stops accepting (Postfix serves one session per smtpd process, at most default_process_limit =
100) is reported as such: connections still pending at the deadline are left pending, and
probes that get no greeting in time count as timeouts. Every socket is closed before returning.
Needs RLIMIT_NOFILE above N (bench/run.py raises it). 127.0.0.1 only.
"""

import errno
import selectors
import socket
import statistics
import time

from common import LOOPBACK
from procstat import tree_memory

MAX_CONNECTS_IN_FLIGHT = 256
OPEN_STALL_S = 5.0  # no connection established or greeted for this long: the server is full


class _IdleSessions:
    def __init__(self, port):
        self.port = port
        self.selector = selectors.DefaultSelector()
        self.connecting = 0
        self.awaiting_greeting = 0
        self.greeted = []
        self.refused = 0
        self.closed_by_server = 0

    def open_one(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex((LOOPBACK, self.port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            self.refused += 1
            return
        self.connecting += 1
        self.selector.register(s, selectors.EVENT_WRITE, "connect")

    def poll(self, timeout_s):
        for key, _ in self.selector.select(timeout_s):
            s = key.fileobj
            if key.data == "connect":
                self.connecting -= 1
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    self.selector.unregister(s)
                    s.close()
                    self.refused += 1
                    continue
                self.awaiting_greeting += 1
                self.selector.modify(s, selectors.EVENT_READ, "greeting")
            else:
                self.selector.unregister(s)
                self.awaiting_greeting -= 1
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data.startswith(b"220"):
                    self.greeted.append(s)  # stays open and idle
                else:
                    s.close()
                    self.closed_by_server += 1

    def close_all(self):
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        self.selector.close()
        for s in self.greeted:
            s.close()


def _time_to_greeting(port, timeout_s):
    """Seconds from connect() to a 220 line on a fresh session, or None on timeout/refusal."""
    started = time.monotonic()
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout_s) as s:
            s.settimeout(max(timeout_s - (time.monotonic() - started), 0.001))
            data = s.recv(4096)
            if data.startswith(b"220"):
                elapsed = time.monotonic() - started
                s.sendall(b"QUIT\r\n")
                return elapsed
    except OSError:
        pass
    return None


def measure_idle(server, scenario, quick):
    target = scenario.quick_connections if quick else scenario.connections
    root = server.root_pid()
    memory_before = tree_memory(root)
    sessions = _IdleSessions(server.port)
    started = time.monotonic()
    deadline = started + scenario.open_deadline_s
    opened = 0
    progress, last_progress_at, stalled = -1, started, False
    try:
        while time.monotonic() < deadline:
            while opened < target and sessions.connecting < MAX_CONNECTS_IN_FLIGHT:
                sessions.open_one()
                opened += 1
            if opened >= target and sessions.connecting == 0 and sessions.awaiting_greeting == 0:
                break
            sessions.poll(0.05)
            now_progress = opened - sessions.connecting + len(sessions.greeted)
            if now_progress != progress:
                progress, last_progress_at = now_progress, time.monotonic()
            elif time.monotonic() - last_progress_at > OPEN_STALL_S:
                stalled = True
                break
        open_s = time.monotonic() - started
        time.sleep(1.0)  # let the server settle its per-session allocations
        memory_idle = tree_memory(root)
        greeting_s = []
        for _ in range(scenario.banner_probes):
            greeting_s.append(_time_to_greeting(server.port, scenario.banner_timeout_s))
            if greeting_s[-2:] == [None, None]:
                break  # the server is not greeting new sessions; more probes only cost time
            time.sleep(0.05)
    finally:
        sessions.close_all()
    answered = [t for t in greeting_s if t is not None]
    return {
        "target": target,
        "attempted": opened,
        "stalled": stalled,
        "greeted": len(sessions.greeted),
        "pending_at_deadline": sessions.connecting + sessions.awaiting_greeting,
        "refused_or_closed": sessions.refused + sessions.closed_by_server,
        "open_s": open_s,
        "rss_before_kib": memory_before.rss_kib,
        "rss_idle_kib": memory_idle.rss_kib,
        "pss_idle_kib": memory_idle.pss_kib,
        "processes": memory_idle.processes,
        "greeting_probes": len(greeting_s),
        "greeting_timeouts": len(greeting_s) - len(answered),
        "greeting_timeout_s": scenario.banner_timeout_s,
        "greeting_median_ms": statistics.median(answered) * 1000 if answered else None,
        "greeting_max_ms": max(answered) * 1000 if answered else None,
    }
