"""Crash test for issue 4: "250 Queued mail for delivery" survives kill -9.

Many parallel SMTP sessions send uniquely tagged messages while another thread kill -9s the
server at random points (random acknowledged-message counts plus a random delay, so the kill lands
mid-DATA, mid-commit, mid-delivery or between them) and restarts it at once. Senders reconnect and
carry on until N messages got a 250. After a last kill and restart the queue must drain, and then:
  - every message that got a 250 is in kate's Maildir exactly once: a kill between the Maildir
    rename and the queue's record of the delivery must not deliver it again (the Maildir file name
    carries the queue id, and a recovered message looks for it: delivery/maildir_agent.hpp);
  - a message that got no 250 (connection lost before the reply) is there at most once;
  - every file is intact (byte-exact body);
  - the queue is empty, with no corrupt or half-written file left.
Only a lost connection (EOF, reset, refused while the server is down) is the kill's doing. Any
other reply than the expected one, a malformed reply line, a 250 without a queue id or a client
left waiting (the server hung) fails the test.
"""
import random
import re
import threading
import time

from conftest import RawSmtp
from queue_support import maildir_messages, smtp_transaction, wait_until

N_ACKED = 1000         # messages that must get a 250
SENDERS = 12           # parallel sessions
PER_SESSION = 8        # messages per session before QUIT
KILLS = 12
HANG_BOUND_S = 600     # only a hung server or test takes this long (a run takes seconds)

TOKEN_RE = re.compile(rb"\nX-Token: (m-\d+-\d+)\n")


def message_for(token):
    lines = [f"line {i:02d} of {token} " + "x" * (i * 3) for i in range(25)]
    return f"Subject: crash {token}\r\nX-Token: {token}\r\n\r\n" + "\r\n".join(lines) + "\r\n"


def stored_body(token):
    """The body as the Maildir must hold it (LF line ends)."""
    return message_for(token).split("\r\n\r\n", 1)[1].replace("\r\n", "\n").encode()


class Load:
    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.acked = {}       # token -> queue id
        self.unacked = set()  # sent, connection lost before the reply
        self.stop = threading.Event()
        # The load goes on until the killer is done too: a server fast enough to acknowledge the
        # last messages while the killer waits for its last kill point must still be killed.
        self.kills_done = threading.Event()
        self.errors = []

    def count(self):
        with self.lock:
            return len(self.acked)

    def fail(self, what):
        with self.lock:
            self.errors.append(what)
        self.stop.set()

    def sender(self, n):
        seq = 0
        while not self.stop.is_set():
            try:
                c = RawSmtp(self.port, timeout=HANG_BOUND_S / 10)
            except ConnectionError:
                time.sleep(0.02)  # the server is down between a kill and its restart
                continue
            except OSError as e:
                return self.fail(f"sender {n}: cannot connect: {e!r}")
            token = None
            try:
                c.expect(None, 220)
                c.expect(f"EHLO sender{n}.contoso.com", 250)
                for _ in range(PER_SESSION):
                    if self.stop.is_set():
                        break
                    seq += 1
                    token = f"m-{n}-{seq}"
                    code, line, qid = smtp_transaction(c, f"s{n}@contoso.com", ["kate@example.test"],
                                                       message_for(token))
                    if code != 250 or not qid:
                        return self.fail(f"{token}: unexpected reply {line!r}")
                    with self.lock:
                        self.acked[token] = qid
                        if len(self.acked) >= N_ACKED and self.kills_done.is_set():
                            self.stop.set()
                    token = None
                c.expect("QUIT", 221)
            except ConnectionError:
                # EOF, reset or refused: the kill's doing. The message in flight may or may not
                # have been committed.
                if token:
                    with self.lock:
                        self.unacked.add(token)
            except Exception as e:  # a malformed or unexpected reply, a hang (timeout), a test bug
                self.fail(f"sender {n}, message {token}: {e!r}")
            finally:
                c.close()


def test_every_acknowledged_message_survives_kill_9(mailroom):
    srv = mailroom([{"name": "inbound", "tls": "none", "auth": "none", "relay": "none"}],
                   extra={"queue": {"min_backoff_s": 1, "max_backoff_s": 2}})
    srv.add_user("kate@example.test", "kate-password")
    srv.start()
    load = Load(srv.port())
    rng = random.Random()
    kill_points = sorted(rng.sample(range(40, N_ACKED - 40), KILLS))
    kills = []
    killer_errors = []

    def killer():
        try:
            for point in kill_points:
                while load.count() < point and not load.stop.is_set():
                    time.sleep(0.005)
                if load.stop.is_set():
                    return
                time.sleep(rng.uniform(0, 0.05))
                srv.kill9()
                kills.append(load.count())
                time.sleep(rng.uniform(0, 0.2))
                srv.start()
            load.kills_done.set()
        except Exception as e:
            killer_errors.append(repr(e))
            load.stop.set()

    threads = [threading.Thread(target=load.sender, args=(i,), daemon=True) for i in range(SENDERS)]
    kt = threading.Thread(target=killer, daemon=True)
    started = time.time()
    for t in threads:
        t.start()
    kt.start()
    stopped = load.stop.wait(HANG_BOUND_S)
    load.stop.set()
    for t in threads:
        t.join(HANG_BOUND_S / 10)
    kt.join(HANG_BOUND_S / 10)
    assert not killer_errors, killer_errors
    assert not load.errors, load.errors
    assert stopped, f"hung: {load.count()} messages acknowledged after {HANG_BOUND_S}s"
    assert load.count() >= N_ACKED
    assert len(kills) == KILLS, kills

    # A last kill with deliveries probably still in flight, then a clean restart that must drain.
    srv.kill9()
    srv.start()
    wait_until(lambda: "Mail queue is empty" in srv.cli("queue", "list").stdout, timeout=60,
               what="the queue to drain after the last restart")

    copies = {}
    corrupt = []
    for path, data in maildir_messages(srv.maildir("kate@example.test").parent):
        m = TOKEN_RE.search(data)
        if not m or not data.startswith(b"Return-Path: <s"):
            corrupt.append(path.name)
            continue
        token = m.group(1).decode()
        if data.split(b"\n\n", 1)[1] != stored_body(token):
            corrupt.append(path.name)
            continue
        copies[token] = copies.get(token, 0) + 1

    acked = load.acked
    missing = [t for t in acked if t not in copies]
    duplicated = {t: n for t, n in copies.items() if n > 1}
    print(f"\ncrash test: acked={len(acked)} unacked_in_flight={len(load.unacked)} "
          f"kills={len(kills)} at acked counts {kills} "
          f"stored={sum(copies.values())} distinct={len(copies)} duplicates={len(duplicated)} "
          f"unacked_delivered={len([t for t in copies if t not in acked])} "
          f"elapsed={time.time() - started:.1f}s")
    assert not corrupt, corrupt[:10]
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {missing[:5]}"
    assert not duplicated, f"{len(duplicated)} messages delivered more than once: {duplicated}"
    # Whatever arrived either got a 250 or lost its connection before the reply.
    assert set(copies) <= set(acked) | load.unacked, set(copies) - set(acked) - load.unacked

    queue_dir = srv.data_dir / "queue"
    assert not list((queue_dir / "messages").iterdir())
    assert not list((queue_dir / "incoming").iterdir())
    assert not (queue_dir / "corrupt").exists()
