"""sd_notify (src/server/service_notify.hpp): what `mailroom serve` tells a Type=notify service
manager, read from a real unix datagram socket named by $NOTIFY_SOCKET, as systemd does.

  * READY=1 comes once the listeners accept: a single connection attempt made the moment it
    arrives (no retry) gets the 220 banner; a STATUS= line says it is accepting mail;
  * SIGTERM: STOPPING=1 arrives, then the process exits 0;
  * SIGHUP (a reload, src/server/reload.hpp): RELOADING=1 with MONOTONIC_USEC, then READY=1 once
    the new configuration is in force, as Type=notify-reload expects;
  * $NOTIFY_SOCKET naming a socket nobody listens on changes nothing: the server runs, takes a
    message and stops as usual (the service manager is an observer, never a reason to fail).
Every server of the suite runs without $NOTIFY_SOCKET, which is the no-op case.
"""
import os
import signal
import socket
import subprocess
import time

from conftest import BIN, DEFAULT_LISTENER, Server, free_port, sanitizer_env


class NotifySocket:
    """The service manager's end: a datagram socket collecting KEY=VALUE assignments."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)  # a server that dropped privileges still reaches it
        self.messages = []  # each datagram: [assignments]

    def wait_for(self, assignment, timeout=30):
        """Blocks until a datagram holding `assignment` arrives; returns it as a list."""
        deadline = time.monotonic() + timeout
        for m in self.messages:
            if assignment in m:
                return m
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                break
            m = data.decode().split("\n")
            self.messages.append(m)
            if assignment in m:
                return m
        raise AssertionError(f"no {assignment} within {timeout} s; got {self.messages}")

    def drain(self):
        """Collects what is left to read, without waiting (call after the sender has exited)."""
        self.sock.setblocking(False)
        try:
            while True:
                self.messages.append(self.sock.recv(4096).decode().split("\n"))
        except BlockingIOError:
            pass
        self.sock.setblocking(True)

    def statuses(self):
        return [a[len("STATUS="):] for m in self.messages for a in m if a.startswith("STATUS=")]

    def close(self):
        self.sock.close()


def banner_at_once(port):
    """One connection attempt, no retry: READY=1 must mean the port accepts now."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.settimeout(10)
        return s.recv(512)


def start_without_waiting(srv, notify_path):
    """Server.start() polls the port until it accepts; here READY=1 must be what says so."""
    env = sanitizer_env(srv.tmp)
    env["NOTIFY_SOCKET"] = str(notify_path)
    srv.log = open(srv.log_path, "ab")
    srv.proc = subprocess.Popen([BIN, "serve", "--config", str(srv.config_path)],
                                stdout=srv.log, stderr=subprocess.STDOUT, env=env)
    srv.ended = False


def test_ready_once_listening_and_stopping_on_sigterm(tmp_path):
    notify = NotifySocket(tmp_path / "notify.sock")
    port = free_port()
    srv = Server(tmp_path / "srv", [dict(DEFAULT_LISTENER, address=f"127.0.0.1:{port}")])
    try:
        start_without_waiting(srv, notify.path)
        notify.wait_for("READY=1")
        assert banner_at_once(port).startswith(b"220 ")
        assert any(s.startswith("accepting mail on 1 listener") for s in notify.statuses()), \
            notify.messages
        assert srv.proc.poll() is None
        srv.proc.send_signal(signal.SIGTERM)
        notify.wait_for("STOPPING=1")
        assert srv.stop() == 0  # exit 0 within the harness's bound, no sanitizer report
        notify.drain()
        assert any(s.startswith("stopping") for s in notify.statuses()), notify.messages
        # READY came before STOPPING, and only once.
        flat = [a for m in notify.messages for a in m]
        assert flat.count("READY=1") == 1
        assert flat.index("READY=1") < flat.index("STOPPING=1")
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.kill9()
        notify.close()


def test_reloading_then_ready_on_sighup(tmp_path):
    notify = NotifySocket(tmp_path / "notify.sock")
    port = free_port()
    srv = Server(tmp_path / "srv", [dict(DEFAULT_LISTENER, address=f"127.0.0.1:{port}")])
    try:
        start_without_waiting(srv, notify.path)
        notify.wait_for("READY=1")
        srv.proc.send_signal(signal.SIGHUP)
        reloading = notify.wait_for("RELOADING=1")
        assert any(a.startswith("MONOTONIC_USEC=") for a in reloading), reloading
        flat = lambda: [a for m in notify.messages for a in m]
        deadline = time.monotonic() + 30
        while flat().count("READY=1") < 2 and time.monotonic() < deadline:
            try:
                notify.wait_for("__none__", timeout=0.2)
            except AssertionError:
                pass
        got = flat()
        assert got.count("READY=1") == 2, got
        assert got.index("RELOADING=1") < len(got) - 1 - got[::-1].index("READY=1")
        assert "event=reloaded" in srv.log_text()
        assert banner_at_once(port).startswith(b"220 ")
        assert srv.stop() == 0
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.kill9()
        notify.close()


def test_a_notify_socket_nobody_reads_changes_nothing(tmp_path, raw, monkeypatch):
    srv = Server(tmp_path / "srv", [dict(DEFAULT_LISTENER)])
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens.sock"))
    srv.start()  # sanitizer_env copies os.environ
    monkeypatch.delenv("NOTIFY_SOCKET")
    try:
        c = raw(srv.port())
        c.expect(None, 220)
        c.expect("EHLO client.example.org", 250)
        c.expect("MAIL FROM:<chris@client.example.org>", 250)
        c.expect("RCPT TO:<postmaster@example.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: notify\r\n\r\nbody\r\n.\r\n")
        assert c.reply()[0] == 250
        c.expect("QUIT", 221)
    finally:
        assert srv.stop() == 0
