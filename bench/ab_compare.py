#!/usr/bin/python3
"""bench/ab_compare.py: one throughput scenario against two mailroom builds (or settings), interleaved.

Answers "is B slower than A?" for changes that should cost nothing (issue 10's "scenario (a)
within noise of before"). Starts both servers side by side (bench/mailroom_instance.py, each in
its own bench/work/ folder), warms both up, then runs the scenario --runs times on each in ABBA
order, so drift of the shared machine (other work, the file system's state) falls on both
alike. For each run it reports msg/s, the server's CPU per message and that CPU's user-space
part: the kernel's part (file creation, fsync, TCP) varies with the disk's state from run to
run, while the user-space part is the cost of mailroom's own code. The summary gives each
side's median and spread and B/A for each figure.

    /usr/bin/python3 bench/ab_compare.py --a OLD/mailroom --a-legacy-config \\
        --b build/release/mailroom [--scenario a] [--runs 6] [--quick] [--b-no-tracking] \\
        [--fresh-fs --settle-s 0]

--a-legacy-config writes no key a build from before the logs would refuse (e.g. af078a9).
Figures go to bench/work/ab_compare.json; copy what matters into ANALYSIS.md by hand.
Loopback only; stops only what it started; needs root (Maildir ownership, as bench/run.py).
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from certs import bench_certificate  # noqa: E402
import contextlib  # noqa: E402

from common import WORK_DIR, fresh_ext4, free_loopback_port, isolate_work_dirs  # noqa: E402
from mailroom_instance import MailroomInstance  # noqa: E402
from measure import run_throughput  # noqa: E402
from scenarios import DOMAIN, SCENARIOS, WARMUP, Throughput, recipient_local_parts  # noqa: E402

# SETTLE: ext4 without a journal (this machine's root) does not reuse an inode freed in the last
# vm.dirty_expire_centisecs (30 s) and scans past each one, so for half a minute after the old
# bench folders are deleted every file created costs much more kernel time: the first runs of a
# series came out at half speed for both sides alike (2026-11-30).
FIGURES = ("messages_per_s", "cpu_ms_per_message", "user_cpu_ms_per_message")


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def alternate(servers, scenario, runs, quick, report):
    """Runs `scenario` `runs` times on each of the two named servers in ABBA order.

    Returns {name: [run dict]}; calls report(name, index, run dict) after each run."""
    names = list(servers)
    results = {name: [] for name in names}
    for i in range(runs):
        order = names if i % 2 == 0 else list(reversed(names))
        for name in order:
            before = loadavg()
            r = run_throughput(servers[name], scenario, quick)
            run = {"messages_per_s": r.messages_per_s, "messages": r.messages,
                   "cpu_ms_per_message": r.cpu_ms_per_message,
                   "user_cpu_ms_per_message": r.user_cpu_ms_per_message,
                   "other_cpu_s": r.other_cpu_s, "load_before": before, "load_after": loadavg()}
            results[name].append(run)
            report(name, i, run)
    return results


def summarize(results, a, b):
    summary = {}
    for figure in FIGURES:
        row = {}
        for name in (a, b):
            values = [run[figure] for run in results[name]]
            row[name] = {"median": statistics.median(values), "min": min(values),
                         "max": max(values)}
        row["b_over_a"] = row[b]["median"] / row[a]["median"]
        summary[figure] = row
    return summary


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", required=True, help="mailroom binary A (the reference)")
    p.add_argument("--b", required=True, help="mailroom binary B (may be the same file)")
    p.add_argument("--a-legacy-config", action="store_true")
    p.add_argument("--b-legacy-config", action="store_true")
    p.add_argument("--a-no-tracking", action="store_true", help="[log] tracking = false for A")
    p.add_argument("--b-no-tracking", action="store_true", help="[log] tracking = false for B")
    p.add_argument("--scenario", default="a", help="a throughput key of bench/scenarios.py")
    p.add_argument("--runs", type=int, default=6)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--settle-s", type=float, default=35.0,
                   help="pause after the warm-up (see SETTLE at the top); 0 for none")
    p.add_argument("--fresh-fs", action="store_true",
                   help="each server on a new ext4 of its own (common.fresh_ext4) instead of "
                   "bench/work/, so neither inherits the disk's state from earlier runs")
    args = p.parse_args(argv)
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        sys.exit("run as root (Maildir ownership, as bench/run.py)")
    by_key = {s.key: s for s in SCENARIOS if isinstance(s, Throughput)}
    if args.scenario not in by_key:
        p.error(f"unknown scenario {args.scenario}; known: {', '.join(by_key)}")
    scenario = by_key[args.scenario]
    isolate_work_dirs()
    cert, key = bench_certificate()
    with contextlib.ExitStack() as disks:
        work_dirs = {side: WORK_DIR for side in "AB"}
        if args.fresh_fs:
            for side in work_dirs:
                work_dirs[side] = disks.enter_context(
                    fresh_ext4(os.path.join(WORK_DIR, f"ab-fs-{side}")))
        summary = compare(args, scenario, cert, key, work_dirs)
    print(json.dumps({k: v for k, v in summary.items() if k != "runs_detail"}, indent=2))
    with open(os.path.join(WORK_DIR, "ab_compare.json"), "w") as f:
        json.dump(summary, f, indent=2)


def compare(args, scenario, cert, key, work_dirs):
    mailboxes = recipient_local_parts(scenario.recipients)
    servers = {
        "A": MailroomInstance(os.path.abspath(args.a), free_loopback_port(), DOMAIN, mailboxes,
                              cert, key, work_name="mailroom-ab-a",
                              tracking=not args.a_no_tracking,
                              legacy_config=args.a_legacy_config, work_dir=work_dirs["A"]),
        "B": MailroomInstance(os.path.abspath(args.b), free_loopback_port(), DOMAIN, mailboxes,
                              cert, key, work_name="mailroom-ab-b",
                              tracking=not args.b_no_tracking,
                              legacy_config=args.b_legacy_config, work_dir=work_dirs["B"]),
    }

    def report(name, i, run):
        print(f"run {i + 1} {name}: {run['messages_per_s']:7.0f} msg/s, "
              f"{run['cpu_ms_per_message']:.3f} CPU ms/msg ({run['user_cpu_ms_per_message']:.3f} "
              f"user), others {run['other_cpu_s']:.2f} CPU s, load {run['load_before']:.2f} -> "
              f"{run['load_after']:.2f}", flush=True)

    try:
        for s in servers.values():
            s.start()
        for s in servers.values():
            run_throughput(s, WARMUP, False)
        time.sleep(args.settle_s)
        results = alternate(servers, scenario, args.runs, args.quick, report)
    finally:
        for s in servers.values():
            s.stop()
    return {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "scenario": scenario.key, "runs": args.runs, "quick": args.quick,
            "fresh_fs": args.fresh_fs,
            "A": {"binary": args.a, "version": servers["A"].version(),
                  "legacy_config": args.a_legacy_config, "tracking": not args.a_no_tracking},
            "B": {"binary": args.b, "version": servers["B"].version(),
                  "legacy_config": args.b_legacy_config, "tracking": not args.b_no_tracking},
            "figures": summarize(results, "A", "B"), "runs_detail": results}


if __name__ == "__main__":
    main(sys.argv[1:])
