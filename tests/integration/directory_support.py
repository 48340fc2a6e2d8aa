"""Helpers for the directory suites (test_directory_*.py): running `mailroom user|alias|domain`,
snapshotting the SQLite directory to prove a rejected change left it unchanged, a private
PostgreSQL server on loopback, and the server scenarios both backends run.

The scenarios (check_*) take a started-or-not Server from conftest and a `raw` client factory,
so test_directory_server.py (SQLite) and test_directory_postgresql.py run the same assertions.
"""
import base64
import os
import pathlib
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, free_port

# Seed 003's AUTH LOGIN dialogue, verbatim: "logon" / "My simple password".
SEED_USER_B64 = "bG9nb24="
SEED_PASSWORD_B64 = "TXkgc2ltcGxlIHBhc3N3b3Jk"
SEED_USER = base64.b64decode(SEED_USER_B64).decode()
SEED_PASSWORD = base64.b64decode(SEED_PASSWORD_B64).decode()

# A listener that, like the seed's Exchange server, takes AUTH LOGIN before STARTTLS.
PLAINTEXT_AUTH_LISTENER = {"name": "inbound", "tls": "starttls", "auth": "optional",
                           "relay": "authenticated", "allow_plaintext_auth": True}
# A submission listener that only offers AUTH after STARTTLS.
TLS_AUTH_LISTENER = {"name": "submission", "tls": "starttls", "auth": "required",
                     "relay": "authenticated"}


# --- the admin CLI -------------------------------------------------------------------------------

def cli(config_path, *args, input=None):
    """Runs `mailroom ARGS --config FILE` and returns the CompletedProcess (never raises)."""
    return subprocess.run([BIN, *args, "--config", str(config_path)], input=input,
                          capture_output=True, text=True, timeout=60)


def assert_one_error_line(result, code, *fragments):
    """A rejected command: exit `code`, nothing on stdout, exactly one "mailroom: ..." line on
    stderr containing every fragment."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mailroom: "), lines[0]
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def assert_silent_success(result):
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stdout == "" and result.stderr == "", (result.stdout, result.stderr)


def sqlite_dump(db_path):
    """Every row of the directory database, in a stable order (SQL text of iterdump)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return sorted(conn.iterdump())
    finally:
        conn.close()


def sqlite_execute(db_path, *statements):
    """Changes the database behind mailroom's back (as another tool would) and bumps the change
    counter so a running server reloads."""
    conn = sqlite3.connect(str(db_path))
    try:
        for s in statements:
            conn.execute(s)
        conn.execute("UPDATE mailroom_meta SET value = value + 1 WHERE name = 'change_counter'")
        conn.commit()
    finally:
        conn.close()


# --- SMTP helpers --------------------------------------------------------------------------------

def wait_until(predicate, timeout=15, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def rcpt_reply(raw, port, rcpt):
    """One fresh session up to RCPT TO; returns the RCPT reply's last line."""
    c = raw(port)
    c.reply()
    c.expect("EHLO client.example.net", 250)
    c.expect("MAIL FROM:<sender@example.net>", 250)
    _, lines = c.cmd(f"RCPT TO:<{rcpt}>")
    c.cmd("QUIT")
    c.close()
    return lines[-1]


def send_message(raw, port, rcpt, subject):
    c = raw(port)
    c.reply()
    c.expect("EHLO client.example.net", 250)
    c.expect("MAIL FROM:<sender@example.net>", 250, "2.1.0 Sender OK")
    c.expect(f"RCPT TO:<{rcpt}>", 250, "2.1.5 Recipient OK")
    c.expect("DATA", 354)
    c.send(f"From: sender@example.net\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n")
    c.expect(".", 250)
    c.expect("QUIT", 221)
    c.close()


def subjects_in(srv, address, count):
    files = srv.wait_for_mail(address, count=count)
    out = []
    for f in files:
        for line in f.read_text(errors="replace").splitlines():
            if line.startswith("Subject: "):
                out.append(line[len("Subject: "):])
                break
    return sorted(out)


def run_serve_expect_failure(config_path, timeout=60):
    """`mailroom serve` that must refuse to start: returns (returncode, combined output)."""
    r = subprocess.run([BIN, "serve", "--config", str(config_path)], capture_output=True,
                       text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def assert_not_listening(port):
    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex(("127.0.0.1", port)) != 0, f"something listens on {port}"


# --- a private PostgreSQL ------------------------------------------------------------------------

PG_BIN = pathlib.Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    """PostgreSQL 15 with its own data directory under /tmp (not pytest's tmp_path: its parents
    are root-only, and initdb refuses to run as root, so the server runs as `postgres`), its own
    unix socket directory, listening on 127.0.0.1 and a free port, trust authentication."""

    def __init__(self):
        self.root = None
        self.port = None
        self.databases = 0

    @staticmethod
    def missing():
        """Why the test cannot run here, or None."""
        for tool in ("initdb", "pg_ctl", "psql"):
            if not (PG_BIN / tool).exists():
                return f"PostgreSQL 15 binaries not found ({PG_BIN / tool}): install Debian package postgresql-15"
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                return "runuser not found (util-linux): cannot run initdb as postgres"
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "user postgres does not exist"
        return None

    def _as_postgres(self, argv):
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def start(self):
        try:
            return self._start()
        except BaseException:
            self.stop()  # no half-started server or data directory left behind
            raise

    def _start(self):
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="mailroom-pg-", dir="/tmp"))
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root, 0o700)
        data = self.root / "data"
        r = subprocess.run(self._as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust",
                                              "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("initdb failed:\n" + r.stdout + r.stderr)
        self.port = free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        r = subprocess.run(self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l",
                                              str(self.root / "server.log"), "-w", "-t", "60",
                                              "-o", options, "start"]),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() else ""
            raise RuntimeError("pg_ctl start failed:\n" + r.stdout + r.stderr + log)
        return self

    def stop(self):
        if self.root is None:
            return
        subprocess.run(self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"),
                                          "-m", "immediate", "-w", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def psql(self, database, sql):
        r = subprocess.run([str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.root),
                            "-p", str(self.port), "-U", "postgres", "-d", database, "-At", "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {r.stderr}")
        return r.stdout

    def new_database(self):
        """A fresh, empty database for one test; returns its URL."""
        self.databases += 1
        name = f"mailroom_t{self.databases}"
        self.psql("postgres", f"CREATE DATABASE {name}")
        return self.url(name), name

    def url(self, database):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="module")
def private_postgres():
    why = PrivatePostgres.missing()
    if why:
        pytest.skip(why)
    pg = PrivatePostgres().start()
    yield pg
    pg.stop()


# --- server scenarios, run against each backend ------------------------------------------------

def check_seed_003_auth_login(srv, raw):
    """`mailroom user add`, then seed 003's AUTH LOGIN dialogue verbatim: 235 with the right
    password, 535 5.7.8 with a wrong one; the same over STARTTLS on a submission listener."""
    srv.add_user(f"{SEED_USER}@example.test", SEED_PASSWORD)
    srv.start()

    c = raw(srv.port("inbound"))
    assert c.reply()[0] == 220
    lines = c.expect("EHLO mail.alternatecontoso.com", 250)
    assert any(l[4:].startswith("AUTH") and "LOGIN" in l.split() for l in lines), lines
    c.expect("AUTH LOGIN", 334, "VXNlcm5hbWU6")
    c.expect(SEED_USER_B64, 334, "UGFzc3dvcmQ6")
    c.expect(SEED_PASSWORD_B64, 235, "2.7.0 Authentication succeeded")
    c.expect("QUIT", 221)

    c = raw(srv.port("inbound"))
    c.reply()
    c.expect("EHLO mail.alternatecontoso.com", 250)
    c.expect("AUTH LOGIN", 334, "VXNlcm5hbWU6")
    c.expect(SEED_USER_B64, 334, "UGFzc3dvcmQ6")
    wrong = "My simple passwort"
    c.expect(base64.b64encode(wrong.encode()).decode(), 535, "5.7.8 Authentication unsuccessful")
    c.expect("QUIT", 221)

    c = raw(srv.port("submission"))
    c.reply()
    c.expect("EHLO mail.alternatecontoso.com", 250)
    c.starttls()
    c.expect("EHLO mail.alternatecontoso.com", 250)
    c.expect("AUTH LOGIN", 334, "VXNlcm5hbWU6")
    c.expect(base64.b64encode(f"{SEED_USER}@example.test".encode()).decode(), 334, "UGFzc3dvcmQ6")
    c.expect(SEED_PASSWORD_B64, 235, "2.7.0 Authentication succeeded")
    c.expect("QUIT", 221)

    # The failure is logged with the user name and client IP; no password, not even in base64.
    log = wait_until(lambda: "event=auth_failed" in srv.log_text() and srv.log_text())
    failed = [l for l in log.splitlines() if "event=auth_failed" in l]
    assert len(failed) == 1, failed
    assert f'user="{SEED_USER}"' in failed[0] and "client=127.0.0.1" in failed[0], failed[0]
    for secret in (SEED_PASSWORD, SEED_PASSWORD_B64, wrong, base64.b64encode(wrong.encode()).decode()):
        assert secret not in log, secret


def check_alias_catchall_plus_postmaster(srv, raw, add_loop=None):
    """RCPT to an alias, a catch-all, a plus-address and an uncreated postmaster: accepted, and
    each message lands in the right Maildir (data_dir/mailboxes/<domain>/<user>/new)."""
    for user in ("kate", "chris", "ops"):
        srv.add_user(f"{user}@example.test", f"{user}-password")
    srv.cli("alias", "add", "sales@example.test", "kate@example.test", "chris@example.test")
    srv.cli("alias", "add", "@example.test", "ops@example.test")
    srv.start()
    port = srv.port()
    send_message(raw, port, "sales@example.test", "to-sales")
    send_message(raw, port, "kate+invoices@example.test", "to-kate-plus")
    send_message(raw, port, "Nobody.Here@Example.Test", "to-catchall")
    send_message(raw, port, "postmaster@example.test", "to-postmaster")
    assert subjects_in(srv, "kate@example.test", 2) == ["to-kate-plus", "to-sales"]
    assert subjects_in(srv, "chris@example.test", 1) == ["to-sales"]
    # The catch-all is the administrator's rule for postmaster@ too, never the first user.
    assert subjects_in(srv, "ops@example.test", 2) == ["to-catchall", "to-postmaster"]
    mailboxes = srv.data_dir / "mailboxes" / "example.test"
    assert sorted(p.name for p in mailboxes.iterdir()) == ["chris", "kate", "ops"]
    # Nothing strays into a folder named after the alias, the tag or the unknown user.
    for name in ("sales", "kate+invoices", "nobody.here", "postmaster"):
        assert not (mailboxes / name).exists(), name
    time.sleep(0.3)  # late duplicates would show up here
    assert len(list(srv.maildir("kate@example.test").iterdir())) == 2
    assert len(list(srv.maildir("chris@example.test").iterdir())) == 1


def check_deleted_user_gets_550_without_restart(srv, raw):
    srv.add_user("kate@example.test", "kate-password")
    srv.add_user("gone@example.test", "gone-password")
    srv.start()
    port = srv.port()
    assert rcpt_reply(raw, port, "gone@example.test") == "250 2.1.5 Recipient OK"
    srv.cli("user", "del", "gone@example.test")
    last = wait_until(lambda: (r := rcpt_reply(raw, port, "gone@example.test")).startswith("550") and r,
                      interval=0.1)
    assert last == "550 5.1.1 User unknown", last
    assert rcpt_reply(raw, port, "kate@example.test") == "250 2.1.5 Recipient OK"
    assert srv.proc.poll() is None


def check_domain_added_by_cli_is_accepted(srv, raw):
    srv.add_user("kate@example.test", "kate-password")
    srv.start()
    port = srv.port()
    assert rcpt_reply(raw, port, "ann@example.org") == "550 5.7.1 Unable to relay"
    srv.cli("domain", "add", "example.org")
    srv.add_user("ann@example.org", "ann-password")
    accepted = wait_until(lambda: rcpt_reply(raw, port, "ann@example.org") == "250 2.1.5 Recipient OK",
                          interval=0.1)
    assert accepted, srv.log_text()[-2000:]
    assert rcpt_reply(raw, port, "nobody@example.org") == "550 5.1.1 User unknown"
    send_message(raw, port, "ann@example.org", "to-ann")
    assert subjects_in(srv, "ann@example.org", 1) == ["to-ann"]
    # postmaster@ resolves in the new domain too, as the first domain's postmaster: the
    # dedicated postmaster mailbox, not the first user created.
    send_message(raw, port, "postmaster@example.org", "to-org-postmaster")
    assert subjects_in(srv, "postmaster@example.test", 1) == ["to-org-postmaster"]
    assert not srv.maildir("kate@example.test").exists()
    assert srv.proc.poll() is None
