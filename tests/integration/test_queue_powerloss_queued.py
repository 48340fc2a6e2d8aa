"""Power cuts around messages that stay in the queue, and around messages leaving it (see
test_queue_powerloss.py for the simulated disk and the cut).

A recipient outside the local domains, relayed for 127.0.0.0/8, is deferred (its domain cannot be
resolved: "4.4.3 Host or domain name not found") and keeps its message queued, so a cut can land at any chosen point of its life.

The last two reproduce durability bugs this test found (a `queue delete` undone by a cut; a
delivered message whose removal from messages/ was not yet durable, delivered again after a cut
when the reader had deleted its Maildir copy); both pass since messages/ is fsync'd after queue
files leave it and before their rows are dropped.
"""
import os


from powerloss_support import powerloss_disk  # noqa: F401  (fixture)
from queue_support import MAILDIR_NAME_RE, maildir_messages, send_message, wait_until
from test_queue_powerloss import KATE, message_for, queue_empty, start_on_disk

RELAY = {"name": "inbound", "tls": "none", "auth": "none", "relay": "ranges",
         "relay_ranges": ["127.0.0.0/8"]}
REMOTE = "someone@remote.test"


def start_relay(mailroom, disk, users=()):
    srv = mailroom([dict(RELAY)], server={"data_dir": str(disk.mountpoint)},
                   extra={"queue": {"min_backoff_s": 1, "max_backoff_s": 2}})
    srv.data_dir = disk.mountpoint
    for u in users:
        srv.add_user(u, "pw-" + u)
    return srv.start()


def queued(srv, qid):
    return qid in srv.cli("queue", "list").stdout


def test_first_message_on_a_fresh_disk_survives_a_cut(powerloss_disk, mailroom):  # noqa: F811
    """The very first 250 on an empty data_dir: the queue's directories were created moments
    ago, so the message is durable only if their creation was (ensure_queue_dirs fsyncs each
    parent: without it queue/ itself vanishes here)."""
    disk = powerloss_disk()
    srv = start_relay(mailroom, disk)
    code, line, qid = send_message(srv.port(), "s1@contoso.com", [REMOTE], message_for("p-f-1"))
    assert code == 250, line
    srv.kill9()
    disk.cut()
    srv.start()
    assert queued(srv, qid), f"{qid} got its 250, then was lost in the cut\n" + srv.log_text()


def delete_durably(path):
    """What a mail client that fsyncs its Maildir does when its user deletes a message."""
    path.unlink()
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)


def test_recipient_already_delivered_is_not_delivered_again(powerloss_disk, mailroom):  # noqa: F811
    """kate has her copy, the remote recipient is deferred: the message stays queued and only
    state.db (WAL, synchronous=FULL) remembers that kate is done. kate deletes her copy, so after
    a cut the Maildir cannot tell recovery that she has it: her row must have survived."""
    disk = powerloss_disk()
    srv = start_relay(mailroom, disk, [KATE])
    code, line, qid = send_message(srv.port(), "s1@contoso.com", [KATE, REMOTE],
                                   message_for("p-k-1"))
    assert code == 250, line
    deferred = f"id={qid} to=<{REMOTE}> status=deferred"
    wait_until(lambda: deferred in srv.log_text(), what="the first delivery attempt")
    (path, _), = maildir_messages(srv.maildir(KATE).parent)
    delete_durably(path)
    srv.kill9()
    disk.cut()
    before = srv.log_text().count(deferred)
    srv.start()
    # A retry of the remote recipient after the restart: kate, if she were pending again, would
    # have been attempted in that same round.
    wait_until(lambda: srv.log_text().count(deferred) > before, timeout=30,
               what="a retry after the restart")
    again = [p.name for p, _ in maildir_messages(srv.maildir(KATE).parent)]
    assert not again, f"{qid} delivered to kate a second time: {again}"


def test_queue_delete_survives_a_cut(powerloss_disk, mailroom):  # noqa: F811
    disk = powerloss_disk()
    srv = start_relay(mailroom, disk)
    code, line, qid = send_message(srv.port(), "s1@contoso.com", [REMOTE], message_for("p-d-1"))
    assert code == 250, line
    wait_until(lambda: "4.4.3 Host or domain name not found" in srv.cli("queue", "list").stdout,
               what="the first (deferred) delivery attempt")
    r = srv.cli("queue", "delete", qid)
    assert "deleted" in r.stdout + r.stderr, r
    assert not queued(srv, qid)
    srv.kill9()
    disk.cut()
    srv.start()
    assert not queued(srv, qid), "deleted, yet back after the cut:\n" + srv.cli(
        "queue", "list").stdout


def test_message_the_reader_deleted_is_not_delivered_again(powerloss_disk, mailroom):  # noqa: F811
    disk = powerloss_disk()
    srv = start_on_disk(mailroom, disk, [KATE])
    code, line, qid = send_message(srv.port(), "s1@contoso.com", [KATE], message_for("p-r-1"))
    assert code == 250, line
    wait_until(lambda: maildir_messages(srv.maildir(KATE).parent) and queue_empty(srv),
               what="delivery and removal from the queue")
    (path, _), = maildir_messages(srv.maildir(KATE).parent)
    assert MAILDIR_NAME_RE.match(path.name).group("qid") == qid
    delete_durably(path)
    srv.kill9()
    disk.cut()
    srv.start()
    wait_until(lambda: queue_empty(srv), what="the queue to drain after the restart")
    again = [p.name for p, _ in maildir_messages(srv.maildir(KATE).parent)]
    assert not again, f"{qid} delivered a second time after the cut: {again}"
