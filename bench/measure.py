"""measure: one timed run of one throughput scenario against one server, or against smtp-sink.

A run starts from empty Maildirs, drives the load, then waits until every accepted message is a
file in a Maildir `new/` folder (one per recipient): messages/s is messages over the time from the
first connection to the last delivery. Server CPU is the growth of the server's process-tree CPU
(bench/procstat.py) over the same interval. End-of-data -> 250 latency comes from
bench/smtp_load.py: for smtp-source scenarios a probe session sends one message at a time beside
the load (20 ms apart, so it adds little load of its own); for STARTTLS every message is timed.
A run that stops making progress fails with the server's log tail, never waits forever.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from common import LOOPBACK, BENCH_DIR, BenchError, count_files
from procstat import machine_cpu_seconds, tree_cpu_split
from scenarios import DOMAIN, RECIPIENT_LOCAL, SENDER

PROBE_PAUSE_MS = 20
STALL_LIMIT_S = 30  # no new delivery for this long = the server is stuck
LOAD_TIMEOUT_S = 300  # the slowest full scenario takes about 30 s against Postfix


@dataclass
class RunResult:
    messages: int  # accepted by the server (load + probe)
    deliveries: int  # Maildir files expected and found
    accept_s: float  # first connection -> load generator done
    deliver_s: float  # first connection -> last Maildir file
    server_cpu_s: float
    client_cpu_s: float
    other_cpu_s: float  # CPU of every other process meanwhile (someone else's build)
    softirq_cpu_s: float  # interrupt time, mostly this run's loopback TCP processing
    latencies_ms: list = field(default_factory=list)
    server_sys_cpu_s: float = 0.0  # the kernel's part of server_cpu_s (file system, TCP)
    load_1min: float = None  # the machine's 1-minute load average when the run started

    @property
    def messages_per_s(self):
        return self.messages / self.deliver_s

    @property
    def accepted_per_s(self):
        return self.messages / self.accept_s

    @property
    def cpu_ms_per_message(self):
        return self.server_cpu_s * 1000.0 / self.messages

    @property
    def user_cpu_ms_per_message(self):
        """The server's own code (user space) per message, without the kernel's share."""
        return (self.server_cpu_s - self.server_sys_cpu_s) * 1000.0 / self.messages


def smtp_source_argv(scenario, messages, port, domain=DOMAIN):
    argv = ["smtp-source", "-s", str(scenario.sessions), "-m", str(messages),
            "-l", str(scenario.size_bytes), "-f", SENDER, "-t", f"{RECIPIENT_LOCAL}@{domain}",
            "-M", "client.test", "-S", "bench"]
    if scenario.reuse:
        argv.append("-d")
    if scenario.recipients > 1:
        argv += ["-r", str(scenario.recipients)]
    return argv + [f"{LOOPBACK}:{port}"]


def smtp_load_argv(scenario, port, sessions, messages, pause_ms=0.0, announce_ready=False):
    argv = [sys.executable, os.path.join(BENCH_DIR, "smtp_load.py"), "--port", str(port),
            "--sessions", str(sessions), "--messages", str(messages),
            "--size", str(scenario.size_bytes), "--recipients", str(scenario.recipients),
            "--recipient-local", RECIPIENT_LOCAL, "--domain", DOMAIN, "--sender", SENDER,
            "--pause-ms", str(pause_ms)]
    if scenario.reuse:
        argv.append("--reuse")
    if scenario.starttls:
        argv.append("--starttls")
    if announce_ready:
        argv.append("--announce-ready")
    return argv


def _children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _CpuLedger:
    """CPU of the server tree, of the load generators, and of everything else on the machine."""

    def __init__(self, server_root):
        self.root = server_root
        self.server, self.server_sys = tree_cpu_split(server_root)
        self.clients = _children_cpu_s()
        self.own = _self_cpu_s()
        self.tasks, self.interrupts = machine_cpu_seconds()

    def spent(self):
        """Seconds since construction: {server (and its kernel part), clients, other, softirq}."""
        server, server_sys = tree_cpu_split(self.root)
        server, server_sys = server - self.server, server_sys - self.server_sys
        clients = _children_cpu_s() - self.clients
        own = _self_cpu_s() - self.own
        tasks, interrupts = machine_cpu_seconds()
        other = tasks - self.tasks - server - clients - own
        return {"server_cpu_s": server, "server_sys_cpu_s": server_sys, "client_cpu_s": clients, "other_cpu_s": max(other, 0.0),
                "softirq_cpu_s": interrupts - self.interrupts}


def _self_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _finish_load(proc, what, timeout_s=LOAD_TIMEOUT_S):
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchError(f"{what} did not finish within {timeout_s} s")
    if proc.returncode != 0:
        raise BenchError(f"{what} failed (exit {proc.returncode}): {(err or out).strip()[-1500:]}")
    return out


def _parse_load_output(out, what):
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError) as e:
        raise BenchError(f"{what} printed no result: {out[-500:]!r}") from e
    if result["failed"]:
        raise BenchError(f"{what}: {result['failed']} message(s) failed: {result['errors']}")
    return result


def _wait_for_deliveries(server, expected, started):
    dirs = server.maildir_new_dirs()
    seen, last_change = -1, time.monotonic()
    while True:
        found = count_files(dirs)
        now = time.monotonic()
        if found >= expected:
            return found, now - started
        if found != seen:
            seen, last_change = found, now
        elif now - last_change > STALL_LIMIT_S:
            raise BenchError(f"{server.name}: only {found} of {expected} Maildir files after "
                             f"{STALL_LIMIT_S} s without progress\n{server.deferred_reason()}")
        time.sleep(0.005 if expected - found < 50 else 0.02)


def run_throughput(server, scenario, quick):
    """One run of `scenario` against `server` (a PostfixInstance or MailroomInstance)."""
    messages = scenario.message_count(quick)
    server.clear_mailboxes()
    if scenario.starttls:
        cpu, started = _CpuLedger(server.root_pid()), time.monotonic()
        load = subprocess.Popen(smtp_load_argv(scenario, server.port, scenario.sessions, messages),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        result = _parse_load_output(_finish_load(load, "smtp_load.py"), "smtp_load.py")
        accept_s = time.monotonic() - started
        total, latencies = result["accepted"], result["latencies_ms"]
    else:
        probe = subprocess.Popen(
            smtp_load_argv(scenario, server.port, 1, 0, PROBE_PAUSE_MS, announce_ready=True),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if probe.stdout.readline().strip() != "ready":
            _finish_load(probe, "latency probe")
            raise BenchError("latency probe did not start")
        cpu, started = _CpuLedger(server.root_pid()), time.monotonic()
        source = subprocess.Popen(smtp_source_argv(scenario, messages, server.port),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        source_error = None
        try:
            _finish_load(source, "smtp-source")
        except BenchError as e:
            source_error = e  # stop and reap the probe first
        accept_s = time.monotonic() - started
        probe.send_signal(signal.SIGTERM)
        probe_output = _finish_load(probe, "latency probe")
        if source_error is not None:
            raise source_error
        probe_result = _parse_load_output(probe_output, "latency probe")
        total = messages + probe_result["accepted"]
        latencies = probe_result["latencies_ms"]
    deliveries, deliver_s = _wait_for_deliveries(server, total * scenario.recipients, started)
    return RunResult(messages=total, deliveries=deliveries, accept_s=accept_s, deliver_s=deliver_s,
                     latencies_ms=latencies, **cpu.spent())


def run_sink(sink, scenario, quick):
    """smtp-source against smtp-sink: accepted messages/s (nothing is stored or delivered)."""
    messages = scenario.message_count(quick)
    cpu, started = _CpuLedger(sink.root_pid()), time.monotonic()
    source = subprocess.Popen(smtp_source_argv(scenario, messages, sink.port),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _finish_load(source, "smtp-source against smtp-sink")
    elapsed = time.monotonic() - started
    return RunResult(messages=messages, deliveries=0, accept_s=elapsed, deliver_s=elapsed,
                     **cpu.spent())
