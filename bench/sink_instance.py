"""sink_instance: Postfix's smtp-sink on 127.0.0.1:<port>, the protocol ceiling for reference.

smtp-sink answers SMTP and throws every message away, so smtp-source against it measures what
the client, the loopback and the kernel can do on this machine with no queue and no disk.
"""

import subprocess

from common import LOOPBACK, run_checked, wait_for_banner

LISTEN_BACKLOG = 1024


class SinkInstance:
    name = "smtp-sink"

    def __init__(self, port):
        self.port = port
        self.proc = None

    def start(self):
        # smtp-sink refuses to run as root without -u; -c would count (and print) sessions.
        self.proc = subprocess.Popen(["smtp-sink", "-u", "nobody", f"{LOOPBACK}:{self.port}",
                                      str(LISTEN_BACKLOG)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)  # own autogroup, as the servers
        wait_for_banner(self.port, 10, self._failure)

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
