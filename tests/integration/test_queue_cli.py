"""`mailroom queue list|show|flush|delete|bounce` against a running server (issue 4).

The deferred message is real: a recipient in a non-local domain, relayed for a client inside
relay_ranges, whose MX lookup fails (the tests' DNS server is a closed loopback port), so it stays
deferred with "4.4.3 Host or domain name not found ..." until `queue bounce`, `queue delete` or the
queue lifetime ends it. Message ids are accepted as printed in the 250 reply (`<id@host>`), as
`id@host` and bare.
"""
import re

import pytest

from conftest import HOSTNAME
from queue_support import send_message, wait_until, parse_maildir_file

LISTENER = {"name": "inbound", "tls": "none", "auth": "none", "relay": "ranges",
            "relay_ranges": ["127.0.0.0/8"]}
# A long backoff: only `queue flush` can make a second attempt happen during the test.
QUEUE = {"min_backoff_s": 3600, "max_backoff_s": 4000}


@pytest.fixture
def deferred(mailroom):
    srv = mailroom([LISTENER], extra={"queue": QUEUE})
    srv.add_user("chris@example.test", "chris-pw")
    srv.add_user("kate@example.test", "kate-pw")
    srv.start()
    code, line, qid = send_message(srv.port(), "chris@example.test",
                                   ["bob@remote.test", "kate@example.test"],
                                   "Subject: quarterly report\r\nX-Tag: cli-test\r\n\r\nnumbers\r\n")
    assert code == 250 and qid, line
    srv.wait_for_mail("kate@example.test")
    wait_until(lambda: "deferred (1 attempt" in srv.cli("queue", "list").stdout,
               what="the remote recipient to be deferred")
    return srv, qid


def id_forms(qid):
    return [qid, f"<{qid}@{HOSTNAME}>", f"{qid}@{HOSTNAME}"]


def test_list_shows_id_size_age_sender_and_recipient_states(deferred):
    srv, qid = deferred
    out = srv.cli("queue", "list").stdout
    header, entry = out.split("\n", 1)
    assert header.split()[:3] == ["-Queue", "ID-", "--Size--"]
    first = entry.splitlines()[0].split()
    assert first[0] == qid
    assert int(first[1]) > len("Subject: quarterly report\r\n")  # includes our Received: header
    assert re.fullmatch(r"\d+s|\d+m\d+s", first[2])
    assert first[3] == "chris@example.test"
    assert "bob@remote.test" in out
    assert re.search(r"deferred \(1 attempt, last (\d+[dhms])+ ago, next in (\d+[dhms])+\): "
                     r"4\.4\.3 Host or domain name not found", out), out
    assert "kate@example.test" in out and "delivered: 2.0.0" in out
    assert out.rstrip().endswith("in 1 Request.")


@pytest.mark.parametrize("form", [0, 1, 2], ids=["bare", "angle-brackets-at-host", "at-host"])
def test_show_accepts_every_id_form(deferred, form):
    srv, qid = deferred
    out = srv.cli("queue", "show", id_forms(qid)[form]).stdout
    assert f"Queue-ID: {qid}\n" in out
    assert "Sender: <chris@example.test>\n" in out
    assert "Client: contoso.com [127.0.0.1] listener=inbound" in out
    assert re.search(r"bob@remote\.test \(NOTIFY=default\): deferred .*4\.4\.3 Host or domain name not found", out)
    headers = out.split("Headers:\n", 1)[1]
    assert headers.startswith("Received: from contoso.com ([127.0.0.1])")
    assert f"with ESMTP id {qid}" in headers
    assert "Subject: quarterly report" in headers and "X-Tag: cli-test" in headers
    assert "numbers" not in headers  # headers only, not the body


def tries_of(srv, qid):
    return srv.log_text().count(f"queue: id={qid} to=<bob@remote.test> status=deferred")


def next_retry_s(srv):
    """Seconds until the deferred recipient's next retry, from `queue list` ("1h6m", "59m58s")."""
    out = srv.cli("queue", "list").stdout
    m = re.search(r"deferred \(\d+ attempts?, last \S+ ago, next in (\S+)\)", out)
    assert m, out
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", m.group(1)))


def test_flush_retries_now_without_lengthening_the_backoff(deferred):
    """Issue 11: a flush counted as an attempt and pushed the next retry further out (min_backoff
    3600 s: the second retry would come 4000 s after the flush). It retries now, and the
    recipient keeps its attempt count and the retry it was waiting for."""
    srv, qid = deferred
    assert tries_of(srv, qid) == 1
    before = next_retry_s(srv)
    r = srv.cli("queue", "flush", f"<{qid}@{HOSTNAME}>")
    assert f"{qid}: flushed" in r.stdout
    wait_until(lambda: tries_of(srv, qid) == 2, what="a second try after flush")
    assert "deferred (1 attempt," in srv.cli("queue", "list").stdout
    assert next_retry_s(srv) <= before
    r = srv.cli("queue", "flush")
    assert re.search(r"flushed 1 message", r.stdout), r.stdout
    wait_until(lambda: tries_of(srv, qid) == 3, what="a third try after flush of the whole queue")
    assert "deferred (1 attempt," in srv.cli("queue", "list").stdout
    assert next_retry_s(srv) <= before
    assert len(list(srv.maildir("kate@example.test").iterdir())) == 1  # never delivered twice


def test_bounce_returns_the_message_to_the_sender(deferred):
    srv, qid = deferred
    r = srv.cli("queue", "bounce", f"{qid}@{HOSTNAME}")
    assert "returned to sender (1 recipient(s))" in r.stdout
    wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout, what="an empty queue")
    dsn_files = srv.wait_for_mail("chris@example.test")
    assert len(dsn_files) == 1
    dsn = parse_maildir_file(dsn_files[0].read_bytes())
    assert dsn["Return-Path"] == "<>"
    report = dsn.get_payload()[1].get_payload()
    rcpts = report[1:]
    assert [b["Final-Recipient"] for b in rcpts] == ["rfc822; bob@remote.test"]
    assert rcpts[0]["Action"] == "failed" and rcpts[0]["Status"] == "5.0.0"
    assert report[0]["X-Mailroom-Queue-ID"] == qid
    assert "numbers" in dsn.get_payload()[2].as_string()
    r = srv.cli("queue", "show", qid, check=False)
    assert r.returncode == 1 and "not in the queue" in r.stderr


def test_delete_removes_silently(deferred):
    srv, qid = deferred
    r = srv.cli("queue", "delete", f"<{qid}@{HOSTNAME}>")
    assert f"{qid}: deleted" in r.stdout
    assert "Mail queue is empty" in srv.cli("queue", "list").stdout
    assert not list((srv.data_dir / "queue" / "messages").iterdir())
    r = srv.cli("queue", "delete", qid, check=False)
    assert r.returncode == 1 and "not in the queue" in r.stderr
    # No DSN for a deletion, and the server keeps running and accepting mail.
    code, line, _ = send_message(srv.port(), "x@contoso.com", ["kate@example.test"], "Subject: after\r\n\r\n.\r\n")
    assert code == 250, line
    srv.wait_for_mail("kate@example.test", count=2)
    assert not srv.maildir("chris@example.test").exists() or not any(srv.maildir("chris@example.test").iterdir())


def test_bad_and_unknown_ids(deferred):
    srv, qid = deferred
    unknown = "0" * 21
    for verb in ("show", "delete", "bounce", "flush"):
        r = srv.cli("queue", verb, unknown, check=False)
        assert r.returncode == 1, (verb, r.stdout, r.stderr)
        r = srv.cli("queue", verb, "../../etc/passwd", check=False)
        assert r.returncode == 2, (verb, r.stdout, r.stderr)
    # Refusals changed nothing.
    assert qid in srv.cli("queue", "list").stdout


def test_commands_also_work_while_no_server_runs(deferred):
    srv, qid = deferred
    srv.stop()
    assert qid in srv.cli("queue", "list").stdout
    r = srv.cli("queue", "bounce", f"<{qid}@{HOSTNAME}>")
    assert "the DSN is sent when the server starts" in r.stdout
    assert "failed, DSN pending: 5.0.0" in srv.cli("queue", "list").stdout
    srv.start()
    wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout, what="an empty queue")
    assert len(srv.wait_for_mail("chris@example.test")) == 1
