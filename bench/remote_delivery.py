"""remote_delivery: scenarios (h) relay and (i) backlog of issue 13, mail for other domains.

The remote side is smtp-sink (stores nothing) on 127.0.0.2 (REMOTE_DOMAIN's MX) and, once the
backlog of (i) is to drain, on 127.0.0.3 (DOWN_DOMAIN's MX, refusing connections until then),
both on one port. mailroom finds them by MX lookup at the benchmark's dnsmasq; Postfix by
transport_maps (it cannot use a resolver on a high port), so Postfix skips the DNS lookups.

(h): smtp-source submits to the server; msg/s = messages ÷ time from the first connection until
the server's queue holds no file (everything handed to the sink), checked against smtp-sink's
own count of messages received.

(i): N messages for DOWN_DOMAIN, injected over reused connections, until every one is deferred;
then the server's memory; then kill -9 and a restart timed until a new client is greeted and
until one more message is accepted (for mailroom also when its log says the queue was
recovered); then smtp-sink starts on the down MX, the queue is flushed (`mailroom queue flush`,
`postqueue -f`) and the drain is timed until the queue holds no file. Stops only what it started.
"""

import os
import smtplib
import socket
import subprocess
import time

from common import LOOPBACK, BenchError, tail
from measure import RunResult, _CpuLedger, _finish_load, smtp_source_argv
from procstat import tree_memory
from scenarios import DOWN_DOMAIN, DOWN_MX_ADDRESS, RECIPIENT_LOCAL, REMOTE_DOMAIN, SENDER
from sink_instance import SinkInstance

STALL_LIMIT_S = 60  # no queue file leaving for this long: the server is stuck
GREETING_LIMIT_S = 120
POLL_S = 0.02


def _wait_queue_empty(server, started, stall_limit_s=STALL_LIMIT_S):
    """Seconds from `started` until server.queue_files() is 0; BenchError after a stall."""
    seen, last_change = -1, time.monotonic()
    while True:
        left = server.queue_files()
        now = time.monotonic()
        if left == 0:
            return now - started
        if left != seen:
            seen, last_change = left, now
        elif now - last_change > stall_limit_s:
            raise BenchError(f"{server.name}: {left} message(s) still queued after "
                             f"{stall_limit_s} s without progress\n{server.deferred_reason()}")
        time.sleep(POLL_S if left < 200 else 0.2 if left < 20000 else 1.0)


def run_relay(server, scenario, quick, sink):
    """(h) once against `server`; the sink must be counting (SinkInstance(count_file=...))."""
    messages = scenario.message_count(quick)
    received_before = sink.messages_received()
    if server.queue_files():
        raise BenchError(f"{server.name}: the queue is not empty before the run")
    cpu, started = _CpuLedger(server.root_pid()), time.monotonic()
    source = subprocess.Popen(smtp_source_argv(scenario, messages, server.port,
                                               domain=REMOTE_DOMAIN),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _finish_load(source, "smtp-source")
    accept_s = time.monotonic() - started
    deliver_s = _wait_queue_empty(server, started)
    spent = cpu.spent()
    # smtp-sink counts when it has answered the end of data; the server may see that reply (and
    # drop its queue file) a moment before the sink's counter line is written.
    deadline = time.monotonic() + 5
    while sink.messages_received() - received_before < messages and time.monotonic() < deadline:
        time.sleep(0.05)
    received = sink.messages_received() - received_before
    if received < messages:
        raise BenchError(f"{server.name}: queue empty but smtp-sink received {received} of "
                         f"{messages} messages\n{server.deferred_reason()}")
    return RunResult(messages=messages, deliveries=received, accept_s=accept_s,
                     deliver_s=deliver_s, **spent)


def _wait_all_deferred(server, expected, timeout_s):
    """Waits until `expected` messages are deferred and none is being attempted; seconds."""
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        deferred, busy = server.deferred_and_busy()
        if deferred >= expected and busy == 0:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise BenchError(f"{server.name}: {deferred} of {expected} messages deferred, {busy} "
                             f"not yet attempted after {timeout_s} s\n{server.deferred_reason()}")
        time.sleep(1.0)


def _time_to_greeting(port, started, limit_s):
    """Monotonic time of the first 220 a new client gets (connecting every few ms meanwhile)."""
    deadline = started + limit_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as s:
                s.settimeout(max(deadline - time.monotonic(), 0.01))
                data = s.recv(512)
                if data.startswith(b"220"):
                    at = time.monotonic()
                    s.sendall(b"QUIT\r\n")
                    return at
        except OSError:
            pass
        time.sleep(0.005)
    raise BenchError(f"no 220 greeting within {limit_s} s of the restart")


def _send_one(port, size_bytes):
    """One message for DOWN_DOMAIN on a new session; the monotonic time of its 250."""
    body = (f"From: <{SENDER}>\r\nTo: <{RECIPIENT_LOCAL}@{DOWN_DOMAIN}>\r\n"
            "Subject: sent during recovery\r\n\r\n").encode() + \
        (b"x" * 76 + b"\r\n") * (size_bytes // 78)
    try:
        with smtplib.SMTP(LOOPBACK, port, timeout=GREETING_LIMIT_S) as smtp:
            smtp.sendmail(SENDER, [f"{RECIPIENT_LOCAL}@{DOWN_DOMAIN}"], body)
            return time.monotonic()
    except (smtplib.SMTPException, OSError) as e:
        raise BenchError(f"the message sent after the restart was not accepted: {e}") from e


def run_backlog(server, scenario, quick, remote_port, work_dir):
    """(i) once against `server` (a relay instance whose DOWN_DOMAIN MX is not listening)."""
    messages = scenario.message_count(quick)
    result = {"messages": messages}
    if server.queue_files():
        raise BenchError(f"{server.name}: the queue is not empty before the run")
    # 1. The backlog: every message deferred because the MX refuses connections.
    started = time.monotonic()
    source = subprocess.Popen(smtp_source_argv(scenario, messages, server.port,
                                               domain=DOWN_DOMAIN),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _finish_load(source, "smtp-source (backlog injection)", timeout_s=120 + messages // 50)
    result["inject_s"] = time.monotonic() - started
    result["settle_s"] = _wait_all_deferred(server, messages, 120 + messages // 200)
    memory = tree_memory(server.root_pid())
    result.update(rss_queued_kib=memory.rss_kib, pss_queued_kib=memory.pss_kib,
                  processes_queued=memory.processes)
    # 2. kill -9 and restart: when is a new client greeted, when is a message accepted?
    result["load_1min_restart"] = os.getloadavg()[0]
    server.kill_hard()
    restart_wall, restart_at = time.time(), time.monotonic()
    server.restart()
    greeted_at = _time_to_greeting(server.port, restart_at, GREETING_LIMIT_S)
    accepted_at = _send_one(server.port, scenario.size_bytes)
    accepted_wall = time.time() - (time.monotonic() - accepted_at)
    result["greeting_s"] = greeted_at - restart_at
    result["accept_s"] = accepted_at - restart_at
    recovery = None
    deadline = time.monotonic() + GREETING_LIMIT_S
    while server.recovers_queue and recovery is None and time.monotonic() < deadline:
        recovery = server.recovery_done()
        time.sleep(0.05)
    if recovery is not None:
        recovered_wall, recovered = recovery
        result["recovery_s"] = recovered_wall - restart_wall
        result["recovered"] = recovered
        # The log has millisecond stamps: "while recovery runs" needs the 250 before that line.
        result["accepted_during_recovery"] = accepted_wall < recovered_wall
    _wait_all_deferred(server, messages + 1, 120 + messages // 200)
    memory = tree_memory(server.root_pid())
    result.update(rss_restarted_kib=memory.rss_kib, pss_restarted_kib=memory.pss_kib)
    # 3. The MX comes back; flush; the backlog drains.
    sink = SinkInstance(remote_port, address=DOWN_MX_ADDRESS,
                        count_file=os.path.join(work_dir, f"sink-{server.name}-i.out"))
    sink.start()
    result["load_1min_drain"] = os.getloadavg()[0]
    try:
        cpu, started = _CpuLedger(server.root_pid()), time.monotonic()
        server.flush()
        result["flush_command_s"] = time.monotonic() - started
        result["drain_s"] = _wait_queue_empty(server, started)
        spent = cpu.spent()
        result["drain_server_cpu_s"] = spent["server_cpu_s"]
        result["drain_server_cpu_ms_per_message"] = spent["server_cpu_s"] * 1000 / (messages + 1)
        result["drain_other_cpu_s"] = spent["other_cpu_s"]
        deadline = time.monotonic() + 5
        while sink.messages_received() < messages + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        result["received"] = sink.messages_received()
    finally:
        sink.stop()
    if result["received"] < messages + 1:
        raise BenchError(f"{server.name}: queue empty but smtp-sink received {result['received']} "
                         f"of {messages + 1} messages\n{tail(server.log_file)}")
    result["drain_per_s"] = (messages + 1) / result["drain_s"]
    return result
