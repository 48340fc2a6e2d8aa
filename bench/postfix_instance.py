"""postfix_instance: a private Postfix 3.x on 127.0.0.1:<port> that delivers to virtual Maildirs.

Owns bench/work/postfix/ (config, queue, data, Maildirs, log). The configuration is Postfix's
defaults except what a private instance needs: its own directories, smtpd bound to loopback only,
chroot off, a log file instead of syslog (there is none here), virtual Maildir delivery for the
benchmark domain, and opportunistic STARTTLS with the shared benchmark certificate. Durability is
left at the defaults (every queue file and Maildir file is fsync'd). Postfix refuses `-c DIR`
unless the default /etc/postfix/main.cf lists DIR in alternate_config_directories, so that one
line is added there (the only change outside bench/work/). Never binds anything but 127.0.0.1.

For scenarios (h) and (i) (`transport`): mail for the remote test domains goes to fixed next hops
by transport_maps (`remote.test smtp:[127.0.0.2]:PORT`), because a private instance cannot be
pointed at the benchmark's dnsmasq on a high port (Postfix asks the system resolver); it relays
for $mynetworks (127.0.0.0/8) as configured here anyway.
"""

import os
import pwd
import signal
import time

from common import (LOOPBACK, WORK_DIR, BenchError, discard_trash, empty_dirs, reset_dir,
                    run_checked, tail, wait_for_banner)
from procstat import tree_pids

SYSTEM_CONFIG_DIR = "/etc/postfix"
# virtual(8) refuses uids below virtual_minimum_uid (100); nobody owns the Maildirs.
MAILDIR_USER = "nobody"

# Postfix's stock master.cf services, every one with chroot off; smtpd is bound in start().
_MASTER_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _allow_alternate_config_dir(conf_dir):
    """Lists conf_dir in the default main.cf's alternate_config_directories (creating main.cf)."""
    main_cf = os.path.join(SYSTEM_CONFIG_DIR, "main.cf")
    if not os.path.exists(main_cf):
        tmp = main_cf + ".bench-tmp"
        with open(tmp, "w") as f:
            f.write("# Written by mailroom's bench/: private Postfix instances run with -c DIR.\n"
                    "compatibility_level = 3.6\n"
                    f"alternate_config_directories = {conf_dir}\n")
        try:
            os.link(tmp, main_cf)  # never overwrite a main.cf someone else created meanwhile
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    listed = run_checked(["postconf", "-h", "alternate_config_directories"],
                         "reading alternate_config_directories").strip()
    entries = [e for e in listed.replace(",", " ").split() if e]
    if conf_dir not in entries:
        value = ", ".join(entries + [conf_dir])
        run_checked(["postconf", "-e", f"alternate_config_directories = {value}"],
                    "adding the benchmark's config dir to /etc/postfix/main.cf")


class PostfixInstance:
    name = "postfix"
    recovers_queue = False  # keeps no queue in memory: nothing to read back before serving

    def __init__(self, port, domain, local_parts, cert_file, key_file, work_name="postfix",
                 transport=None):
        """work_name: its folder under bench/work/; transport: {domain: "smtp:[host]:port"}."""
        self.port = port
        self.transport = dict(transport or {})
        self.domain = domain
        self.local_parts = list(local_parts)
        self.cert_file, self.key_file = cert_file, key_file
        self.base = os.path.join(WORK_DIR, work_name)
        self.conf_dir = os.path.join(self.base, "conf")
        self.queue_dir = os.path.join(self.base, "queue")
        self.data_dir = os.path.join(self.base, "data")
        self.mail_dir = os.path.join(self.base, "mail")
        self.trash_dir = os.path.join(WORK_DIR, "delivered-" + work_name)
        self.log_file = os.path.join(self.base, "postfix.log")
        self.master_pid = None

    # --- setup -----------------------------------------------------------------------------
    def _write_config(self):
        mailbox_owner = pwd.getpwnam(MAILDIR_USER)
        with open(os.path.join(self.conf_dir, "virtual_mailboxes"), "w") as f:
            for lp in self.local_parts:
                f.write(f"{lp}@{self.domain} {self.domain}/{lp}/\n")  # trailing / = Maildir
        main_cf = f"""\
compatibility_level = 3.6
queue_directory = {self.queue_dir}
data_directory = {self.data_dir}
maillog_file = {self.log_file}
maillog_file_prefixes = {self.base}
myhostname = postfix.bench.test
mydestination =
relay_domains =
relayhost =
inet_interfaces = {LOOPBACK}
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
virtual_mailbox_domains = {self.domain}
virtual_mailbox_base = {self.mail_dir}
virtual_mailbox_maps = texthash:{self.conf_dir}/virtual_mailboxes
virtual_uid_maps = static:{mailbox_owner.pw_uid}
virtual_gid_maps = static:{mailbox_owner.pw_gid}
smtpd_tls_security_level = may
smtpd_tls_cert_file = {self.cert_file}
smtpd_tls_key_file = {self.key_file}
"""
        if self.transport:
            with open(os.path.join(self.conf_dir, "transport"), "w") as f:
                for domain, nexthop in self.transport.items():
                    f.write(f"{domain} {nexthop}\n")
            main_cf += f"transport_maps = texthash:{self.conf_dir}/transport\n"
        with open(os.path.join(self.conf_dir, "main.cf"), "w") as f:
            f.write(main_cf)
        with open(os.path.join(self.conf_dir, "master.cf"), "w") as f:
            f.write(f"{LOOPBACK}:{self.port} inet n - n - - smtpd\n" + _MASTER_SERVICES)

    def _make_directories(self):
        self.stop()  # a previous run killed hard may have left a master behind
        reset_dir(self.base)
        discard_trash(self.trash_dir)
        for d in (self.conf_dir, self.queue_dir, self.data_dir, self.mail_dir):
            os.makedirs(d, exist_ok=True)
        postfix_user = pwd.getpwnam("postfix")
        os.chown(self.data_dir, postfix_user.pw_uid, postfix_user.pw_gid)
        owner = pwd.getpwnam(MAILDIR_USER)
        os.chown(self.mail_dir, owner.pw_uid, owner.pw_gid)
        # Parent directories must not be group/world-writable or `postfix check` objects.
        os.chmod(self.base, 0o755)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self):
        self._make_directories()
        self._write_config()
        _allow_alternate_config_dir(self.conf_dir)
        # `postfix start` creates the queue's subdirectories (post-install create-missing).
        try:
            run_checked(["postfix", "-c", self.conf_dir, "start"], "postfix start", timeout_s=120)
        except BenchError as e:
            raise BenchError(f"{e}\n--- {self.log_file}:\n{tail(self.log_file)}") from e
        wait_for_banner(self.port, 30, lambda: tail(self.log_file))
        self.master_pid = self._read_master_pid()

    def _read_master_pid(self):
        pid_file = os.path.join(self.queue_dir, "pid", "master.pid")
        with open(pid_file) as f:
            return int(f.read().strip())

    def stop(self):
        """Stops the instance (also a leftover one from an earlier, interrupted run)."""
        pid = self.master_pid
        if pid is None:
            try:
                pid = self._read_master_pid()
            except (OSError, ValueError):
                return
        if not os.path.exists(os.path.join(self.conf_dir, "main.cf")):
            return
        try:
            run_checked(["postfix", "-c", self.conf_dir, "stop"], "postfix stop", timeout_s=60)
        except BenchError:
            pass
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)  # only our instance's master: its pid came from its file
        self.master_pid = None

    # --- what the benchmark reads ----------------------------------------------------------
    def root_pid(self):
        return self.master_pid

    # --- scenario (i): crash and restart with a backlog -------------------------------------
    def kill_hard(self):
        """kill -9 of master and every child (the tree under this instance's master.pid)."""
        pids = tree_pids(self.master_pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.master_pid = None

    def restart(self):
        """`postfix start` again on the same queue (blocks until the command returns, ~1 s)."""
        run_checked(["postfix", "-c", self.conf_dir, "start"], "postfix start", timeout_s=120)
        self.master_pid = self._read_master_pid()

    def recovery_done(self):
        return None  # Postfix keeps no queue in memory: nothing to recover before serving

    def _queue_files(self, subdirs):
        total = 0
        for sub in subdirs:
            for _root, _dirs, files in os.walk(os.path.join(self.queue_dir, sub)):
                total += len(files)
        return total

    def queue_files(self):
        return self._queue_files(("incoming", "active", "deferred", "maildrop", "hold"))

    def deferred_and_busy(self):
        """(messages in deferred/, messages in maildrop/, incoming/ or active/)."""
        return (self._queue_files(("deferred",)),
                self._queue_files(("maildrop", "incoming", "active")))

    def flush(self):
        """`postqueue -f`: the deferred queue retried now (qmgr also forgets dead next hops)."""
        return run_checked(["postqueue", "-c", self.conf_dir, "-f"], "postqueue -f",
                           timeout_s=300).strip()

    def maildir_new_dirs(self):
        return [os.path.join(self.mail_dir, self.domain, lp, "new") for lp in self.local_parts]

    def clear_mailboxes(self):
        empty_dirs(self.maildir_new_dirs(), self.trash_dir)

    def discard_delivered(self, budget_s):
        return discard_trash(self.trash_dir, budget_s)

    def queue_is_empty(self):
        for sub in ("incoming", "active", "deferred", "maildrop", "hold"):
            for _root, _dirs, files in os.walk(os.path.join(self.queue_dir, sub)):
                if files:
                    return False
        return True

    def deferred_reason(self):
        """The last few log lines, for error messages when delivery stalls."""
        return tail(self.log_file, 10)

    def version(self):
        return "Postfix " + run_checked(["postconf", "-d", "-h", "mail_version"],
                                        "postconf mail_version").strip()

    def describe(self):
        return (f"Postfix: defaults + virtual Maildir delivery, smtpd on {LOOPBACK}:{self.port}, "
                "chroot n, STARTTLS offered (may)")


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False

