"""Shutdown on SIGTERM (src/server/shutdown.hpp), over real TCP:

  * the listeners stop accepting at once: a new connection is refused;
  * a session waiting for a command (idle after EHLO, in the middle of a transaction, inside TLS)
    gets "421 4.3.2 mx.example.test Service shutting down" and is closed;
  * a session in DATA finishes its message: 250 with a queue id, then the 421, then EOF; the
    message is in kate's Maildir exactly once after a restart;
  * the process exits 0, and within its grace period: a session that stalls in DATA is closed
    without a reply when [server] shutdown_grace_s ends (nothing stored), or at a second SIGTERM;
  * a queued message the server could not deliver yet is still queued after the restart.
The controls at the end prove the harness's teardown fails a test on a hung, crashed or non-zero
exit (conftest.Server.stop), so the exit-code checks here and everywhere else can fail.
No test measures time: each waits for the log line or reply that says the step happened, with
bounds that only catch hangs.
"""
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import HOSTNAME, RawSmtp, Server
from queue_support import maildir_messages, wait_until
from test_hostile_support import (USER, assert_nothing_new, connect, listener, make_server,
                                  read_until_closed, stored_messages)

SHUTTING_DOWN = (421, f"4.3.2 {HOSTNAME} Service shutting down")


def wait_for_log(srv, text, timeout=30):
    wait_until(lambda: text in srv.log_text(), timeout=timeout, what=f"{text!r} in the server log")


def signal_and_wait_for_shutdown(srv):
    srv.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "event=shutdown signal=" in srv.log_text() or srv.proc.poll() is not None,
               timeout=30, what="the server to see the signal")


def expect_shutting_down_and_close(c):
    c.sock.settimeout(30)
    c.expect(None, *SHUTTING_DOWN)
    assert read_until_closed(c, timeout=30) == b""


def start_data(c, body_start):
    c.expect("MAIL FROM:<chris@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    c.expect("DATA", 354)
    c.send(body_start)


def test_sigterm_finishes_data_answers_421_to_waiting_sessions_and_exits_0(mailroom):
    srv = make_server(mailroom, [listener(tls="starttls")], server={"shutdown_grace_s": 600})
    idle = connect(srv)
    mid_transaction = connect(srv)
    mid_transaction.expect("MAIL FROM:<chris@client.example.org>", 250)
    mid_transaction.expect(f"RCPT TO:<{USER}>", 250)
    in_tls = connect(srv)
    in_tls.starttls()
    in_tls.expect("EHLO client.example.org", 250)
    sending = connect(srv)
    start_data(sending, b"Subject: sent across a shutdown\r\n\r\nfirst half\r\n")

    signal_and_wait_for_shutdown(srv)
    for c in (idle, mid_transaction, in_tls):
        expect_shutting_down_and_close(c)
    with pytest.raises(OSError):
        RawSmtp(srv.port(), timeout=5)  # no longer accepting
    assert srv.proc.poll() is None, "exited while a message was still being received"

    sending.send(b"second half\r\n.\r\n")
    code, lines = sending.reply()
    assert code == 250 and "Queued mail for delivery" in lines[-1], lines
    qid = lines[-1].split("<", 1)[1].split("@", 1)[0]
    expect_shutting_down_and_close(sending)
    assert srv.stop() == 0  # fails on a hang or a non-zero exit
    assert "event=sessions_closed" in srv.log_text()
    assert "event=shutdown_closing" not in srv.log_text()  # nobody had to be cut off

    srv.start()
    kate = srv.maildir(USER).parent
    wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout,
               what="the queue to drain after the restart")
    copies = [d for _, d in maildir_messages(kate) if f" id {qid}".encode() in d]
    assert len(copies) == 1, copies
    assert b"first half\nsecond half\n" in copies[0]


def test_stalled_data_is_cut_when_the_grace_period_ends(mailroom):
    srv = make_server(mailroom, [listener()], server={"shutdown_grace_s": 1},
                      limits={"data_timeout_s": 3600, "idle_timeout_s": 3600})
    before = stored_messages(srv)
    stalled = connect(srv)
    start_data(stalled, b"Subject: never finished\r\n\r\nhalf")
    signal_and_wait_for_shutdown(srv)
    # Only the grace period can end this session (its timeouts are an hour): a bounded wait for
    # the exit is enough, and the log says why the session was closed.
    assert srv.wait_for_exit() == 0
    assert 'event=shutdown_closing sessions=1 reason="shutdown grace period over"' in srv.log_text()
    assert read_until_closed(stalled, timeout=30) == b""  # no reply to a message not taken
    srv.start()
    assert_nothing_new(srv, before)


def test_second_sigterm_ends_the_grace_period_at_once(mailroom):
    srv = make_server(mailroom, [listener()], server={"shutdown_grace_s": 3600},
                      limits={"data_timeout_s": 3600, "idle_timeout_s": 3600})
    stalled = connect(srv)
    start_data(stalled, b"Subject: never finished\r\n\r\nhalf")
    signal_and_wait_for_shutdown(srv)
    assert srv.proc.poll() is None
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.wait_for_exit() == 0  # the hour of grace was not waited out
    assert 'event=shutdown_closing sessions=1 reason="second signal"' in srv.log_text()
    assert read_until_closed(stalled, timeout=30) == b""


def test_sigterm_keeps_undelivered_mail_queued(mailroom):
    """A message kate's Maildir cannot take yet (a file stands where the directory should be) is
    deferred; a SIGTERM and a restart keep it queued, and it is delivered once she is fixed."""
    srv = make_server(mailroom, [listener()], extra={"queue": {"min_backoff_s": 1,
                                                                "max_backoff_s": 1}})
    blocker = srv.maildir(USER).parent
    if blocker.is_dir():
        shutil.rmtree(blocker)
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a Maildir")
    c = connect(srv)
    c.expect("MAIL FROM:<chris@client.example.org>", 250)
    c.expect(f"RCPT TO:<{USER}>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: deferred across a restart\r\n\r\nx\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    qid = lines[-1].split("<", 1)[1].split("@", 1)[0]
    wait_until(lambda: "4.3.0" in srv.cli("queue", "list").stdout, what="the deferral")
    assert srv.stop() == 0
    assert qid in srv.cli("queue", "list").stdout  # read from disk: no server runs
    blocker.unlink()
    srv.start()
    wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout,
               what="the queue to drain after the restart")
    assert len(maildir_messages(blocker)) == 1


# --- controls: the teardown catches a bad end ---------------------------------------------------

def stand_in(tmp_path, code):
    """A Server whose process is a small Python program instead of mailroom."""
    srv = Server(tmp_path / "standin", [listener()])
    srv.log = open(srv.log_path, "ab")
    srv.proc = subprocess.Popen([sys.executable, "-c", code], stdout=srv.log,
                                stderr=subprocess.STDOUT)
    return srv


def ready(srv):
    wait_until(lambda: "ready" in srv.log_text(), what="the stand-in to start")


def test_control_stop_fails_on_a_hang(tmp_path):
    srv = stand_in(tmp_path, "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                             "print('ready', flush=True)\ntime.sleep(600)\n")
    ready(srv)
    with pytest.raises(AssertionError, match="did not exit within 2s"):
        srv.stop(timeout=2)


def test_control_stop_fails_on_a_non_zero_exit(tmp_path):
    srv = stand_in(tmp_path, "import signal, sys, time\n"
                             "signal.signal(signal.SIGTERM, lambda *a: sys.exit(3))\n"
                             "print('ready', flush=True)\ntime.sleep(600)\n")
    ready(srv)
    with pytest.raises(AssertionError, match="exited with 3 after signal"):
        srv.stop()


def test_control_stop_fails_on_a_crash_before_the_stop(tmp_path):
    srv = stand_in(tmp_path, "import os\nos.abort()\n")
    srv.proc.wait(timeout=30)
    with pytest.raises(AssertionError, match="had already exited with -6"):
        srv.stop()


def test_control_stop_fails_on_a_sanitizer_report(tmp_path):
    srv = stand_in(tmp_path, "import signal, sys, time\n"
                             "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
                             "print('ready', flush=True)\ntime.sleep(600)\n")
    ready(srv)
    (srv.tmp / "sanitizer-report.12345").write_text("==12345==ERROR: AddressSanitizer: "
                                                    "heap-use-after-free\n")
    with pytest.raises(AssertionError, match="heap-use-after-free"):
        srv.stop()


def test_control_kill9_is_not_a_failure(tmp_path):
    srv = stand_in(tmp_path, "import time\nprint('ready', flush=True)\ntime.sleep(600)\n")
    ready(srv)
    srv.kill9()
    srv.stop()
