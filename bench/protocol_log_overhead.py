#!/usr/bin/python3
"""bench/protocol_log_overhead.py: scenario (a) against mailroom with the protocol log off and on.

Issue 15 allows the protocol log to cost at most 10 % of scenario (a)'s throughput. This starts
two mailroom servers from the same binary and config (bench/mailroom_instance.py), one with
`protocol_log = true` on its listener, warms both up, then runs scenario (a) (smtp-source, 20
sessions, 4 KB, a new connection per message, delivered into Maildirs) --runs times on each,
alternating which goes first, and prints the medians, the ratio, the 1-minute load average
beside each run and the protocol log's size per message. The message tracking log is on in
both (its default). Figures go to bench/work/protocol_log_overhead.json; copy them into
RESULTS.md by hand.

    /usr/bin/python3 bench/protocol_log_overhead.py --mailroom build/release/mailroom [--runs 3] [--quick]
"""
import argparse
import glob
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ab_compare import alternate  # noqa: E402
from certs import bench_certificate  # noqa: E402
from common import WORK_DIR, free_loopback_port, isolate_work_dirs  # noqa: E402
from mailroom_instance import MailroomInstance  # noqa: E402
from measure import run_throughput  # noqa: E402
from scenarios import DOMAIN, SCENARIOS, WARMUP, recipient_local_parts  # noqa: E402



def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mailroom", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--log-dir", help="[log] directory of the server with the protocol log on "
                   "(e.g. on a tmpfs, to tell its CPU cost from its disk writes)")
    args = p.parse_args(argv)
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        sys.exit("run as root (Maildir ownership, as bench/run.py)")
    isolate_work_dirs()
    scenario = next(s for s in SCENARIOS if s.key == "a")
    cert, key = bench_certificate()
    mailboxes = recipient_local_parts(1)
    servers = {
        "off": MailroomInstance(os.path.abspath(args.mailroom), free_loopback_port(), DOMAIN,
                                mailboxes, cert, key, work_name="mailroom-plog-off"),
        "on": MailroomInstance(os.path.abspath(args.mailroom), free_loopback_port(), DOMAIN,
                               mailboxes, cert, key, work_name="mailroom-plog-on",
                               protocol_log=True, log_dir=args.log_dir),
    }

    def report(name, i, run):
        print(f"run {i + 1} protocol_log {name:3}: {run['messages_per_s']:7.0f} msg/s, "
              f"{run['cpu_ms_per_message']:.2f} CPU ms/msg, load {run['load_before']:.2f} -> "
              f"{run['load_after']:.2f}", flush=True)

    try:
        for s in servers.values():
            s.start()
        for s in servers.values():
            run_throughput(s, WARMUP, False)
        results = alternate(servers, scenario, args.runs, args.quick, report)
        log_dir = args.log_dir or os.path.join(servers["on"].data_dir, "log")
        log_bytes = sum(os.path.getsize(f) for f in glob.glob(os.path.join(log_dir, "protocol-*")))
        lost = "lines lost" in "".join(open(f).read() for f in glob.glob(os.path.join(log_dir, "protocol-*")))
    finally:
        for s in servers.values():
            s.stop()
    off = statistics.median(r["messages_per_s"] for r in results["off"])
    on = statistics.median(r["messages_per_s"] for r in results["on"])
    total_messages = sum(r["messages"] for r in results["on"]) + WARMUP.messages
    summary = {"runs": args.runs, "quick": args.quick, "log_dir": args.log_dir,
               "median_off": round(off),
               "median_on": round(on), "on_vs_off": round(on / off, 3),
               "protocol_log_bytes_per_message": round(log_bytes / total_messages),
               "lines_lost": lost, "runs_detail": results,
               "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    print(json.dumps({k: v for k, v in summary.items() if k != "runs_detail"}, indent=2))
    with open(os.path.join(WORK_DIR, "protocol_log_overhead.json"), "w") as f:
        json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
