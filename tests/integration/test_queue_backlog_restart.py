"""A server restarted on a large backlog serves at once (src/queue/runtime.hpp: the queue files
are read by a recovery thread, not before the listeners serve):

  * 2,000 messages deferred to a remote domain whose DNS does not answer, then kill -9;
  * right after the restart a new local message is accepted (250) and delivered, and the whole
    backlog is back in the queue, each message once, with its deferred state;
  * an admin command posted while the server recovers is carried out on the recovered queue.
Order, not time, is what is checked: nothing here measures how long recovery takes.
"""
import re
import smtplib
import threading

from queue_support import wait_until
from test_hostile_support import USER, listener, make_server

BACKLOG = 2000
SENDERS = 4
RECOVERED_RE = re.compile(r"queue: recovered (\d+) messages")


def fill_backlog(port):
    ids, errors = [], []
    lock = threading.Lock()

    def sender(n):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                s.ehlo("client.example.org")
                for i in range(BACKLOG // SENDERS):
                    s.mail("chris@example.test")
                    s.rcpt(f"user{n}-{i}@remote.example")
                    code, text = s.data(f"Subject: backlog {n}-{i}\r\n\r\nbody\r\n")
                    m = re.match(r"2\.6\.0 <([0-9a-z]+)@[^>]+> Queued mail for delivery$",
                                 text.decode())
                    assert code == 250 and m, (code, text)
                    with lock:
                        ids.append(m.group(1))
        except Exception as e:
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    return ids


def queued_ids(srv):
    out = srv.cli("queue", "list").stdout
    return set(re.findall(r"^(\w{21})", out, re.M))


def test_restart_on_a_backlog_accepts_mail_and_recovers_every_message(mailroom):
    relay = listener(relay="ranges", relay_ranges=["127.0.0.0/8"])
    srv = make_server(mailroom, [relay])
    ids = fill_backlog(srv.port())
    assert len(set(ids)) == BACKLOG
    wait_until(lambda: srv.log_text().count("status=deferred") >= BACKLOG, timeout=300,
               what="every backlog message to be tried once and deferred")

    srv.kill9()
    srv.start()
    # The new message goes through while the backlog may still be read back.
    with smtplib.SMTP("127.0.0.1", srv.port(), timeout=60) as s:
        s.sendmail("chris@example.test", [USER], "Subject: after the restart\r\n\r\nhello\r\n")
    r = srv.cli("queue", "delete", ids[0], check=False)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert len(srv.wait_for_mail(USER, count=1)) == 1

    wait_until(lambda: RECOVERED_RE.search(srv.log_text().split("event=started")[-1]),
               timeout=300, what="the end of recovery")
    recovered = [int(n) for n in RECOVERED_RE.findall(srv.log_text())]
    assert recovered[-1] == BACKLOG, recovered
    assert queued_ids(srv) == set(ids[1:]), "every deferred message once, the deleted one gone"
