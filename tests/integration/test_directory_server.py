"""The directory as a running server sees it, SQLite backend (the embedded default): AUTH
against `mailroom user add`, recipients through aliases, catch-alls, plus-addresses and the
postmaster rule, changes made by the CLI while the server runs, and a database the server must
refuse to start with. test_directory_postgresql.py runs the same scenarios on PostgreSQL.
"""
import base64
import sqlite3
import time

from directory_support import (PLAINTEXT_AUTH_LISTENER, TLS_AUTH_LISTENER, assert_not_listening,
                               check_alias_catchall_plus_postmaster, check_deleted_user_gets_550_without_restart,
                               check_domain_added_by_cli_is_accepted, check_seed_003_auth_login, rcpt_reply,
                               run_serve_expect_failure, send_message, sqlite_execute, subjects_in,
                               wait_until)

SQLITE = {"directory": {"backend": "sqlite"}}


def test_seed_003_auth_login_235_and_535(mailroom, raw):
    srv = mailroom([dict(PLAINTEXT_AUTH_LISTENER), dict(TLS_AUTH_LISTENER)], extra=SQLITE)
    check_seed_003_auth_login(srv, raw)


def test_rcpt_to_alias_catchall_plus_address_and_postmaster_land_in_maildirs(mailroom, raw):
    check_alias_catchall_plus_postmaster(mailroom(extra=SQLITE), raw)


def test_postmaster_goes_where_alias_list_says_never_to_the_first_user(mailroom, raw):
    """Issue 11: after `user add kate`, mail to postmaster@ of every local domain silently landed
    in kate's mailbox. It must go where the administrator says, visibly (`alias list`), and
    without a choice it is kept in the postmaster mailbox, which alias list names."""
    srv = mailroom(extra=SQLITE)
    srv.cli("domain", "add", "example.org")
    srv.add_user("kate@example.test", "kate-password")
    listing = srv.cli("alias", "list").stdout
    assert listing.splitlines() == [
        "# postmaster@example.test -> postmaster@example.test (default)",
        "# postmaster@example.org -> postmaster@example.test (default: as postmaster@example.test)",
        "# postmaster@example.test is a mailbox without a login: choose where postmaster mail goes"
        " with `mailroom alias add postmaster@example.test ADDRESS`, or read it with"
        " `mailroom user add postmaster@example.test`"], listing
    srv.start()
    port = srv.port()
    send_message(raw, port, "postmaster@example.test", "first")
    send_message(raw, port, "Postmaster@Example.ORG", "second")
    assert subjects_in(srv, "postmaster@example.test", 2) == ["first", "second"]
    assert not srv.maildir("kate@example.test").exists()

    # The administrator's choice: an alias, shown by alias list, and followed at once.
    srv.cli("alias", "add", "postmaster@example.test", "kate@example.test")
    assert srv.cli("alias", "list").stdout.splitlines() == [
        "postmaster@example.test kate@example.test",
        "# postmaster@example.test -> kate@example.test (alias)",
        "# postmaster@example.org -> kate@example.test (default: as postmaster@example.test)"]
    time.sleep(1.5)  # a running server sees directory changes within a second
    send_message(raw, port, "postmaster@example.org", "third")
    assert subjects_in(srv, "kate@example.test", 1) == ["third"]


def test_deleted_user_gets_550_on_next_session_without_restart(mailroom, raw):
    check_deleted_user_gets_550_without_restart(mailroom(extra=SQLITE), raw)


def test_domain_added_by_cli_is_accepted_by_running_server(mailroom, raw):
    check_domain_added_by_cli_is_accepted(mailroom(extra=SQLITE), raw)


def test_alias_loop_written_behind_our_back_is_550_5_4_6_not_a_hang(mailroom, raw):
    """The CLI refuses to create loops, but another tool (or an older mailroom) could store one:
    resolving it at RCPT time must stop, answer 550 5.4.6 and leave the server serving."""
    srv = mailroom(extra=SQLITE)
    srv.add_user("kate@example.test", "kate-password")
    srv.cli("alias", "add", "a@example.test", "kate@example.test")
    srv.cli("alias", "add", "b@example.test", "a@example.test")
    srv.start()
    port = srv.port()
    assert rcpt_reply(raw, port, "b@example.test") == "250 2.1.5 Recipient OK"
    sqlite_execute(srv.data_dir / "directory.db",
                   "INSERT INTO mailroom_aliases (source, target) VALUES ('a@example.test', 'b@example.test')")
    looped = wait_until(lambda: rcpt_reply(raw, port, "b@example.test").startswith("550"), interval=0.1)
    assert looped
    assert rcpt_reply(raw, port, "a@example.test") == "550 5.4.6 Routing loop detected"
    assert rcpt_reply(raw, port, "kate@example.test") == "250 2.1.5 Recipient OK"
    log = srv.log_text()
    assert "alias loop" in log, log[-2000:]


def test_corrupt_database_at_start_is_a_clear_error_and_exit(mailroom):
    srv = mailroom(extra=SQLITE)
    srv.add_user("kate@example.test", "kate-password")
    db = srv.data_dir / "directory.db"
    with open(db, "r+b") as f:  # what a disk error or a stray write leaves behind
        f.write(b"\x5a" * 4096)
    for leftover in ("directory.db-wal", "directory.db-shm"):
        (srv.data_dir / leftover).unlink(missing_ok=True)
    code, output = run_serve_expect_failure(srv.config_path)
    assert code != 0, output
    errors = [l for l in output.splitlines() if str(db) in l]
    assert errors and "not a database" in errors[0], output
    assert_not_listening(srv.port())


def test_locked_database_at_start_is_a_clear_error_and_exit(mailroom, raw):
    srv = mailroom(extra=SQLITE)
    srv.add_user("kate@example.test", "kate-password")
    db = srv.data_dir / "directory.db"
    holder = sqlite3.connect(str(db), isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode=DELETE")  # an exclusive lock that also blocks readers
        holder.execute("BEGIN EXCLUSIVE")
        code, output = run_serve_expect_failure(srv.config_path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code != 0, output
    errors = [l for l in output.splitlines() if str(db) in l]
    assert errors and "locked" in errors[0], output
    assert_not_listening(srv.port())
    # Once the lock is gone the same database serves its users.
    srv.start()
    assert rcpt_reply(raw, srv.port(), "kate@example.test") == "250 2.1.5 Recipient OK"



def test_auth_plain_failure_is_logged_with_user_and_ip_only(mailroom, raw):
    srv = mailroom([dict(PLAINTEXT_AUTH_LISTENER)], extra=SQLITE)
    srv.add_user("kate@example.test", "kate-password")
    srv.start()
    c = raw(srv.port())
    c.reply()
    c.expect("EHLO client.example.net", 250)
    wrong = base64.b64encode(b"\0kate@example.test\0Not-Kates-Password").decode()
    c.expect(f"AUTH PLAIN {wrong}", 535, "5.7.8 Authentication unsuccessful")
    good = base64.b64encode(b"\0kate@example.test\0kate-password").decode()
    c.expect(f"AUTH PLAIN {good}", 235, "2.7.0 Authentication succeeded")
    log = wait_until(lambda: "event=auth_ok" in srv.log_text() and srv.log_text())
    failed = [l for l in log.splitlines() if "event=auth_failed" in l]
    assert len(failed) == 1 and 'user="kate@example.test"' in failed[0] and "client=127.0.0.1" in failed[0], failed
    for secret in ("Not-Kates-Password", "kate-password", wrong, good):
        assert secret not in log, secret
