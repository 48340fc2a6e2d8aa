"""Privileges: started as root, mailroom binds its listeners, then drops to [server] user for
good (setgid, initgroups, setuid; a later setuid(0) must fail), and its data dir is not
world-readable (src/server/server.cpp).

What is checked, on the running process and its files:
  * /proc/<pid>/status: every Uid and Gid (real, effective, saved, filesystem) is the user's, and
    no supplementary group is root's;
  * a listener on a privileged port (< 1024) works, so the bind happened before the drop;
  * data_dir and everything under it belong to the user; data_dir grants nothing to "other";
    the generated TLS key is 0600; queue files are not readable by others;
  * the server still takes mail after the drop (the queue is writable by the user);
  * a [server] user that does not exist stops the server with a clear error instead of running
    as root.
The drop tests need root and are skipped otherwise; the data-dir mode test runs for anyone.
"""
import os
import pathlib
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, Server
from test_hostile_support import (USER, connect, expect_queued, hostile_limits, listener,
                                  loopback_dns, new_messages, stored_messages)

# The drop tests skip unless run as root; under CI=true that skip fails (conftest).
pytestmark = pytest.mark.must_run_in_ci
needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="privilege drop needs the test to run as root "
                                       "(mailroom only drops privileges when started as root)")
DROP_USER = "nobody"


def privileged_free_port():
    for port in range(1023, 600, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    pytest.skip("no free port below 1024 on 127.0.0.1")


@pytest.fixture
def traversable_tmp():
    """A temp dir the dropped user can reach: pytest's tmp_path sits under a 0700 root-owned
    directory, which no unprivileged process may traverse."""
    d = tempfile.mkdtemp(prefix="mailroom-priv-", dir="/tmp")
    os.chmod(d, 0o711)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


def status_ids(pid):
    out = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            out[key] = [int(x) for x in value.split()]
    return out


def no_other_access(path):
    return stat.S_IMODE(os.stat(path).st_mode) & 0o007 == 0


@needs_root
def test_drops_to_the_configured_user_after_binding(traversable_tmp):
    pw = pwd.getpwnam(DROP_USER)
    port = privileged_free_port()
    (traversable_tmp / "srv").mkdir()
    srv = Server(traversable_tmp / "srv",
                 [listener(name="smtp", address=f"127.0.0.1:{port}", tls="starttls")],
                 server={"user": DROP_USER}, limits=hostile_limits(), extra={"dns": loopback_dns()})
    srv.add_user(USER, "pw")
    srv.start()
    try:
        # start() returns once the port accepts connections: the kernel does that from listen(),
        # before the drop. "event=started" is logged after it (and after the queue is up).
        deadline = time.monotonic() + 30
        while "event=started" not in srv.log_text():
            assert time.monotonic() < deadline, srv.log_text()[-2000:]
            time.sleep(0.05)
        ids = status_ids(srv.proc.pid)
        assert ids["Uid"] == [pw.pw_uid] * 4, ids
        assert ids["Gid"] == [pw.pw_gid] * 4, ids
        assert 0 not in ids["Groups"], ids
        assert "event=privileges_dropped user=nobody" in srv.log_text()

        before = stored_messages(srv)
        c = connect(srv, "smtp")
        c.starttls()  # the key was read before the drop, or is readable by the user
        c.expect("EHLO client.example.org", 250)
        expect_queued(c, [USER], "Subject: after the drop\r\n\r\nx\r\n")
        fresh = new_messages(srv, before)
        assert len(fresh) == 1

        assert no_other_access(srv.data_dir), oct(os.stat(srv.data_dir).st_mode)
        for p in [srv.data_dir, *srv.data_dir.rglob("*")]:
            st = os.lstat(p)
            assert st.st_uid == pw.pw_uid, f"{p} is owned by uid {st.st_uid}"
            assert stat.S_IMODE(st.st_mode) & 0o002 == 0, f"{p} is world-writable"
        key = srv.data_dir / "tls" / "key.pem"
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(fresh[0].path).st_mode) & 0o077 == 0, fresh[0].path
    finally:
        srv.stop()


@needs_root
def test_unknown_user_stops_the_server(traversable_tmp):
    (traversable_tmp / "srv").mkdir()
    srv = Server(traversable_tmp / "srv", [listener()], server={"user": "no-such-user-mailroom"},
                 extra={"dns": loopback_dns()})
    r = subprocess.run([BIN, "serve", "--config", str(srv.config_path)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0
    assert 'server.user: no such user "no-such-user-mailroom"' in r.stdout + r.stderr


def test_data_dir_is_not_world_readable(mailroom):
    """Whoever starts it, even under a permissive umask, the mail store grants others nothing."""
    srv = mailroom(listeners=[listener(tls="starttls")], limits=hostile_limits(),
                   extra={"dns": loopback_dns()})
    old = os.umask(0)
    try:
        srv.start()
    finally:
        os.umask(old)
    c = connect(srv)
    c.expect("QUIT", 221)
    assert no_other_access(srv.data_dir), oct(os.stat(srv.data_dir).st_mode)
    assert stat.S_IMODE(os.stat(srv.data_dir / "tls" / "key.pem").st_mode) == 0o600
