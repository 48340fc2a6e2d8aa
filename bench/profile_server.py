#!/usr/bin/python3
"""bench/profile_server.py: where mailroom spends a benchmark scenario (the evidence for ANALYSIS.md).

Starts a mailroom instance exactly as `make bench` does (bench/mailroom_instance.py), warms it
up, then drives one scenario of bench/scenarios.py (measure.run_throughput) five times:
  1. plain, for the msg/s the others are compared with;
  2. under `perf stat` on syscall tracepoints (cheap): syscalls per message, and fsyncs of the
     queue's messages/ directory alone, i.e. how many messages share one group commit;
  3. under `perf record` (sampled DWARF call stacks of every mailroom thread): top symbols,
     inclusive time, and CPU per thread;
  4. under `perf trace -s` of the SMTP I/O thread alone: its idle time (epoll_wait) and time in
     each syscall (a blocking write on that thread stalls every session);
  5. under `strace -f -y -e fsync,fdatasync` (each sync with the path of its descriptor), which
     splits the syncs into queue files, queue directory, Maildir files and Maildir new/ folders.
strace slows the server a lot: its msg/s is not a figure, only its counts per message are.
Around the plain run it also reads /sys/block/DEV/stat of the disk holding bench/work/ (write
I/Os, cache flushes, busy time; the whole machine's, so others' builds are included).
Writes everything under bench/work/profile/<scenario>/ and prints a summary. Loopback only;
stops only what it started. Needs root, perf and strace.
"""

import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from certs import bench_certificate  # noqa: E402
from common import WORK_DIR, BenchError, free_loopback_port  # noqa: E402
from mailroom_instance import MailroomInstance  # noqa: E402
from measure import run_throughput  # noqa: E402
from scenarios import DOMAIN, MAX_RECIPIENTS, SCENARIOS, WARMUP, Throughput, recipient_local_parts  # noqa: E402



def _attach(argv):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # perf and strace need a moment to attach to every thread
    if proc.poll() is not None:
        raise BenchError(f"{argv[0]} exited at once: {proc.stderr.read()[-800:]}")
    return proc


def _detach(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _run(server, scenario, messages):
    sc = Throughput(scenario.key, scenario.group, scenario.title, scenario.sessions, messages,
                    messages, scenario.size_bytes, scenario.recipients, scenario.reuse,
                    scenario.starttls)
    return run_throughput(server, sc, quick=False)


def _run_traced(tracer_argv, server, scenario, messages):
    """One run of the scenario with a tracer (perf, strace) attached for exactly its duration."""
    tracer = _attach(tracer_argv)
    try:
        return _run(server, scenario, messages)
    finally:
        _detach(tracer)


def _describe(label, r):
    return (f"{label}: {r.messages} msgs, {r.messages_per_s:,.0f} msg/s delivered, "
            f"{r.accepted_per_s:,.0f} msg/s accepted, {r.cpu_ms_per_message:.2f} server CPU ms/msg")


def perf_profile(server, scenario, messages, out_dir):
    data = os.path.join(out_dir, "perf.data")
    # DWARF unwinding: the release build keeps no frame pointers, so -g alone loses user stacks.
    result = _run_traced(["perf", "record", "--call-graph", "dwarf,16384", "-F", "499",
                          "-p", str(server.root_pid()), "-o", data], server, scenario, messages)
    reports = {
        "perf-self.txt": ["--no-children", "--sort", "dso,symbol", "-g", "none",
                          "--percent-limit", "0.7"],
        "perf-inclusive.txt": ["--children", "--sort", "symbol", "-g", "none",
                               "--percent-limit", "2"],
        "perf-threads.txt": ["--no-children", "--sort", "pid", "-g", "none"],
    }
    for name, extra in reports.items():
        with open(os.path.join(out_dir, name), "w") as f:
            subprocess.run(["perf", "report", "-i", data, "--stdio", *extra], stdout=f,
                           stderr=subprocess.DEVNULL, check=False)
    return result


COUNTED_SYSCALLS = ["fsync", "fdatasync", "futex", "openat", "mkdir", "rename", "unlink", "write",
                    "pread64", "read", "sendto", "recvfrom", "epoll_wait", "close", "newfstatat"]


def _fd_of(pid, target):
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return int(fd)
        except OSError:
            pass
    return None


def syscall_counts(server, scenario, messages, out_dir):
    """Syscalls per message from kernel tracepoints (perf stat: cheap, the server is not slowed).

    The last counter is fsync() of the queue's messages/ directory only: one per group commit.
    """
    out = os.path.join(out_dir, "perf-stat.csv")
    pid = server.root_pid()
    argv = ["perf", "stat", "-x", ",", "-o", out, "-p", str(pid)]
    argv += ["-e", "context-switches"]
    for name in COUNTED_SYSCALLS:
        argv += ["-e", f"syscalls:sys_enter_{name}"]
    dir_fd = _fd_of(pid, os.path.join(server.data_dir, "queue", "messages"))
    if dir_fd is not None:
        argv += ["-e", "syscalls:sys_enter_fsync", "--filter", f"fd == {dir_fd}"]
    result = _run_traced(argv, server, scenario, messages)
    counts = []
    with open(out) as f:
        for line in f:
            fields = line.strip().split(",")
            if len(fields) >= 3 and (fields[2].startswith("syscalls:")
                                     or fields[2] == "context-switches"):
                counts.append((fields[2].split("sys_enter_")[-1],
                               int(fields[0]) if fields[0].isdigit() else 0))
    named = counts[:len(COUNTED_SYSCALLS) + 1]
    group_commits = counts[-1][1] if len(counts) > len(COUNTED_SYSCALLS) + 1 else None
    return result, named, group_commits


def io_thread_trace(server, scenario, messages, out_dir):
    """`perf trace -s` on the SMTP I/O thread alone (the main thread: tid == pid): how long it
    waits in epoll_wait (idle) and how long it spends in each syscall, e.g. blocked in write()."""
    out = os.path.join(out_dir, "io-thread-syscalls.txt")
    result = _run_traced(["perf", "trace", "-s", "-o", out, "-t", str(server.root_pid())],
                         server, scenario, messages)
    rows = []
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 7 and parts[1].isdigit() and parts[0].isidentifier():
                rows.append((parts[0], int(parts[1]), float(parts[3]), float(parts[6])))
    return result, rows


def strace_syncs(server, scenario, messages, out_dir):
    """Every fsync/fdatasync with the path of its descriptor (strace -y: slows the server)."""
    syncs = os.path.join(out_dir, "strace-syncs.txt")
    return _run_traced(["strace", "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync",
                        "-o", syncs, "-p", str(server.root_pid())], server, scenario, messages)


def _work_disk():
    """The block device (e.g. "vda") whose file system holds bench/work/, or None."""
    best, device = "", None
    with open("/proc/mounts") as f:
        for line in f:
            dev, mount_point = line.split()[:2]
            if WORK_DIR.startswith(mount_point.rstrip("/") + "/") and len(mount_point) > len(best):
                best, device = mount_point, os.path.basename(dev)
    return device if device and os.path.exists(f"/sys/block/{device}/stat") else None


def disk_stats(device):
    """(write I/Os, flush I/Os, ms the device was busy) so far, from /sys/block/DEV/stat."""
    if device is None:
        return 0, 0, 0
    with open(f"/sys/block/{device}/stat") as f:
        v = [int(x) for x in f.read().split()]
    return v[4], (v[15] if len(v) > 15 else 0), v[9]


_SYNC_LINE = re.compile(r"^\d+\s+(fsync|fdatasync)\((\d+)<([^>]*)>")


def classify_syncs(path, data_dir):
    """Counts of fsync/fdatasync calls by what they sync (queue file, queue dir, Maildir...)."""
    kinds = collections.Counter()
    with open(path) as f:
        for line in f:
            m = _SYNC_LINE.match(line)
            if not m:
                continue
            call, target = m.group(1), m.group(3)
            if "/queue/messages" in target and target.endswith("/messages"):
                kind = "queue messages/ directory"
            elif "/queue/" in target:
                kind = "queue file"
            elif target.endswith("/new"):
                kind = "Maildir new/ directory"
            elif "/mailboxes/" in target:
                kind = "Maildir file"
            elif target.endswith("state.db") or "state.db" in target:
                kind = "state.db (SQLite)"
            else:
                kind = target.replace(data_dir, "data_dir")
            kinds[f"{call} {kind}"] += 1
    return kinds


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mailroom", required=True)
    p.add_argument("--scenario", default="a", help="a key of bench/scenarios.py (a, b, c, d, e200, f...)")
    p.add_argument("--messages", type=int, default=None, help="default: the scenario's quick count x2")
    args = p.parse_args(argv)
    by_key = {s.key: s for s in SCENARIOS if isinstance(s, Throughput)}
    if args.scenario not in by_key:
        p.error(f"unknown scenario {args.scenario}; known: {', '.join(by_key)}")
    scenario = by_key[args.scenario]
    messages = args.messages or scenario.quick_messages * 2
    out_dir = os.path.join(WORK_DIR, "profile", scenario.key)
    os.makedirs(out_dir, exist_ok=True)
    cert, key = bench_certificate()
    server = MailroomInstance(os.path.abspath(args.mailroom), free_loopback_port(), DOMAIN,
                              recipient_local_parts(MAX_RECIPIENTS), cert, key,
                              work_name="mailroom-profile")
    server.start()
    lines = [f"profile of scenario {scenario.key} ({scenario.shape()}), {messages} messages/run"]
    try:
        run_throughput(server, WARMUP, False)
        disk = _work_disk()
        before = disk_stats(disk)
        plain = _run(server, scenario, messages)
        after = disk_stats(disk)
        lines.append(_describe("plain run", plain))
        writes, flushes, busy_ms = (a - b for a, b in zip(after, before))
        lines.append(f"  disk {disk} meanwhile (whole machine, others' builds included): "
                     f"{writes / plain.messages:.2f} write I/Os/msg, "
                     f"{flushes / plain.messages:.2f} cache flushes/msg, busy "
                     f"{busy_ms / 1000 / plain.deliver_s:.0%} of the time")
        counted, named, group_commits = syscall_counts(server, scenario, messages, out_dir)
        lines.append(_describe("under perf stat (syscall tracepoints)", counted))
        lines += [f"  {n / counted.messages:8.2f}/msg  {name}" for name, n in named]
        if group_commits:
            lines.append(f"  => {counted.messages / group_commits:.1f} messages per group "
                         f"commit ({group_commits} fsyncs of queue/messages/)")
        lines.append(_describe("under perf record", perf_profile(server, scenario, messages,
                                                                out_dir)))
        io_result, io_rows = io_thread_trace(server, scenario, messages, out_dir)
        lines.append(_describe("under perf trace of the I/O thread", io_result))
        lines.append(f"  I/O thread over {io_result.deliver_s:.2f} s "
                     "(epoll_wait = idle; the rest of the time it was on CPU or runnable):")
        lines += [f"  {name:14s} {calls:7d} calls {total_ms:9.1f} ms total  max {max_ms:7.1f} ms"
                  for name, calls, total_ms, max_ms in sorted(io_rows, key=lambda r: -r[2])[:6]]
        traced = strace_syncs(server, scenario, max(messages // 4, 50), out_dir)
        kinds = classify_syncs(os.path.join(out_dir, "strace-syncs.txt"), server.data_dir)
        lines.append(_describe("under strace -y (slowed)", traced))
        lines.append(f"  fsync family by target ({traced.deliveries} Maildir files):")
        lines += [f"  {n:7d}  {n / traced.messages:6.2f}/msg  {kind}"
                  for kind, n in kinds.most_common()]
    finally:
        server.stop()
        server.clear_mailboxes()
        server.discard_delivered(60)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out_dir, "summary.txt"), "w") as f:
        f.write(text)
    print(text + f"(details in {out_dir})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        print(f"profile: {e}", file=sys.stderr)
        sys.exit(2)
