"""Message tracking over real TCP (journal/tracking_event.hpp, `mailroom track`): every stage of a
message leaves one JSON line — RECEIVE at the 250, DELIVER into a local Maildir, DEFER then SEND
to a remote peer (aiosmtpd on 127.0.0.2), FAIL and the DSN it causes (itself delivered), EXPIRE,
DELETE and FAIL by the administrator (`queue delete`, `queue bounce`) — and `mailroom track`
finds the message by each filter, as a table or one JSON document, skipping and counting
damaged lines.
"""
import json
import time

from log_support import log_dir, tracking_events, tracking_files
from peer_support import mx_port
from queue_support import send_message, wait_until
from remote_support import RemoteServer

LISTENER = {"name": "inbound", "tls": "none", "auth": "none", "relay": "ranges",
            "relay_ranges": ["127.0.0.0/8"]}
SENDER = "chris@example.test"


def message(mid, text="hello"):
    return f"From: <{SENDER}>\r\nSubject: t\r\nMessage-ID: <{mid}>\r\n\r\n{text}\r\n"


def start(mailroom, port=None, queue=None, **delivery):
    d = {"destination_backoff_s": 0, "tls": "none"}
    if port:
        d["relayhost"] = f"[127.0.0.2]:{port}"
    d.update(delivery)
    q = {"min_backoff_s": 1, "max_backoff_s": 1}
    q.update(queue or {})
    srv = mailroom([dict(LISTENER)], extra={"delivery": d, "queue": q})
    srv.add_user(SENDER, "pw")
    srv.add_user("bob@example.test", "pw")
    srv.start()
    return srv


def events_of(srv, qid):
    return [e for e in tracking_events(log_dir(srv)) if e.get("id") == qid]


def wait_event(srv, qid, event):
    wait_until(lambda: any(e["event"] == event for e in events_of(srv, qid)), timeout=30,
               what=f"{event} for {qid}")
    return [e for e in events_of(srv, qid) if e["event"] == event]


def track(srv, *args):
    return srv.cli("track", *args, check=False)


def track_json(srv, *args):
    r = track(srv, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_local_delivery_and_every_filter(mailroom):
    srv = start(mailroom)
    code, line, qid = send_message(srv.port(), SENDER, ["bob@example.test"], message("trk-1@x"))
    assert code == 250, line
    code, line, other = send_message(srv.port(), "zed@example.org", ["bob@example.test"],
                                     message("trk-2@x"))
    assert code == 250, line
    (deliver,) = wait_event(srv, qid, "DELIVER")
    assert deliver["recipient"] == "bob@example.test"
    assert deliver["next_hop"] == "maildir"
    wait_event(srv, other, "DELIVER")

    (receive,) = events_of(srv, qid)[:1]
    assert receive["event"] == "RECEIVE"
    assert receive["client"] == "127.0.0.1"
    assert receive["listener"] == "inbound"
    assert receive["sender"] == SENDER
    assert receive["recipients"] == ["bob@example.test"]
    assert receive["message_id"] == "<trk-1@x>"
    assert receive["size"] > 0

    table = track(srv, "--id", f"<{qid}@mx.example.test>")  # as pasted from the 250 reply
    assert table.returncode == 0, table.stderr
    assert "RECEIVE" in table.stdout and "DELIVER" in table.stdout
    assert f"{qid}: <bob@example.test> DELIVER" in table.stdout
    assert other not in table.stdout

    doc = track_json(srv, "--id", qid)
    (m,) = doc["messages"]
    assert m["id"] == qid
    assert m["final"] == {"bob@example.test": "DELIVER"}
    assert [e["event"] for e in m["events"]] == ["RECEIVE", "DELIVER"]
    assert doc["damaged_lines"] == 0

    for args, want in ((("--message-id", "trk-1@x"), {qid}),
                       (("--message-id", "<trk-2@x>"), {other}),
                       (("--from", "ZED@example.org"), {other}),
                       (("--to", "bob@example.test"), {qid, other}),
                       (("--to", "bob@example.test", "--from", SENDER), {qid}),
                       (("--since", "1h"), {qid, other})):
        got = {m["id"] for m in track_json(srv, *args)["messages"]}
        assert got == want, args
    r = track(srv, "--since", "2099-01-01")
    assert r.returncode == 1
    r = track(srv, "--id", "not-an-id")
    assert r.returncode == 2
    r = track(srv, "--since", "yesterday")
    assert r.returncode == 2


def test_deferred_then_sent_to_the_peer(mailroom):
    port = mx_port()
    srv = start(mailroom, port)
    code, line, qid = send_message(srv.port(), SENDER, ["amy@dom.test"], message("trk-3@x"))
    assert code == 250, line
    defer = wait_event(srv, qid, "DEFER")[0]  # nothing listens on 127.0.0.2 yet
    assert defer["recipient"] == "amy@dom.test"
    assert "retry_at" in defer
    peer = RemoteServer("127.0.0.2", port)
    try:
        srv.cli("queue", "flush", qid)
        peer.wait_for(1)
        (send,) = wait_event(srv, qid, "SEND")
    finally:
        peer.stop()
    assert send["recipient"] == "amy@dom.test"
    assert f"127.0.0.2]:{port}" in send["next_hop"]
    assert send["reply"].startswith("250")
    doc = track_json(srv, "--id", qid)
    (m,) = doc["messages"]
    events = [e["event"] for e in m["events"]]
    assert events[0] == "RECEIVE" and events[-1] == "SEND" and "DEFER" in events
    assert m["final"] == {"amy@dom.test": "SEND"}


def test_bounce_fail_dsn_and_the_dsn_delivered(mailroom):
    port = mx_port()
    peer = RemoteServer("127.0.0.2", port, rcpt_replies={"nobody@dom.test": "550 5.1.1 No such user"})
    try:
        srv = start(mailroom, port)
        code, line, qid = send_message(srv.port(), SENDER, ["nobody@dom.test"], message("trk-4@x"))
        assert code == 250, line
        (fail,) = wait_event(srv, qid, "FAIL")
        (dsn,) = wait_event(srv, qid, "DSN")
    finally:
        peer.stop()
    assert "550" in fail["reply"] and "No such user" in fail["reply"]
    assert dsn["kind"] == "failed" and dsn["sender"] == SENDER
    dsn_id = dsn["dsn_id"]
    wait_event(srv, dsn_id, "DELIVER")
    doc = track_json(srv, "--id", qid)
    ids = [m["id"] for m in doc["messages"]]
    assert ids == [qid, dsn_id]  # the DSN is followed one level down
    assert doc["messages"][0]["final"] == {"nobody@dom.test": "FAIL"}
    assert doc["messages"][1]["final"] == {SENDER: "DELIVER"}
    table = track(srv, "--id", qid).stdout
    assert f"dsn={dsn_id}" in table


def test_expire_delete_and_admin_bounce(mailroom):
    port = mx_port()  # nothing ever listens there
    srv = start(mailroom, port, queue={"max_lifetime_s": 2})
    code, line, expiring = send_message(srv.port(), SENDER, ["amy@dom.test"], message("trk-5@x"))
    assert code == 250, line
    (expire,) = wait_event(srv, expiring, "EXPIRE")
    assert expire["reply"].startswith("4.4.7")
    wait_event(srv, expiring, "DSN")
    srv.stop()

    srv2 = start(mailroom, port)
    code, line, qid = send_message(srv2.port(), SENDER, ["amy@dom.test"], message("trk-6@x"))
    assert code == 250, line
    wait_event(srv2, qid, "DEFER")
    srv2.cli("queue", "delete", qid)
    (delete,) = wait_event(srv2, qid, "DELETE")
    assert delete["recipients"] == ["amy@dom.test"]
    doc = track_json(srv2, "--id", qid)
    assert doc["messages"][0]["final"] == {"amy@dom.test": "DELETE"}

    # `queue bounce`: the administrator fails the pending recipients, and the sender is told.
    code, line, bounced = send_message(srv2.port(), SENDER, ["amy@dom.test"], message("trk-8@x"))
    assert code == 250, line
    wait_event(srv2, bounced, "DEFER")
    srv2.cli("queue", "bounce", bounced)
    (fail,) = wait_event(srv2, bounced, "FAIL")
    assert fail["recipient"] == "amy@dom.test"
    (dsn,) = wait_event(srv2, bounced, "DSN")
    assert dsn["kind"] == "failed"


def test_damaged_lines_are_skipped_and_counted(mailroom):
    srv = start(mailroom)
    code, line, qid = send_message(srv.port(), SENDER, ["bob@example.test"], message("trk-7@x"))
    assert code == 250, line
    wait_event(srv, qid, "DELIVER")
    srv.stop()
    newest = tracking_files(log_dir(srv))[-1]
    good = newest.read_bytes().splitlines()[0]
    with open(newest, "ab") as f:
        f.write(b"garbage\n" + b"\x00\xff\x1b[2J\n" + good[: len(good) // 2] + b"\n")
    r = track(srv, "--from", SENDER)
    assert r.returncode == 0, r.stderr
    assert "3 damaged lines skipped" in r.stderr
    assert "\x1b" not in r.stdout
    doc = json.loads(track(srv, "--from", SENDER, "--json").stdout)
    assert doc["damaged_lines"] == 3
    assert [e["event"] for e in doc["messages"][0]["events"]] == ["RECEIVE", "DELIVER"]
