"""Real peers for interop tests: a private Postfix instance (Debian's postfix), a private
Dovecot that only authenticates (SASL for Postfix's smtpd), and Dovecot's own LMTP server
(DovecotLmtp), each with its own directories under /tmp and bound to loopback only.

    with DovecotSasl("interop", {"relayuser": "relay-secret"}) as sasl, \\
            PrivatePostfix("interop", services=[...], mailboxes=["bob@dom.test"], ...) as pf:
        pf.maildir("bob@dom.test") -> the Maildir Postfix's virtual(8) delivers into

Pitfalls (../shared/notes/machine-facts.md): `postfix -c DIR` needs DIR listed in the default
/etc/postfix/main.cf (alternate_config_directories; created if missing, the one change outside
the instance); no syslog, so maillog_file; data_directory owned by postfix; the instance directory
traversable by postfix; chroot off; smtpd bound to 127.0.0.x. Instance directories have stable
names (/tmp/mailroom-it-postfix-NAME), so main.cf lists one entry per name, not one per run; a
master left over from an interrupted run is stopped first.
"""
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import time

SYSTEM_MAIN_CF = "/etc/postfix/main.cf"
MAILDIR_USER = "nobody"  # virtual(8) refuses uids below virtual_minimum_uid (100)

# Postfix's stock services, chroot off (the smtpd listeners are added per instance).
MASTER_SERVICES = """\
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


def _run(args, what, timeout=120):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def allow_config_dir(conf_dir):
    """Lists conf_dir in alternate_config_directories of the default main.cf (creating it)."""
    if not os.path.exists(SYSTEM_MAIN_CF):
        tmp = SYSTEM_MAIN_CF + f".tests-{os.getpid()}"
        with open(tmp, "w") as f:
            f.write("# Written by mailroom's tests: private Postfix instances run with -c DIR.\n"
                    "compatibility_level = 3.6\n"
                    f"alternate_config_directories = {conf_dir}\n")
        try:
            os.link(tmp, SYSTEM_MAIN_CF)  # never overwrite one someone else just created
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    listed = _run(["postconf", "-h", "alternate_config_directories"], "postconf").strip()
    entries = [e for e in listed.replace(",", " ").split() if e]
    if str(conf_dir) not in entries:
        _run(["postconf", "-e", "alternate_config_directories = " + ", ".join(entries + [str(conf_dir)])],
             "postconf -e alternate_config_directories")


def wait_for_banner(host, port, timeout, why):
    deadline = time.time() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1) as s:
                s.settimeout(5)
                if s.recv(512).startswith(b"220"):
                    return
        except OSError:
            pass
        if time.time() > deadline:
            raise RuntimeError(f"no SMTP banner on {host}:{port}: {why()}")
        time.sleep(0.1)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own unreaped child) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class PrivatePostfix:
    """services: [(host, port, {"-o" overrides})] smtpd listeners; mailboxes: virtual Maildir
    addresses; main: extra main.cf settings ("{conf}" in a value is the config directory);
    files: map files written into the config directory."""

    def __init__(self, name, services, mailboxes=(), main=None, cert=None, key=None, files=None):
        self.base = pathlib.Path(f"/tmp/mailroom-it-postfix-{name}")
        self.conf = self.base / "conf"
        self.queue = self.base / "queue"
        self.data = self.base / "data"
        self.mail = self.base / "mail"
        self.log_path = self.base / "postfix.log"
        self.services = list(services)
        self.mailboxes = list(mailboxes)
        self.main = dict(main or {})
        self.cert, self.key = cert, key
        self.files = dict(files or {})  # name -> text, written into the config directory

    def _master_pid(self):
        try:
            return int((self.queue / "pid" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _stop_leftover(self):
        """Stops this instance's master (also one an interrupted run left behind) and waits
        until it is gone. master.pid outlives the master: the process is what is waited for."""
        if not (self.conf / "main.cf").exists():
            return
        pid = self._master_pid()
        subprocess.run(["postfix", "-c", str(self.conf), "stop"], capture_output=True)
        deadline = time.time() + 15
        while pid and _alive(pid) and time.time() < deadline:
            time.sleep(0.05)

    def start(self):
        self._stop_leftover()
        shutil.rmtree(self.base, ignore_errors=True)
        for d in (self.conf, self.queue, self.data, self.mail):
            d.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)
        pf = pwd.getpwnam("postfix")
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        owner = pwd.getpwnam(MAILDIR_USER)
        os.chown(self.mail, owner.pw_uid, owner.pw_gid)
        (self.conf / "virtual_mailboxes").write_text(
            "".join(f"{a} {a.split('@')[1]}/{a.split('@')[0]}/\n" for a in self.mailboxes))
        for fname, text in self.files.items():
            (self.conf / fname).write_text(text)
        domains = sorted({a.split("@")[1] for a in self.mailboxes})
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue, "data_directory": self.data,
            "maillog_file": self.log_path, "maillog_file_prefixes": self.base,
            "myhostname": "postfix.interop.test", "mydestination": "", "relayhost": "",
            "inet_interfaces": "loopback-only", "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.1/32", "alias_maps": "", "alias_database": "", "biff": "no",
            "smtpd_peername_lookup": "no",
            "virtual_mailbox_domains": ", ".join(domains),
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": f"texthash:{self.conf}/virtual_mailboxes",
            "virtual_uid_maps": f"static:{owner.pw_uid}", "virtual_gid_maps": f"static:{owner.pw_gid}",
            # Retry fast: tests wait for Postfix's deliveries too.
            "queue_run_delay": "1s", "minimal_backoff_time": "1s", "maximal_backoff_time": "2s",
        }
        if self.cert:
            main.update({"smtpd_tls_security_level": "may", "smtpd_tls_cert_file": self.cert,
                         "smtpd_tls_key_file": self.key, "smtpd_tls_received_header": "yes",
                         "smtpd_tls_loglevel": "1", "smtp_tls_loglevel": "1"})
        main.update({k: str(v).replace("{conf}", str(self.conf)) for k, v in self.main.items()})
        (self.conf / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in main.items()))
        lines = []
        for host, port, overrides in self.services:
            lines.append(f"{host}:{port} inet n - n - - smtpd")
            lines += [f"  -o {k}={str(v).replace('{conf}', str(self.conf))}"
                      for k, v in overrides.items()]
        (self.conf / "master.cf").write_text("\n".join(lines) + "\n" + MASTER_SERVICES)
        allow_config_dir(self.conf)
        try:
            _run(["postfix", "-c", str(self.conf), "start"], "postfix start")
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n{self.log()}") from e
        for host, port, _ in self.services:
            wait_for_banner(host, port, 30, self.log)
        return self

    def stop(self):
        self._stop_leftover()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def maildir(self, address):
        local, domain = address.split("@")
        return self.mail / domain / local

    def wait_for_mail(self, address, count=1, timeout=30):
        new = self.maildir(address) / "new"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if new.is_dir():
                files = sorted(new.iterdir(), key=lambda p: p.stat().st_mtime_ns)
                if len(files) >= count:
                    return [f.read_bytes() for f in files]
            time.sleep(0.05)
        raise AssertionError(f"Postfix: no mail for {address}\n{self.log()[-3000:]}")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class DovecotSasl:
    """A Dovecot that only authenticates: its auth service on a UNIX socket Postfix's smtpd uses
    (smtpd_sasl_type = dovecot), users from a passwd-file."""

    def __init__(self, name, users):
        self.dir = pathlib.Path(f"/tmp/mailroom-it-dovecot-{name}")
        self.users = dict(users)
        self.socket = self.dir / "auth"
        self.proc = None

    def start(self):
        if not shutil.which("dovecot"):
            raise RuntimeError("dovecot is not installed (Debian package dovecot-core)")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.dir.chmod(0o755)
        (self.dir / "passwd").write_text(
            "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items()))
        conf = self.dir / "dovecot.conf"
        conf.write_text(f"""\
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.dir}/dovecot.log
protocols = none
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = {self.dir}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener {self.socket} {{
    mode = 0666
  }}
}}
""")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while not self.socket.exists():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("dovecot (auth) did not start: " + self.log())
            time.sleep(0.05)
        return self

    def log(self):
        try:
            return (self.dir / "dovecot.log").read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class DovecotLmtp:
    """Dovecot's own LMTP server (Debian's dovecot-lmtpd) on a UNIX socket and on
    127.0.0.1:<port>, delivering to Maildirs under its directory for the users of a passwd-file
    (full addresses: kate@example.test); anyone else gets Dovecot's 550."""

    def __init__(self, name, users, port):
        self.dir = pathlib.Path(f"/tmp/mailroom-it-dovecot-lmtp-{name}")
        self.users = list(users)
        self.port = port
        self.socket = self.dir / "lmtp"
        self.mail = self.dir / "mail"
        self.proc = None

    def maildir(self, address):
        local, domain = address.split("@")
        return self.mail / domain / local / "Maildir"

    def start(self):
        if not shutil.which("dovecot") or not os.path.exists("/usr/lib/dovecot/lmtp"):
            raise RuntimeError("dovecot's LMTP server is not installed (Debian package dovecot-lmtpd)")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.mail.mkdir(parents=True)
        self.dir.chmod(0o755)
        owner = pwd.getpwnam(MAILDIR_USER)
        os.chown(self.mail, owner.pw_uid, owner.pw_gid)
        (self.dir / "users").write_text("".join(
            f"{u}::{owner.pw_uid}:{owner.pw_gid}::{self.dir}/home::\n" for u in self.users))
        conf = self.dir / "dovecot.conf"
        conf.write_text(f"""\
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.dir}/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
first_valid_uid = 1
mail_location = maildir:{self.mail}/%d/%n/Maildir
passdb {{
  driver = passwd-file
  args = {self.dir}/users
}}
userdb {{
  driver = passwd-file
  args = {self.dir}/users
}}
service lmtp {{
  unix_listener {self.socket} {{
    mode = 0666
  }}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
""")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot (lmtp) exited: " + self.log())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.settimeout(5)
                    if s.recv(512).startswith(b"220") and self.socket.exists():
                        return self
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("dovecot (lmtp) did not start: " + self.log())
            time.sleep(0.05)

    def wait_for_mail(self, address, count=1, timeout=30):
        new = self.maildir(address) / "new"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if new.is_dir():
                files = sorted(new.iterdir())
                if len(files) >= count:
                    return [f.read_bytes() for f in files]
            time.sleep(0.05)
        raise AssertionError(f"Dovecot LMTP: no mail for {address}\n{self.log()}")

    def log(self):
        try:
            return (self.dir / "dovecot.log").read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
