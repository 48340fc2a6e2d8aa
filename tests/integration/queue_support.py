"""Helpers for the queue and delivery acceptance tests (test_queue_*.py).

  send_message(port, sender, rcpts, message) -> (code, last reply line, queue id or None)
  queue_id(line)                -> the id from "250 2.6.0 <id@host> Queued mail for delivery"
  maildir_messages(dir)         -> [(path, bytes)] of new/ and cur/
  parse_maildir_file(bytes)     -> email.message.Message (LF line ends, as stored)
  Dovecot(...)                  -> a private dovecot-imapd on a loopback port, own config file,
                                   static passdb/userdb, mail_location = one Maildir
  world_traversable_dir()       -> a data dir Dovecot's unprivileged mail user can reach
  small_tmpfs(path, size)       -> context manager: a tmpfs mounted there (skips if not permitted)
  fill_filesystem(dir)          -> fills the filesystem holding dir until ENOSPC
  wait_until(predicate, timeout, what)
"""
import contextlib
import email
import email.policy
import errno
import imaplib
import os
import pathlib
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import RawSmtp, free_port

QUEUED_RE = re.compile(r"^250 2\.6\.0 <([0-9a-z]+)@([^>]+)> Queued mail for delivery$")
# time.M<usec>P<pid>Q<counter>_<queue id>.<host>,S=<size>,W=<size with CRLF>[:2,<flags>]
MAILDIR_NAME_RE = re.compile(r"^\d+\.M\d+P\d+Q\d+_(?P<qid>[0-9a-z]{21})\.[^/:]+"
                             r",S=(?P<size>\d+),W=(?P<vsize>\d+)(:2,[A-Z]*)?$")


def queue_id(line):
    m = QUEUED_RE.match(line)
    return m.group(1) if m else None


def wait_until(predicate, timeout=20, what="condition", interval=0.05):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def smtp_transaction(c, sender, rcpts, message, rcpt_params=""):
    """One MAIL/RCPT/DATA on an open RawSmtp session -> (code, last line, queue id or None)."""
    code, lines = c.cmd(f"MAIL FROM:<{sender}>")
    if code != 250:
        return code, lines[-1], None
    for r in rcpts:
        code, lines = c.cmd(f"RCPT TO:<{r}>{rcpt_params}")
        if code != 250:
            return code, lines[-1], None
    code, lines = c.cmd("DATA")
    if code != 354:
        return code, lines[-1], None
    data = message.replace("\r\n", "\n").replace("\n", "\r\n")
    if not data.endswith("\r\n"):
        data += "\r\n"
    # Dot-stuffing (RFC 5321 4.5.2).
    data = "\r\n".join("." + l if l.startswith(".") else l for l in data.split("\r\n"))
    c.send(data + ".\r\n")
    code, lines = c.reply()
    return code, lines[-1], queue_id(lines[-1]) if code == 250 else None


def send_message(port, sender, rcpts, message, helo="contoso.com", rcpt_params=""):
    c = RawSmtp(port)
    try:
        assert c.reply()[0] == 220
        c.expect(f"EHLO {helo}", 250)
        result = smtp_transaction(c, sender, rcpts, message, rcpt_params)
        c.cmd("QUIT")
        return result
    finally:
        c.close()


def maildir_messages(maildir):
    """Messages of a Maildir (its new/ and cur/), sorted by file name."""
    maildir = pathlib.Path(maildir)
    out = []
    for sub in ("new", "cur"):
        d = maildir / sub
        if d.is_dir():
            out += [(p, p.read_bytes()) for p in d.iterdir()]
    return sorted(out, key=lambda x: x[0].name)


def parse_maildir_file(data):
    return email.message_from_bytes(data, policy=email.policy.compat32)


def header_block(data):
    """The header section of a stored message (LF line ends), as text."""
    text = data.decode("utf-8", "replace")
    return text.split("\n\n", 1)[0]


def world_traversable_dir(prefix):
    """A fresh directory whose ancestors all allow traversal, so that an unprivileged user
    (Dovecot's mail processes) can reach a Maildir below it. pytest's tmp_path is 0700."""
    d = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    d.chmod(0o755)
    return d


def hand_maildir_to(user, data_dir, maildir):
    """Makes `maildir` (under data_dir) readable by `user`: the path is made traversable and the
    Maildir itself owned by the user, as a real installation would have it."""
    pw = pwd.getpwnam(user)
    data_dir = pathlib.Path(data_dir)
    maildir = pathlib.Path(maildir)
    p = maildir.parent
    while True:
        p.chmod(p.stat().st_mode | 0o011)
        if p == data_dir or p == p.parent:
            break
        p = p.parent
    for root, dirs, files in os.walk(maildir):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


class Dovecot:
    """dovecot-imapd in the foreground on 127.0.0.1:<free port>, with its own config file and
    runtime dirs; one user (any name) with a static password, whose INBOX is `maildir`."""

    MAIL_USER = "mail"

    def __init__(self, workdir, maildir, password="imap-secret"):
        if not shutil.which("dovecot"):
            raise RuntimeError("dovecot is not installed (Debian package dovecot-imapd)")
        self.dir = pathlib.Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        self.port = free_port()
        self.password = password
        home = self.dir / "home"
        home.mkdir(exist_ok=True)
        pw = pwd.getpwnam(self.MAIL_USER)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        self.log_path = self.dir / "dovecot.log"
        self.config_path = self.dir / "dovecot.conf"
        self.config_path.write_text(f"""\
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.log_path}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:{maildir}:INDEX={home}/index:CONTROL={home}/control
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={self.MAIL_USER} gid={self.MAIL_USER} home={home}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
""")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.config_path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self.proc.returncode}: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("dovecot did not start listening: " + self.log())
                time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def imap_session(dovecot, user="kate"):
    """An IMAP connection to `dovecot`, logged in as `user`; logged out and shut down however the
    test's block ends."""
    imap = imaplib.IMAP4("127.0.0.1", dovecot.port)
    try:
        assert imap.login(user, dovecot.password)[0] == "OK"
        yield imap
        imap.logout()
    finally:
        try:
            imap.shutdown()
        except OSError:
            pass


@contextlib.contextmanager
def small_tmpfs(path, size):
    """Mounts a tmpfs of `size` (e.g. "8m") at `path` for the duration; skips the test with the
    reason when mounting is not permitted (needs root / CAP_SYS_ADMIN)."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs at {path} (needs root or CAP_SYS_ADMIN): "
                    f"{(r.stderr or r.stdout).strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill_filesystem(directory, name="filler"):
    """Writes a file in `directory` until the filesystem is full (ENOSPC); returns its path."""
    path = pathlib.Path(directory) / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            block = b"\0" * chunk
            while True:
                try:
                    if os.write(fd, block) < chunk:
                        break
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return path
