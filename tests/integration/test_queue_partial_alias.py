"""Retry of a partly delivered alias (src/delivery/dispatcher.hpp: a retry skips the destinations
an earlier attempt already delivered to).

sales@example.test is an alias for kate and chris: one envelope recipient, two mailboxes. chris's
Maildir cannot be written (a file stands where its directory should be: unwritable even for root),
so each attempt delivers to kate and defers chris. Retries, and a restart in between (the partial
state must survive in state.db), must not give kate a second copy; once chris's Maildir is fixed
and the queue flushed, each has exactly one copy and the queue is empty.
"""
import re
import shutil

from queue_support import maildir_messages, send_message, wait_until

LISTENER = {"name": "inbound", "tls": "none", "auth": "none", "relay": "none"}
QUEUE = {"min_backoff_s": 1, "max_backoff_s": 1}


def attempts(srv, qid):
    """The attempt counts the server logged for the message's recipient, in order."""
    return [int(n) for n in re.findall(rf"queue: id={qid} to=<sales@example\.test> "
                                       r"status=\w+ attempts=(\d+)", srv.log_text())]


def copies(srv, user, qid):
    box = srv.data_dir / "mailboxes" / "example.test" / user
    return [d for _, d in maildir_messages(box) if f" id {qid}".encode() in d]


def test_retry_of_a_partly_delivered_alias_delivers_nothing_twice(mailroom):
    srv = mailroom([LISTENER], extra={"queue": QUEUE})
    for u in ("kate", "chris"):
        srv.add_user(f"{u}@example.test", "pw-" + u)
    srv.cli("alias", "add", "sales@example.test", "kate@example.test", "chris@example.test")
    chris = srv.data_dir / "mailboxes" / "example.test" / "chris"
    if chris.is_dir():
        shutil.rmtree(chris)
    chris.parent.mkdir(parents=True, exist_ok=True)
    chris.write_text("not a Maildir")
    srv.start()

    code, line, qid = send_message(srv.port(), "buyer@contoso.com", ["sales@example.test"],
                                   "Subject: order\r\n\r\nthree boxes\r\n")
    assert code == 250 and qid, line
    wait_until(lambda: max(attempts(srv, qid), default=0) >= 3,
               what="three attempts, the first partly delivered")
    assert len(copies(srv, "kate", qid)) == 1
    listing = srv.cli("queue", "list").stdout
    assert qid in listing and "4.3.0" in listing, listing

    # The partial state survives a restart: the retries after it still skip kate.
    srv.stop()
    before_restart = max(attempts(srv, qid))
    srv.start()
    wait_until(lambda: max(attempts(srv, qid)) >= before_restart + 2,
               what="two more attempts after the restart")
    assert len(copies(srv, "kate", qid)) == 1

    chris.unlink()
    srv.cli("queue", "flush", qid)
    wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout,
               what="the queue to drain once chris's Maildir is fixed")
    assert len(copies(srv, "kate", qid)) == 1
    assert len(copies(srv, "chris", qid)) == 1
