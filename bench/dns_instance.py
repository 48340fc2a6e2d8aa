"""dns_instance: dnsmasq (Debian's dnsmasq-base) on 127.0.0.1:<port>, the MX records of (h)/(i).

Serves only what it is given (--mx-host / --host-record); `--local=/test/` answers NXDOMAIN for
every other name under .test and nothing is forwarded (--no-resolv), so no query leaves
loopback. mailroom is pointed at it with `[dns] servers`; a private Postfix cannot use a resolver
on a high port through the system's, so Postfix is given the hosts by transport_maps instead
(postfix_instance.py). Stops only the process it started.
"""

import os
import socket
import subprocess
import time

from common import LOOPBACK, BenchError, reset_dir, tail

DNSMASQ = "/usr/sbin/dnsmasq"


def free_udp_tcp_port():
    """A port free for both UDP and TCP on 127.0.0.1 (dnsmasq binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((LOOPBACK, 0))
            port = u.getsockname()[1]
            with socket.socket() as t:
                try:
                    t.bind((LOOPBACK, port))
                    return port
                except OSError:
                    continue
    raise BenchError("no port free for both UDP and TCP on 127.0.0.1 for dnsmasq")


class DnsInstance:
    name = "dnsmasq"

    def __init__(self, work_dir, mx_records, host_records):
        """mx_records: [(domain, host, preference)]; host_records: [(host, address)]."""
        self.port = free_udp_tcp_port()
        self.address = f"{LOOPBACK}:{self.port}"
        self.base = work_dir
        self.log_file = os.path.join(work_dir, "dnsmasq.log")
        self.mx_records, self.host_records = list(mx_records), list(host_records)
        self.proc = None

    def start(self):
        if not os.path.exists(DNSMASQ):
            raise BenchError(f"{DNSMASQ} not found: install Debian's dnsmasq-base (make test-deps)")
        reset_dir(self.base)
        argv = [DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                f"--listen-address={LOOPBACK}", "--bind-interfaces", f"--port={self.port}",
                "--local=/test/", "--pid-file=", "--user=nobody"]
        argv += [f"--mx-host={d},{h},{p}" for d, h, p in self.mx_records]
        argv += [f"--host-record={h},{a}" for h, a in self.host_records]
        log = open(self.log_file, "w")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + 10
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"dnsmasq did not start:\n{tail(self.log_file)}")
            time.sleep(0.05)

    def _answers(self):
        # A query for "test." type A: any reply with our id means dnsmasq is serving.
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x00\x00\x01\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(query, (LOOPBACK, self.port))
                return s.recv(512)[:2] == b"\x12\x34"
            except OSError:
                return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
