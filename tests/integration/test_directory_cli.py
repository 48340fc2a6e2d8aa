"""`mailroom user|alias|domain` as an administrator types them: Postfix-style terse output (silent
on success, one entry per line), exit 0 done / 1 not found or database failure / 2 bad input, one
"mailroom: ..." line on stderr for every refusal, and a database whose rows are exactly as they
were after every refused change. Passwords typed at a terminal are asked twice and never echoed.
"""
import os
import pty
import select
import shutil
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, DEFAULT_LISTENER, Server
from directory_support import assert_one_error_line, assert_silent_success, cli, sqlite_dump

LIMITS = {"directory": {"backend": "sqlite", "max_alias_depth": 2, "max_alias_fanout": 3}}
KATE_PASSWORD = "kate's first password"


@pytest.fixture
def admin(mailroom):
    """A config (server not started) with local domain example.test and small alias limits."""
    srv = mailroom(extra=LIMITS)
    srv.db = srv.data_dir / "directory.db"
    srv.run = lambda *args, input=None: cli(srv.config_path, *args, input=input)
    return srv


POPULATE = [
    (("user", "add", "kate@example.test"), KATE_PASSWORD),
    (("user", "add", "chris@example.test"), "chris-pw"),
    (("domain", "add", "example.org"), None),
    (("user", "add", "ann@example.org"), "ann-pw"),
    (("alias", "add", "a@example.test", "kate@example.test"), None),
    (("alias", "add", "b@example.test", "a@example.test"), None),
    (("alias", "add", "sales@example.test", "kate@example.test", "chris@example.test"), None),
]


@pytest.fixture(scope="module")
def populated_template(tmp_path_factory):
    """Built once through the CLI (argon2id is slow on purpose), copied into each test."""
    srv = Server(tmp_path_factory.mktemp("directory-template"), [dict(DEFAULT_LISTENER)], extra=LIMITS)
    for args, password in POPULATE:
        if password is not None:
            args = (*args, "--password-stdin")
        assert_silent_success(cli(srv.config_path, *args, input=None if password is None else password + "\n"))
    return srv.data_dir


@pytest.fixture
def populated(admin, populated_template):
    """kate and chris; a→kate, b→a (nesting depth 2, the limit), sales→kate+chris; example.org
    added with ann in it."""
    admin.data_dir.mkdir(parents=True, exist_ok=True)
    for f in populated_template.glob("directory.db*"):
        shutil.copy2(f, admin.data_dir / f.name)
    return admin


# --- what works, and how little it says -----------------------------------------------------------

def test_user_add_list_passwd_del(admin):
    assert_silent_success(admin.run("user", "add", "kate@example.test", "--password-stdin",
                                    input=KATE_PASSWORD + "\n"))
    assert_silent_success(admin.run("user", "add", "Chris@Example.TEST.", "--password-stdin",
                                    input="chris-pw\r\n"))
    r = admin.run("user", "list")
    assert (r.returncode, r.stdout, r.stderr) == (0, "kate@example.test\nchris@example.test\n", "")

    def hash_of(address):
        with sqlite3.connect(admin.db) as conn:
            return conn.execute("SELECT password_hash FROM mailroom_users WHERE address = ?",
                                (address,)).fetchone()[0]
    before = hash_of("kate@example.test")
    assert before.startswith("$argon2id$")
    assert_silent_success(admin.run("user", "passwd", "KATE@example.test", "--password-stdin",
                                    input="a new password\n"))
    after = hash_of("kate@example.test")
    assert after.startswith("$argon2id$") and after != before

    assert_silent_success(admin.run("user", "del", "kate@EXAMPLE.test"))
    assert admin.run("user", "list").stdout == "chris@example.test\n"
    # Passwords are never stored, only argon2id hashes (the file and its WAL).
    for f in admin.data_dir.glob("directory.db*"):
        data = f.read_bytes()
        for secret in (KATE_PASSWORD, "chris-pw", "a new password"):
            assert secret.encode() not in data, (f, secret)
    assert oct(admin.db.stat().st_mode & 0o777) == "0o600"


def test_alias_add_list_del(populated):
    run = populated.run
    assert_silent_success(run("alias", "add", "@example.test", "chris@example.test"))
    assert_silent_success(run("alias", "add", "fwd@example.test", "Someone@Remote.Test"))
    r = run("alias", "list")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == ("a@example.test kate@example.test\n"
                        "b@example.test a@example.test\n"
                        "sales@example.test kate@example.test, chris@example.test\n"
                        "@example.test chris@example.test\n"
                        "fwd@example.test Someone@remote.test\n"
                        "# postmaster@example.test -> chris@example.test (catch-all @example.test)\n"
                        "# postmaster@example.org -> chris@example.test (default: as postmaster@example.test)\n")
    assert_silent_success(run("alias", "del", "sales@example.test", "KATE@example.test"))
    assert_silent_success(run("alias", "del", "@example.test"))
    assert_silent_success(run("alias", "del", "fwd@example.test"))
    aliases = [l for l in run("alias", "list").stdout.splitlines() if not l.startswith("#")]
    assert aliases == ["a@example.test kate@example.test", "b@example.test a@example.test",
                       "sales@example.test chris@example.test"]


def test_domain_add_list_del(admin):
    assert admin.run("domain", "list").stdout == "example.test\n"
    assert_silent_success(admin.run("domain", "add", "Example.ORG."))
    assert_silent_success(admin.run("domain", "add", "example.net"))
    r = admin.run("domain", "list")
    assert (r.returncode, r.stdout, r.stderr) == (0, "example.test\nexample.org\nexample.net\n", "")
    assert_silent_success(admin.run("domain", "del", "example.org"))
    assert admin.run("domain", "list").stdout == "example.test\nexample.net\n"


def test_empty_lists_print_nothing_but_where_postmaster_goes(admin):
    assert_silent_success(admin.run("user", "add", "gone@example.test", "--password-stdin", input="pw\n"))
    assert_silent_success(admin.run("user", "del", "gone@example.test"))
    r = admin.run("user", "list")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = admin.run("alias", "list")
    assert (r.returncode, r.stderr) == (0, "")
    assert all(l.startswith("# ") for l in r.stdout.splitlines())
    assert r.stdout.startswith("# postmaster@example.test -> postmaster@example.test (default)\n")


def test_embedded_default_data_dir_without_config(tmp_path):
    """Without any config file the embedded defaults apply, data in ./mailroom-data, and every
    command says so on stderr (issue 11: it used to be silent)."""
    env = dict(os.environ)
    env.pop("MAILROOM_CONFIG", None)
    notice = ("mailroom: no config file (no -c/--config, $MAILROOM_CONFIG or "
              f"/etc/mailroom/mailroom.toml): using the embedded defaults, data dir {tmp_path}/mailroom-data\n")
    r = subprocess.run([BIN, "user", "add", "kate@example.test", "--password-stdin"], input="pw\n",
                       cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", notice)
    assert (tmp_path / "mailroom-data" / "directory.db").is_file()
    r = subprocess.run([BIN, "user", "list"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60, env=env)
    assert (r.stdout, r.stderr) == ("kate@example.test\n", notice)


# --- bad input: exit 2, one line, nothing changed -----------------------------------------------

BAD_INPUT = [
    # (argv, stdin, fragments of the one error line)
    (("user", "add", "kate@@example.test", "--password-stdin"), "pw\n", ['invalid address "kate@@example.test"']),
    (("user", "add", "kate example@example.test", "--password-stdin"), "pw\n", ["invalid address"]),
    (("user", "add", "a%b@example.test", "--password-stdin"), "pw\n", ["invalid address"]),
    (("user", "add", "no-domain", "--password-stdin"), "pw\n", ["invalid address"]),
    (("user", "add", "kate@example.test", "--password-stdin"), "pw\n", ["kate@example.test already exists"]),
    (("user", "add", "KATE@Example.Test", "--password-stdin"), "pw\n", ["kate@example.test already exists"]),
    (("user", "add", "ann@unknown.test", "--password-stdin"), "pw\n", ["unknown domain unknown.test"]),
    (("user", "add", "dan@example.test", "--password-stdin"), "\n", ["empty password"]),
    (("user", "add", "dan@example.test", "--password-stdin"), "", ["empty password"]),
    (("user", "add", "sales@example.test", "--password-stdin"), "pw\n", ["sales@example.test is an alias"]),
    (("user", "passwd", "kate@example.test", "--password-stdin"), "\n", ["empty password"]),
    (("user", "del", "not an address"), None, ["invalid address"]),
    (("alias", "add", "a@example.test", "b@example.test"), None, ["alias loop", "a@example.test", "b@example.test"]),
    (("alias", "add", "c@example.test", "b@example.test"), None, ["alias nesting deeper than 2"]),
    (("alias", "add", "big@example.test", "x1@remote.test", "x2@remote.test", "x3@remote.test",
      "x4@remote.test"), None, ["more than 3 addresses"]),
    (("alias", "add", "sales@example.test", "x1@remote.test", "x2@remote.test"), None, ["more than 3 addresses"]),
    (("alias", "add", "@example.test", "@example.test"), None, ["invalid target"]),
    (("alias", "add", "list@unknown.test", "kate@example.test"), None, ["unknown domain unknown.test"]),
    (("alias", "add", "list@example.test", "nobody@example.test"), None, ["nobody@example.test: no such user or alias"]),
    (("alias", "add", "kate@example.test", "chris@example.test"), None, ["kate@example.test is a mailbox"]),
    (("alias", "add", "bad alias@example.test", "kate@example.test"), None, ["invalid alias"]),
    (("alias", "add", "list@example.test", "not-an-address"), None, ['invalid target address "not-an-address"']),
    (("alias", "add", "sales@example.test", "kate@example.test"), None, ["sales@example.test -> kate@example.test already exists"]),
    (("domain", "add", "bad_domain"), None, ['invalid domain "bad_domain"']),
    (("domain", "add", "EXAMPLE.test"), None, ["example.test is already a local domain"]),
    (("domain", "add", "example.org"), None, ["example.org is already a local domain"]),
    (("domain", "del", "example.test"), None, ["configuration file"]),
    (("domain", "del", "example.org"), None, ["example.org is still used by 1 mailbox(es)"]),
]


@pytest.mark.parametrize("argv,stdin,fragments", BAD_INPUT, ids=[" ".join(c[0][:3]) + f" #{i}" for i, c in enumerate(BAD_INPUT)])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(populated, argv, stdin, fragments):
    before = sqlite_dump(populated.db)
    line = assert_one_error_line(populated.run(*argv, input=stdin), 2, *fragments)
    assert sqlite_dump(populated.db) == before
    if stdin and stdin.strip():
        assert stdin.strip() not in line.replace(argv[2], "")


NOT_FOUND = [
    (("user", "del", "nobody@example.test"), None, ["nobody@example.test: no such user"]),
    (("user", "passwd", "nobody@example.test", "--password-stdin"), "pw\n", ["nobody@example.test: no such user"]),
    (("alias", "del", "nolist@example.test"), None, ["nolist@example.test: no such alias"]),
    (("alias", "del", "sales@example.test", "ann@example.org"), None, ["no such alias target"]),
    (("domain", "del", "never.test"), None, ["never.test: no such domain"]),
]


@pytest.mark.parametrize("argv,stdin,fragments", NOT_FOUND, ids=[" ".join(c[0][:3]) for c in NOT_FOUND])
def test_not_found_exits_1_with_one_line_and_changes_nothing(populated, argv, stdin, fragments):
    before = sqlite_dump(populated.db)
    assert_one_error_line(populated.run(*argv, input=stdin), 1, *fragments)
    assert sqlite_dump(populated.db) == before


@pytest.mark.parametrize("argv", [("user",), ("user", "add"), ("alias", "add", "sales@example.test"),
                                  ("domain", "frobnicate"), ("user", "list", "extra-arg")])
def test_usage_errors_exit_2_and_change_nothing(populated, argv):
    before = sqlite_dump(populated.db)
    r = populated.run(*argv)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stdout == "" and r.stderr.strip(), (r.stdout, r.stderr)
    assert sqlite_dump(populated.db) == before


def test_bad_config_exits_2(admin, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[directory]\nbackend = "ldap"\n')
    assert_one_error_line(cli(bad, "user", "list"), 2, "backend")


# --- a database that cannot be used -------------------------------------------------------------

def test_corrupt_database_is_one_line_exit_1_and_left_alone(populated):
    with open(populated.db, "r+b") as f:
        f.write(b"\x5a" * 4096)
    for leftover in ("directory.db-wal", "directory.db-shm"):
        (populated.data_dir / leftover).unlink(missing_ok=True)
    damaged = populated.db.read_bytes()
    for argv, stdin in ((("user", "list"), None),
                        (("user", "add", "dan@example.test", "--password-stdin"), "pw\n")):
        line = assert_one_error_line(populated.run(*argv, input=stdin), 1, str(populated.db), "not a database")
        assert "pw" not in line.replace(str(populated.db), "")
    assert populated.db.read_bytes() == damaged  # never "repaired" into an empty directory


def test_locked_database_is_one_line_exit_1(populated):
    holder = sqlite3.connect(str(populated.db), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
        holder.execute("INSERT INTO mailroom_domains (name) VALUES ('uncommitted.test')")
        r = populated.run("domain", "add", "example.net")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_one_error_line(r, 1, str(populated.db), "locked")
    assert populated.run("domain", "list").stdout == "example.test\nexample.org\n"


# --- passwords typed at a terminal --------------------------------------------------------------

def run_on_terminal(argv, answers, timeout=30):
    """Runs mailroom on a pseudo-terminal, answering each prompt in turn once it is shown.
    Returns (exit code, everything the terminal displayed)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(BIN, [BIN, *argv])
        finally:
            os._exit(127)
    shown = b""
    deadline = time.time() + timeout
    pending = list(answers)
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if pending and shown.rstrip().endswith(pending[0][0].encode()):
                os.write(fd, pending.pop(0)[1].encode() + b"\n")
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_terminal_password_is_asked_twice_and_never_echoed(admin):
    secret = "typed-at-a-terminal-7"
    code, shown = run_on_terminal(["user", "add", "kate@example.test", "--config", str(admin.config_path)],
                                  [("Password:", secret), ("Retype password:", secret)])
    assert code == 0, shown
    assert "Password:" in shown and "Retype password:" in shown, shown
    assert secret not in shown, shown
    assert admin.run("user", "list").stdout == "kate@example.test\n"


def test_terminal_passwords_that_differ_change_nothing(populated):
    before = sqlite_dump(populated.db)
    code, shown = run_on_terminal(["user", "add", "dan@example.test", "--config", str(populated.config_path)],
                                  [("Password:", "first-try-1"), ("Retype password:", "first-try-2")])
    assert code == 2, shown
    assert "mailroom: passwords do not match" in shown and "first-try" not in shown, shown
    assert sqlite_dump(populated.db) == before


# --- which configuration and data dir (issue 11, defects 8-10) ----------------------------------

def env_without_config():
    env = dict(os.environ)
    env.pop("MAILROOM_CONFIG", None)
    return env


def test_list_without_any_config_says_which_data_dir_and_creates_nothing(tmp_path):
    """`mailroom user list` in an empty directory printed nothing, exited 0 and created
    ./mailroom-data: it must say that it fell back to the embedded defaults, which data dir that
    is, and that it does not exist."""
    for what in ("user", "alias"):
        r = subprocess.run([BIN, what, "list"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=60, env=env_without_config())
        assert r.returncode == 1, (what, r.stdout, r.stderr)
        assert r.stdout == ""
        assert "embedded defaults" in r.stderr and "/etc/mailroom/mailroom.toml" in r.stderr, r.stderr
        assert str(tmp_path / "mailroom-data") in r.stderr and "does not exist" in r.stderr, r.stderr
        assert not (tmp_path / "mailroom-data").exists()
    # domain list answers from the embedded config's domains, still without creating anything.
    r = subprocess.run([BIN, "domain", "list"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60, env=env_without_config())
    assert (r.returncode, r.stdout) == (0, "example.test\n"), r.stderr
    assert not (tmp_path / "mailroom-data").exists()


def test_mailroom_config_environment_variable_is_used_by_every_command(admin, tmp_path):
    env = env_without_config()
    env["MAILROOM_CONFIG"] = str(admin.config_path)
    def run(*argv, input=None):
        return subprocess.run([BIN, *argv], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60, env=env, input=input)
    assert_silent_success(run("user", "add", "kate@example.test", "--password-stdin", input="pw\n"))
    assert admin.db.is_file()  # the config's data dir, not ./mailroom-data
    assert not (tmp_path / "mailroom-data").exists()
    r = run("user", "list")
    assert (r.returncode, r.stdout, r.stderr) == (0, "kate@example.test\n", "")
    r = run("queue", "list")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = run("check-config")
    assert r.returncode == 0, r.stderr
    assert f'data_dir = "{admin.data_dir}"' in r.stdout
    # -c/--config wins over the environment.
    other = tmp_path / "other.toml"
    other.write_text(f'[server]\ndata_dir = "{tmp_path}/other-data"\n[[listener]]\nname = "in"\n'
                     f'address = "127.0.0.1:2525"\n')
    r = run("user", "list", "-c", str(other))
    assert r.returncode == 1 and str(tmp_path / "other-data") in r.stderr, r.stderr


@pytest.mark.parametrize("argv", [("user", "list"), ("alias", "list"), ("domain", "list"),
                                  ("queue", "list"), ("check-config",)])
@pytest.mark.parametrize("flag", ["-c", "--config"])
def test_every_command_takes_dash_c(populated, argv, flag):
    r = subprocess.run([BIN, *argv, flag, str(populated.config_path)], capture_output=True,
                       text=True, timeout=60, env=env_without_config())
    assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stderr)
    assert r.stdout


def test_user_add_without_password_stdin_and_no_terminal_names_the_flag(admin):
    """Not on a terminal and no --password-stdin: it said only "empty password"."""
    for stdin in (subprocess.DEVNULL, None):
        r = subprocess.run([BIN, "user", "add", "kate@example.test", "-c", str(admin.config_path)],
                           capture_output=True, text=True, timeout=60,
                           **({"stdin": stdin} if stdin is not None else {"input": "typed-pw\n"}))
        line = assert_one_error_line(r, 2, "--password-stdin")
        assert "typed-pw" not in line
    assert not admin.data_dir.exists()  # refused before anything was created
