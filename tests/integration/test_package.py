"""The installed service (issue 15): `make install`, `make deb`, the systemd unit and the
maintainer scripts, each step checked on this machine (cmake/Install.cmake, packaging/,
scripts/make-deb.sh).

  * `make install DESTDIR=... PREFIX=/usr` lays out the binary, /etc/mailroom/mailroom.toml (which
    `mailroom check-config` accepts: data in /var/lib/mailroom, listeners on ports 25 and 587,
    user mailroom), the unit (ExecStart naming the installed binary, Type=notify, the sandbox)
    and the sysusers.d/tmpfiles.d entries; a second install keeps an edited config and puts the
    new one beside it. `systemd-analyze verify` accepts the unit (no systemd runs here: the file
    is verified, with its ExecStart binary).
  * `make deb` (from the already-built release binary, no recompilation), then on this machine:
    `dpkg -i` creates the mailroom system user and its dirs, the conffile, the unit;
    the installed binary with the installed config (its addresses moved to 127.0.0.1, the ports
    kept when free) runs (1) started as root: it binds port 25, drops to the mailroom user, says
    READY=1 on $NOTIFY_SOCKET and takes a message; (2) as the unit runs it: as the mailroom user
    with CAP_NET_BIND_SERVICE as its only capability (setpriv), the same; `dpkg -r` removes the
    binary and unit and keeps the edited conffile, the user and the mail; `dpkg -P` removes
    the conffile, /var/lib/mailroom, /var/log/mailroom, the user and the group.
The package steps need root (skipped otherwise; a skip under CI=true fails, conftest). They
change the machine, so they refuse to run over a mailroom package, user or /etc/mailroom they
did not make, and purge the package whatever happens. The suite takes about 13 s here (the
package steps 9 s, of which `make deb` 3-6 s: it packages the built binary, compiling nothing).
"""
import grp
import os
import pathlib
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, ROOT
from test_server_notify import NotifySocket

pytestmark = pytest.mark.must_run_in_ci
needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="dpkg -i and the privilege drop need root")

BUILD_DIR = pathlib.Path(BIN).resolve().parent  # the release build the package is made from
INSTALLED_CONFIG = ROOT / "packaging" / "mailroom.toml"
CAP_NET_BIND_SERVICE = 1 << 10


def run(*args, check=True, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kw)
    if check:
        assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def make(target, **variables):
    """`make TARGET` on the tree, reusing the build MAILROOM_BIN comes from (its parent of
    release/); a binary from elsewhere gets the same steps without make."""
    if BUILD_DIR.name == "release":
        return run("make", "-s", "-C", ROOT, target, f"BUILD={BUILD_DIR.parent}",
                   *[f"{k}={v}" for k, v in variables.items()])
    if target == "install":
        return run("cmake", "--install", BUILD_DIR, "--prefix", variables["PREFIX"],
                   env=dict(os.environ, DESTDIR=variables["DESTDIR"]))
    return run("bash", ROOT / "scripts" / "make-deb.sh", BUILD_DIR, variables["OUT"])


def unit_settings(text):
    out = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out.setdefault(k, []).append(v)
    return out


def verify_unit(path):
    """systemd-analyze verify: syntax, known keys and values, an executable ExecStart. Warnings
    (an unknown key is one) fail too."""
    r = run("systemd-analyze", "verify", "--man=no", path, check=False)
    assert r.returncode == 0 and r.stderr.strip() == "", \
        f"systemd-analyze verify {path}: exit {r.returncode}\n{r.stdout}{r.stderr}"


# --- make install -------------------------------------------------------------------------------

def test_make_install_into_destdir(tmp_path):
    dest = tmp_path / "root"
    make("install", DESTDIR=dest, PREFIX="/usr")
    binary = dest / "usr/bin/mailroom"
    assert os.access(binary, os.X_OK)
    assert binary.read_bytes() == pathlib.Path(BIN).read_bytes()
    conf = dest / "etc/mailroom/mailroom.toml"
    assert conf.read_text() == INSTALLED_CONFIG.read_text()
    assert (dest / "usr/lib/sysusers.d/mailroom.conf").read_text().count("u mailroom ") == 1
    tmpfiles = (dest / "usr/lib/tmpfiles.d/mailroom.conf").read_text()
    assert "d /var/lib/mailroom 0750 mailroom mailroom" in tmpfiles

    unit = dest / "usr/lib/systemd/system/mailroom.service"
    s = unit_settings(unit.read_text())
    assert s["ExecStart"] == ["/usr/bin/mailroom serve --config /etc/mailroom/mailroom.toml"]
    assert s["Type"] == ["notify"] and s["User"] == ["mailroom"]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert s["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert s["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    for key, value in [("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                       ("NoNewPrivileges", "yes"), ("ProtectHome", "yes")]:
        assert s[key] == [value], key
    assert s["ReadWritePaths"] == ["/var/lib/mailroom /var/log/mailroom"]
    # Verified where it would run: the same unit, its ExecStart naming the staged binary (verify
    # --root= wants a whole system in DESTDIR: sysinit.target, /bin/kill).
    staged = tmp_path / "staged" / "mailroom.service"
    staged.parent.mkdir()
    staged.write_text(unit.read_text().replace("ExecStart=/usr/bin/", f"ExecStart={dest}/usr/bin/"))
    verify_unit(staged)

    # The installed config is valid and is the service's: data in /var/lib/mailroom, ports 25
    # and 587 on every address, privileges dropped to mailroom when started as root.
    r = run(BIN, "check-config", conf)
    assert 'data_dir = "/var/lib/mailroom"' in r.stdout
    assert re.findall(r'^address = "(.+)"$', r.stdout, re.M) == ["*:25", "*:587"]  # [metrics] address is ""
    assert 'user = "mailroom"' in r.stdout

    # Installing again keeps the admin's edits.
    conf.write_text(conf.read_text() + "# edited\n")
    make("install", DESTDIR=dest, PREFIX="/usr")
    assert conf.read_text().endswith("# edited\n")
    assert (conf.parent / "mailroom.toml.new").read_text() == INSTALLED_CONFIG.read_text()


def test_make_install_names_the_prefix_in_the_unit(tmp_path):
    make("install", DESTDIR=tmp_path, PREFIX="/opt/mr")
    unit = (tmp_path / "opt/mr/lib/systemd/system/mailroom.service").read_text()
    assert "ExecStart=/opt/mr/bin/mailroom serve --config /etc/mailroom/mailroom.toml" in unit
    assert (tmp_path / "etc/mailroom/mailroom.toml").exists()  # the binary looks in /etc


# --- make deb, dpkg -i / -r / -P ----------------------------------------------------------------

def package_status():
    r = run("dpkg-query", "-W", "-f=${Status}", "mailroom", check=False)
    return r.stdout.strip() if r.returncode == 0 else ""


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def privileged_port(preferred, taken):
    """`preferred` (25, 587) when free on 127.0.0.1, else another port below 1024: the point is
    binding a privileged port without being root."""
    for port in [preferred] + list(range(1023, 600, -1)):
        if port not in taken and port_free(port):
            return port
    pytest.skip("no free port below 1024 on 127.0.0.1")


@pytest.fixture
def machine():
    """A machine without mailroom installed, left that way: purges the package afterwards,
    whatever the test did, and stops any server it started."""
    if package_status():
        run("dpkg", "--purge", "mailroom")  # what an earlier, interrupted run left
    for what, present in [("a mailroom user", user_exists("mailroom")),
                          ("a mailroom group", group_exists("mailroom")),
                          ("/etc/mailroom", os.path.exists("/etc/mailroom")),
                          ("/var/lib/mailroom", os.path.exists("/var/lib/mailroom"))]:
        if present:
            pytest.skip(f"{what} exists that the mailroom package did not make: not touching it")
    procs = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    if package_status():
        run("dpkg", "--purge", "mailroom", check=False)


@pytest.fixture
def shared_tmp():
    """A temp dir the mailroom user can reach (the config, the notify socket): pytest's tmp_path
    sits under a 0700 directory of root's."""
    d = tempfile.mkdtemp(prefix="mailroom-package-", dir="/tmp")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


def loopback_config(tmp, ports):
    """The installed config with its listeners on 127.0.0.1 (tests listen on loopback only)."""
    text = pathlib.Path("/etc/mailroom/mailroom.toml").read_text()
    assert 'address = "*:25"' in text and 'address = "*:587"' in text
    text = text.replace('address = "*:25"', f'address = "127.0.0.1:{ports[0]}"')
    text = text.replace('address = "*:587"', f'address = "127.0.0.1:{ports[1]}"')
    path = tmp / "mailroom.toml"
    path.write_text(text)
    path.chmod(0o644)
    return path


def proc_status(pid):
    out = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


def postmaster_mail():
    new = pathlib.Path("/var/lib/mailroom/mailboxes/example.test/postmaster/new")
    return sorted(new.iterdir()) if new.exists() else []


def serve_and_send(cmd, config, ports, tmp, subject):
    """Starts the installed server as `cmd` says, waits for READY=1 on a notify socket, sends one
    message to postmaster@example.test with smtplib, stops it with SIGTERM (STOPPING=1, exit 0).
    Returns the /proc status of the running server."""
    notify = NotifySocket(tmp / f"notify-{subject}.sock")
    log = open(tmp / f"server-{subject}.log", "wb")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET": notify.path}
    proc = subprocess.Popen(cmd + ["/usr/bin/mailroom", "serve", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd="/")
    try:
        try:
            notify.wait_for("READY=1")
        except AssertionError:
            raise AssertionError((tmp / f"server-{subject}.log").read_text())
        status = proc_status(proc.pid)
        before = set(postmaster_mail())
        with smtplib.SMTP("127.0.0.1", ports[0], timeout=30) as smtp:
            refused = smtp.sendmail("chris@client.example.org", ["postmaster@example.test"],
                                    f"Subject: {subject}\r\n\r\ninstalled service\r\n")
            assert refused == {}
        deadline = time.monotonic() + 30
        while set(postmaster_mail()) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        # By set, not by the last name: Maildir names do not sort by time within a second.
        arrived = set(postmaster_mail()) - before
        assert len(arrived) == 1, f"the message was not delivered once: {arrived}"
        assert f"Subject: {subject}" in arrived.pop().read_text()
        proc.send_signal(signal.SIGTERM)
        notify.wait_for("STOPPING=1")
        assert proc.wait(timeout=60) == 0, (tmp / f"server-{subject}.log").read_text()
        return status
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        notify.close()


@needs_root
def test_deb_installs_runs_removes_and_purges(tmp_path, shared_tmp, machine):
    started = time.monotonic()
    out = tmp_path / "deb"
    built = make("deb", OUT=out) if BUILD_DIR.name != "release" else make("deb")
    deb = pathlib.Path(built.stdout.strip().splitlines()[-1])
    assert deb.exists() and deb.suffix == ".deb", built.stdout
    info = run("dpkg-deb", "--field", deb, "Depends").stdout
    for lib in ("libc6", "libssl3", "libsystemd0", "libsqlite3-0", "adduser"):
        assert lib in info, info
    conffiles = run("dpkg-deb", "--info", deb, "conffiles").stdout.split()
    assert conffiles == ["/etc/mailroom/mailroom.toml"]

    # dpkg -i: the user, the dirs, the conffile, the unit.
    run("dpkg", "-i", deb)
    assert package_status() == "install ok installed"
    pw = pwd.getpwnam("mailroom")
    assert pw.pw_uid < 1000 and pw.pw_dir == "/var/lib/mailroom"
    assert pw.pw_shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")
    assert grp.getgrgid(pw.pw_gid).gr_name == "mailroom"
    for d in ("/var/lib/mailroom", "/var/log/mailroom"):
        st = os.stat(d)
        assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid), d
        assert st.st_mode & 0o007 == 0, d  # other people's mail: nothing for "other"
    assert pathlib.Path("/etc/mailroom/mailroom.toml").read_text() == INSTALLED_CONFIG.read_text()
    unit = pathlib.Path("/usr/lib/systemd/system/mailroom.service")
    assert "ExecStart=/usr/bin/mailroom serve --config /etc/mailroom/mailroom.toml" in \
        unit.read_text()
    verify_unit(unit)
    run("/usr/bin/mailroom", "check-config", "/etc/mailroom/mailroom.toml")

    taken = set()
    ports = [privileged_port(25, taken)]
    ports.append(privileged_port(587, set(ports)))
    config = loopback_config(shared_tmp, ports)

    # (1) Started as root: binds, then drops to the mailroom user ([server] user) for good.
    status = serve_and_send([], config, ports, shared_tmp, "as-root")
    for key in ("Uid", "Gid"):
        assert status[key] == [str(pw.pw_uid if key == "Uid" else pw.pw_gid)] * 4, status[key]

    # (2) As the unit runs it: the mailroom user with CAP_NET_BIND_SERVICE and nothing else.
    setpriv = ["setpriv", "--reuid=mailroom", "--regid=mailroom", "--init-groups",
               "--inh-caps=-all,+net_bind_service", "--ambient-caps=-all,+net_bind_service",
               "--bounding-set=-all,+net_bind_service", "--no-new-privs"]
    status = serve_and_send(setpriv, config, ports, shared_tmp, "as-unit")
    assert status["Uid"] == [str(pw.pw_uid)] * 4
    assert int(status["CapEff"][0], 16) == CAP_NET_BIND_SERVICE
    assert int(status["CapBnd"][0], 16) == CAP_NET_BIND_SERVICE
    assert status["NoNewPrivs"] == ["1"]
    mail = postmaster_mail()
    assert len(mail) == 2 and all(os.stat(m).st_uid == pw.pw_uid for m in mail)

    # dpkg -r: program and unit go; the edited conffile, the user and the mail stay.
    conf = pathlib.Path("/etc/mailroom/mailroom.toml")
    conf.write_text(conf.read_text() + "# edited by the admin\n")
    run("dpkg", "-r", "mailroom")
    assert package_status() == "deinstall ok config-files"
    assert not os.path.exists("/usr/bin/mailroom") and not unit.exists()
    assert conf.read_text().endswith("# edited by the admin\n")
    assert user_exists("mailroom") and len(postmaster_mail()) == 2

    # dpkg -P: everything goes.
    run("dpkg", "-P", "mailroom")
    assert package_status() == ""
    for path in ("/etc/mailroom", "/var/lib/mailroom", "/var/log/mailroom"):
        assert not os.path.exists(path), path
    assert not user_exists("mailroom") and not group_exists("mailroom")
    print(f"package test took {time.monotonic() - started:.1f} s")


@needs_root
def test_installed_sysusers_and_tmpfiles_entries_make_the_user_and_dirs(tmp_path):
    """What `make install` runs on a real install, applied to a copy of this machine's user
    database (systemd-sysusers/-tmpfiles --root): the user, then its 0750 dirs."""
    dest = tmp_path / "dest"
    make("install", DESTDIR=dest, PREFIX="/usr")
    sysroot = tmp_path / "sysroot"
    (sysroot / "etc").mkdir(parents=True)
    for f in ("passwd", "group", "shadow", "gshadow"):
        if os.path.exists(f"/etc/{f}"):
            shutil.copy(f"/etc/{f}", sysroot / "etc" / f)
    run("systemd-sysusers", f"--root={sysroot}", dest / "usr/lib/sysusers.d/mailroom.conf")
    entry = [l for l in (sysroot / "etc/passwd").read_text().splitlines()
             if l.startswith("mailroom:")]
    assert len(entry) == 1, (sysroot / "etc/passwd").read_text()
    _, _, uid, gid, _, home, shell = entry[0].split(":")
    assert int(uid) < 1000 and home == "/var/lib/mailroom" and shell.endswith("nologin")
    run("systemd-tmpfiles", f"--root={sysroot}", "--create",
        dest / "usr/lib/tmpfiles.d/mailroom.conf")
    for d in ("var/lib/mailroom", "var/log/mailroom"):
        st = os.stat(sysroot / d)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (int(uid), int(gid), 0o750), d
