"""Disk full (issue 4): "452 4.3.1 Insufficient system storage", never a lost or corrupt queue.

The data dir lives on a small tmpfs. When it is full, a message that cannot be made durable is
refused with 452 4.3.1 (small messages fail at commit, large ones while spilling to disk), the
session stays usable (RSET, NOOP, a new transaction, QUIT), and nothing already queued or
delivered is touched; once space returns the next message is accepted and delivered.
That test turns off spare queue files (queue.spare_files = 0) so that every message needs new
space. With spares (the default) a delivered message's queue file is overwritten by the next
message: a message that fits in a spare is durably accepted even on a full disk, and only once
the spares are used up does the next one get 452; a second test checks exactly that, and that
the messages accepted that way are delivered once space returns.
A last test fills only the mailbox filesystem: messages are still accepted (the queue has
room), delivery defers with 4.3.1, and resumes by itself when space returns.
"""
import contextlib
import shutil

import pytest

from conftest import RawSmtp
from queue_support import (fill_filesystem, maildir_messages, small_tmpfs, smtp_transaction,
                           wait_until, world_traversable_dir)

# small_tmpfs() skips where mounting is not permitted; under CI=true that skip fails (conftest).
pytestmark = pytest.mark.must_run_in_ci

LISTENER = {"name": "inbound", "tls": "none", "auth": "none", "relay": "none"}
QUEUE = {"min_backoff_s": 1, "max_backoff_s": 2}
NO_SPARES = {**QUEUE, "spare_files": 0}
INSUFFICIENT = "452 4.3.1 Insufficient system storage"


def message(tag, body_bytes=200):
    line = f"{tag} " + "y" * 70
    body = "\r\n".join([line] * max(1, body_bytes // (len(line) + 2)))
    return f"Subject: {tag}\r\n\r\n{body}\r\n"


def queue_is_clean(srv, data_dir):
    queue = data_dir / "queue"
    assert not list((queue / "incoming").iterdir()), "half-written files left in incoming/"
    assert not (queue / "corrupt").exists()
    out = srv.cli("queue", "list").stdout
    return out


@contextlib.contextmanager
def kate_on_a_small_disk(mailroom, prefix, queue):
    """A server whose whole data dir is on an 8 MB tmpfs, with user kate, and an SMTP session past
    EHLO. Yields (server, fs, data_dir, kate's Maildir, session); then stops and removes it all."""
    base = world_traversable_dir(prefix)
    try:
        with small_tmpfs(base / "fs", "8m") as fs:
            data_dir = fs / "data"
            srv = mailroom([LISTENER], server={"data_dir": str(data_dir)}, extra={"queue": queue})
            srv.add_user("kate@example.test", "kate-pw")
            srv.start()
            try:
                c = RawSmtp(srv.port())
                assert c.reply()[0] == 220
                c.expect("EHLO contoso.com", 250)
                yield srv, fs, data_dir, data_dir / "mailboxes" / "example.test" / "kate", c
            finally:
                srv.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_full_data_dir_gives_452_keeps_session_and_queue_then_recovers(mailroom):
    with kate_on_a_small_disk(mailroom, "mailroom-full-", NO_SPARES) as (srv, fs, data_dir, kate, c):
        for i in range(3):
            code, line, _ = smtp_transaction(c, "chris@contoso.com", ["kate@example.test"],
                                             message(f"before-{i}"))
            assert code == 250, line
        before = wait_until(lambda: len(maildir_messages(kate)) == 3 and maildir_messages(kate),
                            what="three messages delivered before the disk fills")

        filler = fill_filesystem(fs)
        # Small message: held in memory, fails when the queue file is written at commit.
        code, line, _ = smtp_transaction(c, "chris@contoso.com", ["kate@example.test"],
                                         message("while-full-small"))
        assert (code, line) == (452, INSUFFICIENT)
        c.expect("RSET", 250)
        c.expect("NOOP", 250)
        # Large message: spills to disk while being received, fails there.
        code, line, _ = smtp_transaction(c, "chris@contoso.com", ["kate@example.test"],
                                         message("while-full-large", 600_000))
        assert (code, line) == (452, INSUFFICIENT)
        c.expect("NOOP", 250)
        # A new connection during the shortage gets the same answer, not a crash.
        c2 = RawSmtp(srv.port())
        assert c2.reply()[0] == 220
        c2.expect("EHLO other.contoso.com", 250)
        code, line, _ = smtp_transaction(c2, "dana@contoso.com", ["kate@example.test"],
                                         message("while-full-second-session"))
        assert (code, line) == (452, INSUFFICIENT)
        c2.expect("QUIT", 221)

        assert "Mail queue is empty" in queue_is_clean(srv, data_dir)
        assert not list((data_dir / "queue" / "messages").iterdir())
        assert maildir_messages(kate) == before  # untouched, byte for byte

        filler.unlink()
        code, line, qid = smtp_transaction(c, "chris@contoso.com", ["kate@example.test"],
                                           message("after-space-returns"))
        assert code == 250 and qid, line
        c.expect("QUIT", 221)
        after = wait_until(lambda: len(maildir_messages(kate)) == 4 and maildir_messages(kate),
                           what="the message sent after space returned")
        assert [m for m in after if m in before] == before
        new = [data for path, data in after if (path, data) not in before]
        assert len(new) == 1 and b"Subject: after-space-returns\n" in new[0]
        assert not any(b"while-full" in data for _, data in after)
        wait_until(lambda: "Mail queue is empty" in queue_is_clean(srv, data_dir),
                   what="an empty, clean queue")


def test_spare_queue_files_take_messages_on_a_full_disk_until_used_up(mailroom):
    with kate_on_a_small_disk(mailroom, "mailroom-spares-", QUEUE) as (srv, fs, data_dir, kate, c):
        spare = data_dir / "queue" / "spare"
        for i in range(3):
            assert smtp_transaction(c, "chris@contoso.com", ["kate@example.test"],
                                    message(f"before-{i}"))[0] == 250
        wait_until(lambda: len(maildir_messages(kate)) == 3, what="three deliveries")
        wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout,
                   what="an empty queue")
        # Each message reused the spare its predecessor left, so there are one to three.
        spares = len(list(spare.iterdir()))
        assert 1 <= spares <= 3

        filler = fill_filesystem(fs)
        # Each spare takes one message of the same size, durably.
        accepted = []
        for i in range(spares):
            code, line, qid = smtp_transaction(c, "chris@contoso.com", ["kate@example.test"],
                                               message(f"in-spare-{i}"))
            assert code == 250, line
            accepted.append(qid)
        assert not list(spare.iterdir())
        # Spares used up (their messages wait in the queue: kate's Maildir is full too).
        code, line, _ = smtp_transaction(c, "chris@contoso.com", ["kate@example.test"],
                                         message("no-spare-left"))
        assert (code, line) == (452, INSUFFICIENT)
        c.expect("NOOP", 250)
        listing = srv.cli("queue", "list").stdout
        assert all(qid in listing for qid in accepted), listing

        filler.unlink()
        # Their deferral could not be written to state.db (the disk was full), so the
        # queue holds them back for a minute (kHoldAfterErrorS) before the next attempt.
        delivered = wait_until(
            lambda: len(maildir_messages(kate)) == 3 + spares and maildir_messages(kate),
            timeout=120, what="the messages kept in spares delivered once space returned")
        for i in range(spares):
            assert sum(f"Subject: in-spare-{i}\n".encode() in d for _, d in delivered) == 1
        assert not any(b"no-spare-left" in d for _, d in delivered)
        c.expect("QUIT", 221)
        wait_until(lambda: "Mail queue is empty" in queue_is_clean(srv, data_dir),
                   what="an empty, clean queue")


def test_full_mailbox_filesystem_defers_delivery_until_space_returns(mailroom):
    base = world_traversable_dir("mailroom-mbfull-")
    try:
        data_dir = base / "data"
        with small_tmpfs(data_dir / "mailboxes", "2m") as mailboxes:
            srv = mailroom([LISTENER], server={"data_dir": str(data_dir)}, extra={"queue": QUEUE})
            srv.add_user("kate@example.test", "kate-pw")
            srv.start()
            try:
                kate = mailboxes / "example.test" / "kate"
                c = RawSmtp(srv.port())
                assert c.reply()[0] == 220
                c.expect("EHLO contoso.com", 250)
                code, line, _ = smtp_transaction(c, "chris@contoso.com", ["kate@example.test"],
                                                 message("first"))
                assert code == 250, line
                wait_until(lambda: len(maildir_messages(kate)) == 1, what="the first delivery")

                filler = fill_filesystem(mailboxes)
                ids = []
                for i in range(3):
                    code, line, qid = smtp_transaction(c, "chris@contoso.com", ["kate@example.test"],
                                                       message(f"deferred-{i}", 20_000))
                    assert code == 250, line  # the queue itself has room
                    ids.append(qid)
                listing = wait_until(
                    lambda: (out := srv.cli("queue", "list").stdout).count("4.3.1 mailbox write failed") == 3 and out,
                    what="three deliveries deferred for lack of mailbox space")
                assert all(qid in listing for qid in ids)
                assert len(maildir_messages(kate)) == 1
                assert not list((kate / "tmp").iterdir()), "partial copies left in tmp/"

                filler.unlink()
                # No admin action: the retry (min_backoff_s=1 here) finds the space.
                delivered = wait_until(lambda: len(maildir_messages(kate)) == 4 and maildir_messages(kate),
                                       what="deferred messages delivered once space returned")
                assert sum(b"Subject: first\n" in d for _, d in delivered) == 1
                for i in range(3):
                    assert sum(f"Subject: deferred-{i}\n".encode() in d for _, d in delivered) == 1
                wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout,
                           what="an empty queue")
                c.expect("QUIT", 221)
            finally:
                srv.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
