"""A private DNS server for integration tests: dnsmasq (Debian's dnsmasq-base) on 127.0.0.1 and a
free port, serving only what the test gives it. `--local=/test/` answers NXDOMAIN for every other
name under .test; everything else is refused (no upstream), so no query ever leaves loopback.

    with DnsServer(mx=[("dom.test", "mx1.dom.test", 10)], hosts=[("mx1.dom.test", "127.0.0.2")]) as dns:
        mailroom(..., extra={"dns": {"servers": [dns.address]}})
"""
import os
import pathlib
import socket
import subprocess
import tempfile
import time

DNSMASQ = "/usr/sbin/dnsmasq"


def _free_udp_tcp_port():
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue
    raise RuntimeError("no free port for dnsmasq")


class DnsServer:
    def __init__(self, mx=(), hosts=(), cnames=(), txt=(), ptr=(), extra_args=()):
        if not os.path.exists(DNSMASQ):
            raise RuntimeError(f"{DNSMASQ} not found: install Debian package dnsmasq-base")
        self.port = _free_udp_tcp_port()
        self.address = f"127.0.0.1:{self.port}"
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="mailroom-dns-"))
        self.log_path = self.dir / "dnsmasq.log"
        args = [DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--listen-address=127.0.0.1", "--bind-interfaces", f"--port={self.port}",
                "--local=/test/", "--local-ttl=1", "--pid-file=", "--log-queries"]
        args += [f"--mx-host={d},{h},{p}" for d, h, p in mx]
        args += [f"--host-record={h},{a}" for h, a in hosts]
        args += [f"--cname={a},{b}" for a, b in cnames]
        args += [f"--txt-record={n}," + ",".join(v) for n, v in txt]
        args += [f"--ptr-record={n},{h}" for n, h in ptr]
        args += list(extra_args)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while not self._answers():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("dnsmasq did not start:\n" + self.log_path.read_text())
            time.sleep(0.05)

    def _answers(self):
        # A minimal query for "test." type A; any reply means it is serving.
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x00\x00\x01\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(q, ("127.0.0.1", self.port))
                return s.recv(512)[:2] == b"\x12\x34"
            except OSError:
                return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
