"""The server scenarios of test_directory_server.py with `[directory] backend = "postgresql"`,
against a private PostgreSQL 15 this module starts on 127.0.0.1 (own data directory, own unix
socket directory and port). Each test gets a fresh database. Skips, saying why, only when the
PostgreSQL binaries are not installed.
"""
import pytest

from directory_support import (PLAINTEXT_AUTH_LISTENER, TLS_AUTH_LISTENER, assert_not_listening,
                               check_alias_catchall_plus_postmaster, check_deleted_user_gets_550_without_restart,
                               check_domain_added_by_cli_is_accepted, check_seed_003_auth_login, cli,
                               private_postgres, rcpt_reply, run_serve_expect_failure, wait_until)
from conftest import free_port

# private_postgres skips when PostgreSQL is not installed; under CI=true that skip fails (conftest).
pytestmark = pytest.mark.must_run_in_ci

__all__ = ["private_postgres"]  # the module-scoped fixture, imported to be found here


def postgresql(pg):
    url, _ = pg.new_database()
    return {"directory": {"backend": "postgresql", "url": url}}


def test_seed_003_auth_login_235_and_535(mailroom, raw, private_postgres):
    srv = mailroom([dict(PLAINTEXT_AUTH_LISTENER), dict(TLS_AUTH_LISTENER)],
                   extra=postgresql(private_postgres))
    check_seed_003_auth_login(srv, raw)


def test_rcpt_to_alias_catchall_plus_address_and_postmaster_land_in_maildirs(mailroom, raw, private_postgres):
    check_alias_catchall_plus_postmaster(mailroom(extra=postgresql(private_postgres)), raw)


def test_deleted_user_gets_550_on_next_session_without_restart(mailroom, raw, private_postgres):
    check_deleted_user_gets_550_without_restart(mailroom(extra=postgresql(private_postgres)), raw)


def test_domain_added_by_cli_is_accepted_by_running_server(mailroom, raw, private_postgres):
    check_domain_added_by_cli_is_accepted(mailroom(extra=postgresql(private_postgres)), raw)


def test_rows_live_in_postgresql_not_in_data_dir(mailroom, private_postgres):
    url, name = private_postgres.new_database()
    srv = mailroom(extra={"directory": {"backend": "postgresql", "url": url}})
    srv.add_user("kate@example.test", "kate-password")
    srv.cli("alias", "add", "sales@example.test", "kate@example.test")
    assert private_postgres.psql(name, "SELECT address FROM mailroom_users").split() == ["kate@example.test"]
    hashes = private_postgres.psql(name, "SELECT password_hash FROM mailroom_users")
    assert hashes.startswith("$argon2id$") and "kate-password" not in hashes
    assert not (srv.data_dir / "directory.db").exists()
    assert cli(srv.config_path, "alias", "list").stdout.splitlines()[0] == "sales@example.test kate@example.test"


def test_two_nodes_share_one_directory(mailroom, raw, private_postgres):
    """Several mailroom nodes behind one MX set: a user added through one node's CLI is accepted
    by the other running node."""
    extra = postgresql(private_postgres)
    first, second = mailroom(extra=extra), mailroom(extra=extra)
    first.add_user("kate@example.test", "kate-password")
    first.start()
    second.start()
    second.add_user("ann@example.test", "ann-password")
    accepted = wait_until(lambda: rcpt_reply(raw, first.port(), "ann@example.test") == "250 2.1.5 Recipient OK",
                          interval=0.1)
    assert accepted, first.log_text()[-2000:]
    assert rcpt_reply(raw, second.port(), "kate@example.test") == "250 2.1.5 Recipient OK"


def test_unreachable_database_at_start_is_a_clear_error_and_exit(mailroom):
    port = free_port()  # nothing listens there
    srv = mailroom(extra={"directory": {"backend": "postgresql",
                                        "url": f"postgresql://mailroom:s3cret-pw@127.0.0.1:{port}/mail"}})
    code, output = run_serve_expect_failure(srv.config_path)
    assert code != 0, output
    errors = [l for l in output.splitlines() if f"directory database postgresql://mailroom@127.0.0.1:{port}/mail" in l]
    assert errors and "refused" in errors[0], output
    assert "s3cret-pw" not in output
    assert_not_listening(srv.port())
    r = cli(srv.config_path, "user", "list")
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and "s3cret-pw" not in r.stderr, r.stderr
