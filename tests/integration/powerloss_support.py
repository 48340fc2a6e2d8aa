"""Helpers for the power-loss tests (test_powerloss_fs.py, test_queue_powerloss.py).

  require_fuse()              -> skips when FUSE cannot run here (not root, no /dev/fuse), unless
                                 CI is set: then it fails, so CI proves the tests ran
  PowerLossDisk(mountpoint)   -> powerloss_fs.py mounted there: .start() .sync() .cut() .stop()
  powerloss_disk              -> fixture: a factory, powerloss_disk(**options) -> a started
                                 PowerLossDisk at tmp_path/disk, stopped at teardown
"""
import json
import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading

import pytest

FS_SCRIPT = pathlib.Path(__file__).resolve().parent / "powerloss_fs.py"
# The file system needs Debian's python3-pyfuse3 and python3-trio, which only Debian's own
# interpreter sees (a python3 earlier on PATH may be another one).
FS_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def require_fuse():
    why = None
    if os.geteuid() != 0:
        why = "not running as root"
    elif not os.path.exists("/dev/fuse"):
        why = "/dev/fuse is missing"
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"power-loss tests need root and FUSE ({why}); under CI they must run")
    pytest.skip(f"power-loss tests need root and FUSE: {why}")


def is_mounted(path):
    # Not os.path.ismount: it stats the path, which fails on a dead FUSE mount.
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == str(path) for line in f)


class PowerLossDisk:
    """The simulated disk. Every control call waits for the file system's answer line, so when
    it returns the mount is in the state asked for."""

    def __init__(self, mountpoint, log_path, sync_latency_ms=0, seed=None):
        self.mountpoint = pathlib.Path(mountpoint)
        self.options = ["--sync-latency-ms", str(sync_latency_ms)]
        if seed is not None:
            self.options += ["--seed", str(seed)]
        self.log_path = pathlib.Path(log_path)
        self.proc = None
        self.lines = queue.Queue()
        self.cuts = []  # what each cut threw away, as powerloss_fs.py reports it

    def start(self):
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([FS_PYTHON, str(FS_SCRIPT), *self.options,
                                      str(self.mountpoint)],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        threading.Thread(target=self._read_lines, daemon=True).start()
        self._expect("mounted")
        return self

    def _read_lines(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # EOF: the process is gone

    def _expect(self, word, timeout=60):
        # Generous: only a hung file system takes this long.
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"powerloss_fs: no '{word}' within {timeout}s\n" + self.log_text())
        if line is None:
            raise AssertionError(f"powerloss_fs exited ({self.proc.wait()}) before '{word}'\n"
                                 + self.log_text())
        assert line.split(" ", 1)[0] == word, f"powerloss_fs: expected '{word}', got {line!r}"
        return line.split(" ", 1)[1] if " " in line else ""

    def sync(self):
        """Everything written so far becomes durable, as sync(2) would make it on a real disk."""
        self.proc.send_signal(signal.SIGUSR2)
        self._expect("synced")

    def cut(self):
        """Power cut and reboot: only what was durable is left. No process may use the mount."""
        self.proc.send_signal(signal.SIGUSR1)
        stats = json.loads(self._expect("cut"))
        self._expect("mounted")
        self.cuts.append(stats)
        return stats

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # A file system process that died leaves a dead mount behind ("Transport endpoint is not
        # connected"), which would break the removal of tmp_path.
        if is_mounted(self.mountpoint):
            subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True)
        if self.proc:
            self.log.close()

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""


@pytest.fixture
def powerloss_disk(tmp_path):
    require_fuse()
    disks = []

    def make(**options):
        disk = PowerLossDisk(tmp_path / "disk", tmp_path / "powerloss_fs.log", **options)
        disks.append(disk)
        return disk.start()

    yield make
    for disk in disks:
        disk.stop()
