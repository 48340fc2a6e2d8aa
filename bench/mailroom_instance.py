"""mailroom_instance: a mailroom server on 127.0.0.1:<port> configured like the private Postfix.

Owns bench/work/mailroom/ (config, data_dir with queue and Maildirs, log). Equivalent to
bench/postfix_instance.py: one listener on loopback, STARTTLS offered with the shared benchmark
certificate, no AUTH, no relay, the benchmark domain local with one mailbox per recipient the
load uses (created with `mailroom user add ... --password-stdin`). Connection limits are raised
so that loopback clients are not capped per client, as Postfix exempts $mynetworks from its
per-client limits, and so that scenario (g) may hold 10,000 idle sessions plus the probes.
Never binds anything but 127.0.0.1; stops only the process it started.
"""

import os
import signal
import subprocess

from common import (LOOPBACK, WORK_DIR, BenchError, discard_trash, empty_dirs, reset_dir,
                    run_checked, tail, wait_for_banner)

BENCH_PASSWORD = "bench-password-not-secret\n"
CONNECTION_LIMIT = 12000  # scenario (g): 10,000 idle sessions + probes


class MailroomInstance:
    name = "mailroom"

    def __init__(self, binary, port, domain, local_parts, cert_file, key_file,
                 work_name="mailroom", protocol_log=False, log_dir=None):
        """work_name: its folder under bench/work/ (bench/profile.py uses its own);
        protocol_log: the listener writes the protocol log (bench/protocol_log_overhead.py)."""
        self.protocol_log = protocol_log
        self.log_dir = log_dir  # [log] directory; None: data_dir/log
        self.binary = binary
        self.port = port
        self.domain = domain
        self.local_parts = list(local_parts)
        self.cert_file, self.key_file = cert_file, key_file
        self.base = os.path.join(WORK_DIR, work_name)
        self.data_dir = os.path.join(self.base, "data")
        self.config_file = os.path.join(self.base, "mailroom.toml")
        self.trash_dir = os.path.join(WORK_DIR, "delivered-" + work_name)
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
relay = "none"
max_message_size = 10240000          # Postfix's message_size_limit
max_recipients = 1000                # Postfix's smtpd_recipient_limit
max_connections = {CONNECTION_LIMIT}
max_connections_per_client = {CONNECTION_LIMIT}
protocol_log = {"true" if self.protocol_log else "false"}

[limits]
max_connections = {CONNECTION_LIMIT}

[log]
directory = "{self.log_dir or os.path.join(self.data_dir, 'log')}"

[tls]
cert_file = "{self.cert_file}"
key_file = "{self.key_file}"
"""
        with open(self.config_file, "w") as f:
            f.write(text)

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
        log = open(self.log_file, "w")
        # A session of its own, as Postfix's master makes itself (setsid): with the kernel's
        # autogroup scheduling each session shares CPU as one group, and on a busy machine the
        # server must not share its group with the load generator when Postfix does not.
        self.proc = subprocess.Popen([self.binary, "serve", "--config", self.config_file],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        wait_for_banner(self.port, 30, self._failure)

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
