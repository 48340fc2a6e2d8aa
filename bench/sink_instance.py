"""sink_instance: Postfix's smtp-sink on 127.0.0.1:<port>, the protocol ceiling for reference.

smtp-sink answers SMTP and throws every message away, so smtp-source against it measures what
the client, the loopback and the kernel can do on this machine with no queue and no disk. In
scenarios (h) and (i) it is the remote MX both servers deliver to (on 127.0.0.2 or .3, with
`counting`: smtp-sink -c, whose running counters tell how many messages it was given).
"""

import re
import subprocess

from common import LOOPBACK, BenchError, run_checked, wait_for_banner

LISTEN_BACKLOG = 1024


class SinkInstance:
    name = "smtp-sink"

    def __init__(self, port, address=LOOPBACK, count_file=None):
        """count_file: run with -c and write its counters there (messages_received())."""
        self.port = port
        self.address = address
        self.count_file = count_file
        self.proc = None

    def start(self):
        # smtp-sink refuses to run as root without -u; -c counts (and prints) sessions, messages.
        argv = ["smtp-sink", "-u", "nobody"] + (["-c"] if self.count_file else [])
        out = open(self.count_file, "w") if self.count_file else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv + [f"{self.address}:{self.port}", str(LISTEN_BACKLOG)],
                                     stdout=out, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)  # own autogroup, as the servers
        if self.count_file:
            out.close()
        wait_for_banner(self.port, 10, self._failure, host=self.address)

    def messages_received(self):
        """Messages smtp-sink has taken since start (its last "mesg=N" counter; needs -c)."""
        if not self.count_file:
            raise BenchError("smtp-sink was started without -c: it counts nothing")
        with open(self.count_file, "rb") as f:
            f.seek(0, 2)
            f.seek(max(f.tell() - 200, 0))
            found = re.findall(rb"mesg=(\d+)", f.read())
        return int(found[-1]) if found else 0

    def _failure(self):
        if self.proc.poll() is not None:
            return f"smtp-sink exited {self.proc.returncode}: {self.proc.stderr.read()[-500:]}"
        return ""

    def root_pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def version(self):
        version = run_checked(["postconf", "-d", "-h", "mail_version"], "postconf mail_version")
        return f"smtp-sink (Postfix {version.strip()})"
