"""mailroom_instance: a mailroom server on 127.0.0.1:<port> configured like the private Postfix.

Owns bench/work/mailroom/ (config, data_dir with queue and Maildirs, log). Equivalent to
bench/postfix_instance.py: one listener on loopback, STARTTLS offered with the shared benchmark
certificate, no AUTH, no relay, the benchmark domain local with one mailbox per recipient the
load uses (created with `mailroom user add ... --password-stdin`). Connection limits are raised
so that loopback clients are not capped per client, as Postfix exempts $mynetworks from its
per-client limits, and so that scenario (g) may hold 10,000 idle sessions plus the probes.
For scenarios (h) and (i) (`relay`): the listener relays for loopback clients, MX lookups go
to the benchmark's dnsmasq, remote MX hosts are reached on the sink's port, and a metrics
endpoint on loopback tells the queue's depth by state. Never binds anything but 127.0.0.1;
stops (or kills, in (i)) only the process it started.
"""

import os
import re
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass

from common import (LOOPBACK, WORK_DIR, BenchError, count_files, discard_trash, empty_dirs,
                    reset_dir, run_checked, tail, wait_for_banner)

BENCH_PASSWORD = "bench-password-not-secret\n"
CONNECTION_LIMIT = 12000  # scenario (g): 10,000 idle sessions + probes
# "2026-11-30T13:10:01.234 info queue: recovered 100000 messages" (local time, server/server.cpp)
_RECOVERED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3}) \w+ "
                        r"queue: recovered (\d+) messages")


@dataclass(frozen=True)
class RelaySetup:
    dns_address: str  # "127.0.0.1:PORT" of bench/dns_instance.py
    remote_port: int  # where the MX hosts (smtp-sink on 127.0.0.2/.3) listen
    metrics_port: int


class MailroomInstance:
    name = "mailroom"
    recovers_queue = True  # reads its queue into memory at start (queue/runtime.cpp)

    def __init__(self, binary, port, domain, local_parts, cert_file, key_file,
                 work_name="mailroom", relay=None, protocol_log=False, log_dir=None,
                 tracking=True, legacy_config=False, work_dir=WORK_DIR):
        """work_name: its folder under bench/work/ (bench/profile.py uses its own); relay: a
        RelaySetup for scenarios (h) and (i); protocol_log: the listener writes the protocol log
        (bench/protocol_log_overhead.py); tracking: the message tracking log ([log] tracking);
        legacy_config: write no key a binary older than the logs (before commit 3b7fb4e) would
        refuse, so bench/ab_compare.py can run an old build against a new one; work_dir: where
        its folder and its delivered-mail trash go (bench/work/ unless on a file system of its
        own)."""
        self.protocol_log = protocol_log
        self.tracking = tracking
        self.legacy_config = legacy_config
        self.log_dir = log_dir  # [log] directory; None: data_dir/log
        self.binary = binary
        self.relay = relay
        self.port = port
        self.domain = domain
        self.local_parts = list(local_parts)
        self.cert_file, self.key_file = cert_file, key_file
        self.base = os.path.join(work_dir, work_name)
        self.data_dir = os.path.join(self.base, "data")
        self.config_file = os.path.join(self.base, "mailroom.toml")
        self.trash_dir = os.path.join(work_dir, "delivered-" + work_name)
        self.log_file = os.path.join(self.base, "mailroom.log")
        self.proc = None

    def _write_config(self):
        text = f"""\
# Written by bench/mailroom_instance.py; the equivalent of bench/work/postfix/conf/main.cf.
[server]
hostname = "mailroom.bench.test"
data_dir = "{self.data_dir}"
local_domains = ["{self.domain}"]

[[listener]]
name = "bench"
address = "{LOOPBACK}:{self.port}"
remote_ranges = ["127.0.0.0/8"]
tls = "starttls"
auth = "none"
{self._relay_listener()}max_message_size = 10240000          # Postfix's message_size_limit
max_recipients = 1000                # Postfix's smtpd_recipient_limit
max_connections = {CONNECTION_LIMIT}
max_connections_per_client = {CONNECTION_LIMIT}
{self._protocol_log_key()}
[limits]
max_connections = {CONNECTION_LIMIT}
{self._log_table()}
[tls]
cert_file = "{self.cert_file}"
key_file = "{self.key_file}"
{self._relay_tables()}"""
        with open(self.config_file, "w") as f:
            f.write(text)

    def _protocol_log_key(self):
        if self.legacy_config:
            return ""
        return f"protocol_log = {'true' if self.protocol_log else 'false'}\n"

    def _log_table(self):
        if self.legacy_config:
            return ""
        return (f"\n[log]\ndirectory = \"{self.log_dir or os.path.join(self.data_dir, 'log')}\"\n"
                f"tracking = {'true' if self.tracking else 'false'}\n")

    def _relay_listener(self):
        if self.relay is None:
            return 'relay = "none"\n'
        # Postfix relays for $mynetworks (127.0.0.0/8 there) the same way.
        return 'relay = "ranges"\nrelay_ranges = ["127.0.0.0/8"]\n'

    def _relay_tables(self):
        if self.relay is None:
            return ""
        return f"""
[dns]
servers = ["{self.relay.dns_address}"]

[delivery]
remote_port = {self.relay.remote_port}

[metrics]
address = "{LOOPBACK}:{self.relay.metrics_port}"
"""

    def _add_mailboxes(self):
        for lp in self.local_parts:
            address = f"{lp}@{self.domain}"
            try:
                run_checked([self.binary, "user", "add", "--config", self.config_file, address,
                             "--password-stdin"], f"`mailroom user add {address}`",
                            input_text=BENCH_PASSWORD)
            except BenchError as e:
                raise BenchError(f"mailroom's directory CLI cannot create the benchmark "
                                 f"mailboxes yet: {e}") from e

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise BenchError(f"mailroom binary not found at {self.binary} (run `make build`)")
        reset_dir(self.base)
        discard_trash(self.trash_dir)
        self._write_config()
        run_checked([self.binary, "check-config", self.config_file], "mailroom check-config")
        self._add_mailboxes()
        self._launch("w")
        wait_for_banner(self.port, 30, self._failure)

    def _launch(self, log_mode):
        log = open(self.log_file, log_mode)
        # A session of its own, as Postfix's master makes itself (setsid): with the kernel's
        # autogroup scheduling each session shares CPU as one group, and on a busy machine the
        # server must not share its group with the load generator when Postfix does not.
        self.proc = subprocess.Popen([self.binary, "serve", "--config", self.config_file],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()

    def _failure(self):
        status = "still running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
        return f"mailroom serve {status}; --- {self.log_file}:\n{tail(self.log_file)}"

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def root_pid(self):
        return self.proc.pid

    # --- scenario (i): crash and restart with a backlog -------------------------------------
    def kill_hard(self):
        """kill -9 of the server process (the one this instance started), reaped."""
        self.proc.kill()
        self.proc.wait()

    def restart(self):
        """Starts the server again on the same data dir; returns at once (the caller times the
        greeting). The log is appended to, so recovered_at() reads this start's lines."""
        with open(self.log_file, "a") as f:
            f.write("--- bench: restarted after kill -9 ---\n")
        self._log_offset = os.path.getsize(self.log_file)
        self._launch("a")

    def recovery_done(self):
        """After restart(): (wall-clock time of the "queue: recovered N messages" line, N), or
        None while it has not been logged."""
        with open(self.log_file, errors="replace") as f:
            f.seek(getattr(self, "_log_offset", 0))
            for line in f:
                m = _RECOVERED.match(line)
                if m:
                    stamp = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
                    return stamp + int(m.group(2)) / 1000.0, int(m.group(3))
        return None

    def queue_files(self):
        """Committed queue files (the queue is empty when this is 0)."""
        return count_files([os.path.join(self.data_dir, "queue", "messages"),
                            os.path.join(self.data_dir, "queue", "incoming")])

    def queue_depth(self):
        """{"ready", "deferred", "in_flight"} from the server's own metrics endpoint."""
        url = f"http://{LOOPBACK}:{self.relay.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        depth = {}
        for state, value in re.findall(r'^mailroom_queue_messages\{state="(\w+)"\} (\S+)$', text,
                                       re.M):
            depth[state] = int(float(value))
        return depth

    def deferred_and_busy(self):
        """(messages waiting for a retry, messages still to be attempted or in an attempt)."""
        d = self.queue_depth()
        return d.get("deferred", 0), d.get("ready", 0) + d.get("in_flight", 0)

    def flush(self):
        """`mailroom queue flush`: every deferred recipient retried now."""
        return run_checked([self.binary, "queue", "flush", "--config", self.config_file],
                           "mailroom queue flush", timeout_s=300).strip()

    def maildir_new_dirs(self):
        root = os.path.join(self.data_dir, "mailboxes", self.domain)
        return [os.path.join(root, lp, "new") for lp in self.local_parts]

    def clear_mailboxes(self):
        empty_dirs(self.maildir_new_dirs(), self.trash_dir)

    def discard_delivered(self, budget_s):
        return discard_trash(self.trash_dir, budget_s)

    def deferred_reason(self):
        return tail(self.log_file, 10)

    def version(self):
        return run_checked([self.binary, "--version"], "mailroom --version").strip()

    def describe(self):
        return (f"mailroom: one listener on {LOOPBACK}:{self.port}, STARTTLS offered, no AUTH, "
                f"per-client and total connection limits {CONNECTION_LIMIT}")
