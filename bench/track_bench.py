#!/usr/bin/python3
"""bench/track_bench.py: how fast `mailroom track --id` answers on a month of tracking logs.

Generates a realistic tracking log (default ~1 GB, 30 days) in exactly the layout the server's
writer produces (src/journal/rotating_file.hpp, tracking_event.hpp): files
tracking-YYYYMMDDTHHMMSSZ-NNNN.jsonl rotated at 10 MiB or daily, one compact JSON object per
line with sorted keys (nlohmann's dump), and for each closed file the sidecar .idx
("#first=<unix> last=<unix>" then its queue ids, sorted). The newest file is left open (no
index), as on a running server. Messages: RECEIVE, then DELIVER (80 %), SEND (15 %), DEFER
and a SEND minutes to hours later (4 %), or FAIL + DSN + the DSN's DELIVER (1 %).

Then times `mailroom track --log-dir DIR --id ID --json` for ids spread over the month, each run
with the log's pages dropped from the page cache first (posix_fadvise DONTNEED on every file:
a cold cache, as for an administrator's first query) and again warm, checks every answer against
what was generated, and times one full-scan query (--from) for contrast.

    /usr/bin/python3 bench/track_bench.py --mailroom build/release/mailroom [--size-mb 1024]
"""
import argparse
import heapq
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
MAX_FILE_BYTES = 10 << 20
ROTATE_S = 86400


def b32(value, chars):
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(chars - 1, -1, -1))


def iso(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{ms % 1000:03d}Z"


class Writer:
    """The writer's file layout: rotation by size or age, sidecar index at close."""

    def __init__(self, directory):
        self.dir = directory
        self.f = None
        self.total = 0

    def _open(self, unix):
        n = 0
        while True:
            name = "tracking-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(unix)) + f"-{n:04d}.jsonl"
            path = os.path.join(self.dir, name)
            if not os.path.exists(path):
                break
            n += 1
        self.path, self.f, self.bytes, self.opened = path, open(path, "w"), 0, unix
        self.first = self.last = unix
        self.keys = set()

    def _close(self, index=True):
        self.f.close()
        if index:
            with open(self.path + ".idx.tmp", "w") as idx:
                idx.write(f"#first={self.first} last={self.last}\n")
                idx.writelines(k + "\n" for k in sorted(self.keys))
            os.rename(self.path + ".idx.tmp", self.path + ".idx")
        self.f = None

    def write(self, unix, line, keys):
        if self.f and (self.bytes + len(line) > MAX_FILE_BYTES or unix - self.opened >= ROTATE_S):
            self._close()
        if not self.f:
            self._open(unix)
        self.f.write(line)
        self.bytes += len(line)
        self.total += len(line)
        self.last = unix
        self.keys.update(keys)

    def finish(self):
        if self.f:
            self._close(index=False)  # the current file of a running server has no index yet


def generate(directory, size_bytes, days, seed):
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        os.unlink(os.path.join(directory, name))
    start_ms = (int(time.time()) - days * 86400) * 1000
    span_ms = days * 86400 * 1000
    # About 520 bytes of log per message (measured on a first run: 749 MiB for 1.53 M messages).
    messages = int(size_bytes / 520)
    step = span_ms / messages
    w = Writer(directory)
    pending = []  # (time_ms, seq, line, keys) of events after the RECEIVE
    expected = {}  # sample of ids -> events generated
    sample_every = max(1, messages // 2000)
    seq = 0
    proc_random = rng.getrandbits(30)

    def emit_due(until_ms):
        while pending and pending[0][0] <= until_ms:
            t, _, line, keys = heapq.heappop(pending)
            w.write(t // 1000, line, keys)

    for i in range(messages):
        t = int(start_ms + i * step + rng.random() * step)
        qid = b32(t * 1000, 11) + b32(i & 0xFFFFF, 4) + b32(proc_random, 6)
        user = rng.randrange(5000)
        sender = f"user{user}@example.org"
        rcpts = [f"rcpt{rng.randrange(20000)}@example.test" for _ in range(1 + (rng.random() < 0.2))]
        ev = [(t, {"client": f"192.0.2.{rng.randrange(1, 255)}", "event": "RECEIVE", "id": qid,
                   "listener": "inbound", "message_id": f"<{qid}.{user}@mail.example.org>",
                   "recipients": rcpts, "sender": sender, "size": rng.randrange(2000, 200000),
                   "time": iso(t)})]
        r = rng.random()
        for rc in rcpts:
            d = t + rng.randrange(50, 2000)
            if r < 0.80:
                ev.append((d, {"event": "DELIVER", "id": qid, "next_hop": "maildir", "recipient": rc,
                               "reply": "2.0.0 delivered to maildir", "time": iso(d)}))
            elif r < 0.95:
                ev.append((d, {"event": "SEND", "id": qid, "next_hop": "mx1.example.net[198.51.100.7]:25",
                               "recipient": rc, "reply": "250 2.0.0 Ok: queued as 4Xyz1", "time": iso(d)}))
            elif r < 0.99:
                later = d + rng.randrange(300_000, 4 * 3_600_000)
                ev.append((d, {"event": "DEFER", "id": qid, "next_hop": "mx1.example.net[198.51.100.7]:25",
                               "recipient": rc, "reply": "451 4.7.1 Greylisted, try again later",
                               "retry_at": iso(d + 300_000), "time": iso(d)}))
                ev.append((later, {"event": "SEND", "id": qid, "next_hop": "mx1.example.net[198.51.100.7]:25",
                                   "recipient": rc, "reply": "250 2.0.0 Ok", "time": iso(later)}))
            else:
                dsn = b32((d + 5) * 1000, 11) + b32((i + 500000) & 0xFFFFF, 4) + b32(proc_random, 6)
                ev.append((d, {"event": "FAIL", "id": qid, "next_hop": "mx1.example.net[198.51.100.7]:25",
                               "recipient": rc, "reply": "550 5.1.1 <" + rc + ">: Recipient address rejected",
                               "time": iso(d)}))
                ev.append((d + 5, {"dsn_id": dsn, "event": "DSN", "id": qid, "kind": "failed",
                                   "recipients": [rc], "sender": sender, "time": iso(d + 5)}))
                ev.append((d + 40, {"event": "DELIVER", "id": dsn, "next_hop": "maildir",
                                    "recipient": sender, "reply": "2.0.0 delivered to maildir",
                                    "time": iso(d + 40)}))
        emit_due(t)
        for when, obj in ev:
            line = json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n"
            keys = [obj["id"]] + ([obj["dsn_id"]] if "dsn_id" in obj else [])
            if when <= t:
                w.write(when // 1000, line, keys)
            else:
                seq += 1
                heapq.heappush(pending, (when, seq, line, keys))
        if i % sample_every == 0:
            expected[qid] = len(ev)  # the DSN's own events are followed too: counted in ev
    emit_due(float("inf"))
    w.finish()
    return w.total, messages, expected


def drop_cache(directory):
    for name in os.listdir(directory):
        fd = os.open(os.path.join(directory, name), os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def run_track(binary, directory, *args):
    """-> (wall seconds, CPU seconds of the track process, CompletedProcess)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    r = subprocess.run([binary, "track", "--log-dir", directory, *args, "--json"],
                       capture_output=True, text=True)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, r


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mailroom", required=True)
    p.add_argument("--dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "work", "track"))
    p.add_argument("--size-mb", type=int, default=1024)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--queries", type=int, default=20)
    p.add_argument("--reuse", action="store_true", help="keep an already generated log")
    p.add_argument("--seed", type=int, default=15)
    args = p.parse_args(argv)
    binary = os.path.abspath(args.mailroom)

    if args.reuse and os.path.exists(os.path.join(args.dir, "expected.json")):
        with open(os.path.join(args.dir, "expected.json")) as f:
            meta = json.load(f)
    else:
        started = time.monotonic()
        total, messages, expected = generate(args.dir + "/log", args.size_mb << 20, args.days, args.seed)
        meta = {"bytes": total, "messages": messages, "expected": expected,
                "generated_s": round(time.monotonic() - started, 1)}
        with open(os.path.join(args.dir, "expected.json"), "w") as f:
            json.dump(meta, f)
    logdir = args.dir + "/log"
    files = [n for n in os.listdir(logdir) if n.endswith(".jsonl")]
    print(f"log: {meta['bytes'] / 2**20:,.0f} MiB in {len(files)} files, {meta['messages']:,} messages"
          f" over {args.days} days (generated in {meta['generated_s']} s)")

    rng = random.Random(args.seed + 1)
    ids = sorted(meta["expected"])
    chosen = sorted(rng.sample(ids, min(args.queries, len(ids))))
    cold, warm, cpu, read_files = [], [], [], []
    for qid in chosen:
        drop_cache(logdir)
        load = loadavg()
        t, c, r = run_track(binary, logdir, "--id", qid)
        if r.returncode != 0:
            sys.exit(f"track --id {qid} failed: {r.returncode} {r.stderr}")
        doc = json.loads(r.stdout)
        got = sum(len(m["events"]) for m in doc["messages"])
        if got != meta["expected"][qid] or doc["damaged_lines"] != 0:
            sys.exit(f"track --id {qid}: {got} events, expected {meta['expected'][qid]}")
        cold.append(t)
        read_files.append(doc["files_read"])
        t2, c2, _ = run_track(binary, logdir, "--id", qid)
        warm.append(t2)
        cpu.append(c2)
        print(f"  --id {qid}: cold {t * 1000:7.1f} ms, warm {t2 * 1000:6.1f} ms "
              f"(CPU {c2 * 1000:.0f} ms), {doc['files_read']} of {len(files)} files read, "
              f"{got} events, load {load}")
    drop_cache(logdir)
    load = loadavg()
    t_scan, _, r = run_track(binary, logdir, "--from", "user4242@example.org")
    doc = json.loads(r.stdout)
    t_scan_warm, c_scan, _ = run_track(binary, logdir, "--from", "user4242@example.org")
    result = {
        "log_mib": round(meta["bytes"] / 2**20), "files": len(files), "messages": meta["messages"],
        "id_queries": len(chosen),
        "id_cold_ms": {"median": round(statistics.median(cold) * 1000, 1),
                       "max": round(max(cold) * 1000, 1)},
        "id_warm_ms": {"median": round(statistics.median(warm) * 1000, 1),
                       "max": round(max(warm) * 1000, 1)},
        "id_warm_cpu_ms": {"median": round(statistics.median(cpu) * 1000, 1),
                           "max": round(max(cpu) * 1000, 1)},
        "id_files_read": {"median": statistics.median(read_files), "max": max(read_files)},
        "from_scan_cold_s": round(t_scan, 2), "from_scan_warm_s": round(t_scan_warm, 2),
        "from_scan_warm_cpu_s": round(c_scan, 2),
        "from_scan_messages": len(doc["messages"]), "load_1min_at_scan": load,
    }
    print(json.dumps(result, indent=2))
    with open(os.path.join(args.dir, "result.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
