#!/usr/bin/python3
"""bench/run.py: `make bench`, mailroom against a private Postfix on this machine (issues 6, 13).

Starts both servers on loopback ports (and smtp-sink for the ceiling), runs every selected
scenario --runs times alternating which server goes first, and writes bench/RESULTS.md plus the
raw figures to bench/work/results.json. Stops everything it started, also on error or Ctrl-C.
A failure of one server in one scenario is recorded and reported; the rest still runs.
Scenarios (h) and (i) (remote delivery, issue 13) use a second pair of servers that relay for
loopback clients, a dnsmasq with the remote MX records and smtp-sink as the remote MX. A run of
only (h)/(i) replaces only their section of an existing RESULTS.md.
"""

import argparse
import dataclasses
import datetime
import json
import os
import resource
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import report  # noqa: E402
from certs import bench_certificate  # noqa: E402
from common import (BENCH_DIR, WORK_DIR, BenchError, free_loopback_port,  # noqa: E402
                    isolate_work_dirs)
from dns_instance import DnsInstance  # noqa: E402
from idle_connections import measure_idle  # noqa: E402
from mailroom_instance import MailroomInstance, RelaySetup  # noqa: E402
from measure import run_sink, run_throughput  # noqa: E402
from postfix_instance import PostfixInstance  # noqa: E402
from remote_delivery import run_backlog, run_relay  # noqa: E402
from scenarios import (ALL_GROUPS, DOMAIN, DOWN_DOMAIN, DOWN_MX_ADDRESS,  # noqa: E402
                       MAX_RECIPIENTS, REMOTE_DOMAIN, REMOTE_MX_ADDRESS, SCENARIOS,
                       SINK_SCENARIOS, Backlog, IdleConnections, Relay, Throughput,
                       backlog_default, recipient_local_parts, select)
from sink_instance import SinkInstance  # noqa: E402

WARMUP = Throughput("warmup", "warmup", "warm-up", 20, 300, 100)
FD_HEADROOM = 1024
DISCARD_BUDGET_S = 90


def parse_args(argv):
    p = argparse.ArgumentParser(description="Benchmark mailroom against Postfix (issue 6).")
    p.add_argument("--mailroom", help="path to the mailroom binary (build/release/mailroom)")
    p.add_argument("--postfix-only", action="store_true",
                   help="measure Postfix and smtp-sink only "
                        "(report: bench/work/RESULTS.postfix-only.md)")
    p.add_argument("--quick", action="store_true", help="about a tenth of the messages: smoke run")
    p.add_argument("--scenarios", default=",".join(ALL_GROUPS),
                   help=f"comma-separated subset of {','.join(ALL_GROUPS)} (default: all)")
    p.add_argument("--runs", type=int, default=None, help="runs per scenario (default 5, quick 1)")
    p.add_argument("--backlog-messages", type=int, default=None,
                   help="messages in scenario (i)'s backlog (default: $BACKLOG_MESSAGES, else "
                        "100,000; quick 2,000)")
    p.add_argument("--backlog-runs", type=int, default=1,
                   help="runs of scenario (i) per server (default 1: 100,000 messages through "
                        "Postfix take ~2 minutes to inject and ~2 to drain)")
    p.add_argument("--built-from",
                   help="what the mailroom binary was built from, for the report (default: the "
                        "repository's HEAD, flagged when src/ has uncommitted changes)")
    p.add_argument("--note", help="a sentence for RESULTS.md, e.g. what else ran on the machine")
    p.add_argument("--report-only", action="store_true",
                   help="measure nothing: rewrite the report from bench/work/results.json "
                        "(e.g. after editing bench/ANALYSIS.md)")
    p.add_argument("--output", help="where to write the Markdown report (default bench/RESULTS.md)")
    args = p.parse_args(argv)
    try:
        select(args.scenarios.split(","))
    except ValueError as e:
        p.error(str(e))
    if not args.postfix_only and not args.mailroom and not args.report_only:
        p.error("--mailroom PATH is required (or --postfix-only)")
    if args.runs is None:
        args.runs = 1 if args.quick else 5
    if args.runs < 1 or args.backlog_runs < 1:
        p.error("--runs and --backlog-runs must be at least 1")
    if args.backlog_messages is None and os.environ.get("BACKLOG_MESSAGES"):
        args.backlog_messages = backlog_default()
    if args.backlog_messages is not None and args.backlog_messages < 1:
        p.error("--backlog-messages must be at least 1")
    return args


def log(text):
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def raise_fd_limit(needed):
    """Idle-connection scenario: the harness and the servers (which inherit it) need many fds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = hard if hard == resource.RLIM_INFINITY else max(min(hard, 1 << 20), soft)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft < needed:
        raise BenchError(f"RLIMIT_NOFILE hard limit {hard} is below the {needed} that the "
                         "idle-connection scenario needs; raise it (ulimit -Hn) or skip g")


def _order(servers, run_index):
    return servers if run_index % 2 == 0 else list(reversed(servers))


def load_1min():
    return os.getloadavg()[0]


def free_port_on(addresses):
    """A TCP port free on every one of `addresses` (127.0.0.x): the remote MX port of (h), (i)."""
    for _ in range(50):
        port = free_loopback_port()
        try:
            for address in addresses:
                with socket.socket() as s:
                    s.bind((address, port))
            return port
        except OSError:
            continue
    raise BenchError(f"no port free on all of {', '.join(addresses)}")


class Bench:
    def __init__(self, args):
        self.args = args
        self.server_scenarios, self.sink_scenarios = select(args.scenarios.split(","))
        if args.backlog_messages is not None:
            self.server_scenarios = [
                dataclasses.replace(s, messages=args.backlog_messages,
                                    quick_messages=args.backlog_messages)
                if isinstance(s, Backlog) else s for s in self.server_scenarios]
        self.local_scenarios = [s for s in self.server_scenarios
                                if not isinstance(s, (Relay, Backlog))]
        self.remote_scenarios = [s for s in self.server_scenarios
                                 if isinstance(s, (Relay, Backlog))]
        self.servers = []  # Postfix, mailroom for (a)-(g)
        self.relay_servers = []  # Postfix, mailroom for (h), (i)
        self.sink = None
        self.relay_sink = None  # the MX of REMOTE_DOMAIN in (h)
        self.dns = None
        self.remote_port = None
        self.results = {}  # scenario key -> server name -> [RunResult, or dict for (g)]
        self.errors = []  # (scenario key, server name, message)
        self.dead = set()
        # What was measured: HEAD when the run starts (a commit landing mid-run is not it).
        self.revision = args.built_from or report.source_revision()
        self.binary_built = report.binary_built(args.mailroom) if args.mailroom else "—"
        self.started = time.monotonic()

    def start(self):
        cert, key = bench_certificate()
        mailboxes = recipient_local_parts(MAX_RECIPIENTS)
        if self.local_scenarios:
            postfix = PostfixInstance(free_loopback_port(), DOMAIN, mailboxes, cert, key)
            self.servers.append(postfix)
            log(f"starting Postfix on port {postfix.port}")
            postfix.start()
            if not self.args.postfix_only:
                mailroom = MailroomInstance(os.path.abspath(self.args.mailroom),
                                            free_loopback_port(), DOMAIN, mailboxes, cert, key)
                self.servers.append(mailroom)
                log(f"starting mailroom on port {mailroom.port}")
                mailroom.start()
        if self.sink_scenarios:
            self.sink = SinkInstance(free_loopback_port())
            self.sink.start()
        if self.remote_scenarios:
            self._start_remote(cert, key)

    def _start_remote(self, cert, key):
        """dnsmasq, smtp-sink as REMOTE_DOMAIN's MX, and a relaying Postfix and mailroom."""
        self.remote_port = free_port_on([REMOTE_MX_ADDRESS, DOWN_MX_ADDRESS])
        self.dns = DnsInstance(os.path.join(WORK_DIR, "dns"),
                               [(REMOTE_DOMAIN, f"mx.{REMOTE_DOMAIN}", 10),
                                (DOWN_DOMAIN, f"mx.{DOWN_DOMAIN}", 10)],
                               [(f"mx.{REMOTE_DOMAIN}", REMOTE_MX_ADDRESS),
                                (f"mx.{DOWN_DOMAIN}", DOWN_MX_ADDRESS)])
        self.dns.start()
        self.relay_sink = SinkInstance(self.remote_port, address=REMOTE_MX_ADDRESS,
                                       count_file=os.path.join(WORK_DIR, "sink-h.out"))
        self.relay_sink.start()
        log(f"dnsmasq on {self.dns.address}; smtp-sink (MX of {REMOTE_DOMAIN}) on "
            f"{REMOTE_MX_ADDRESS}:{self.remote_port}; {DOWN_DOMAIN}'s MX "
            f"{DOWN_MX_ADDRESS}:{self.remote_port} refuses connections")
        transport = {REMOTE_DOMAIN: f"smtp:[{REMOTE_MX_ADDRESS}]:{self.remote_port}",
                     DOWN_DOMAIN: f"smtp:[{DOWN_MX_ADDRESS}]:{self.remote_port}"}
        postfix = PostfixInstance(free_loopback_port(), DOMAIN, ["user"], cert, key,
                                  work_name="postfix-relay", transport=transport)
        self.relay_servers.append(postfix)
        log(f"starting the relaying Postfix on port {postfix.port}")
        postfix.start()
        if not self.args.postfix_only:
            relay = RelaySetup(self.dns.address, self.remote_port, free_loopback_port())
            mailroom = MailroomInstance(os.path.abspath(self.args.mailroom), free_loopback_port(),
                                        DOMAIN, ["user"], cert, key, work_name="mailroom-relay",
                                        relay=relay)
            self.relay_servers.append(mailroom)
            log(f"starting the relaying mailroom on port {mailroom.port}")
            mailroom.start()

    def stop(self):
        for thing in [self.sink, self.relay_sink] + self.servers + self.relay_servers + [self.dns]:
            if thing is not None:
                try:
                    thing.stop()
                except Exception as e:  # keep stopping the others
                    log(f"stopping {thing.name}: {e}")

    def discard_delivered(self):
        """Deletes the delivered test messages (slow on this disk: after the report is out)."""
        log("removing the delivered test messages")
        for server in self.servers:  # (h) and (i) deliver to smtp-sink: nothing to delete
            if not server.discard_delivered(DISCARD_BUDGET_S):
                log(f"left some in {server.trash_dir} (deleting them took over "
                    f"{DISCARD_BUDGET_S} s); the next run removes them, or rm -rf it")

    def _alive(self, server):
        return id(server) not in self.dead and os.path.exists(f"/proc/{server.root_pid()}")

    def _attempt(self, key, server, measure):
        """measure() or None; a failure is recorded, and a server whose process died is dropped."""
        if not self._alive(server):
            return None
        try:
            return measure()
        except BenchError as e:
            log(f"{key} on {server.name} FAILED: {e}")
            self.errors.append((key, server.name, str(e).splitlines()[0]))
            if not os.path.exists(f"/proc/{server.root_pid()}"):
                self.dead.add(id(server))
                self.errors.append((key, server.name, "server process died; skipped afterwards"))
            return None

    def run_all(self):
        for server in self.servers:
            log(f"warm-up: {WARMUP.messages} messages to {server.name}")
            if self._attempt("warm-up", server, lambda s=server: run_throughput(s, WARMUP, False)) \
                    is None:
                self.dead.add(id(server))  # cannot deliver at all: every scenario would stall
        for sc in self.server_scenarios:
            if isinstance(sc, Throughput):
                self._run_scenario(sc, self.servers, run_throughput, self._log_throughput)
        for sc in self.sink_scenarios:
            self._run_scenario(sc, [self.sink], run_sink, self._log_throughput)
        if self.remote_scenarios:
            warmup = Relay("warmup", "warmup", "warm-up", 20, 300, 100)
            for server in self.relay_servers:
                log(f"warm-up: {warmup.messages} messages relayed by {server.name}")
                if self._attempt("warm-up", server,
                                 lambda s=server: run_relay(s, warmup, False, self.relay_sink)) \
                        is None:
                    self.dead.add(id(server))
        for sc in self.server_scenarios:
            if isinstance(sc, Relay):
                self._run_scenario(sc, self.relay_servers,
                                   lambda s, sc, q: run_relay(s, sc, q, self.relay_sink),
                                   self._log_throughput)
        for sc in self.server_scenarios:
            if isinstance(sc, Backlog):
                self._run_scenario(sc, self.relay_servers,
                                   lambda s, sc, q: run_backlog(s, sc, q, self.remote_port,
                                                                WORK_DIR),
                                   self._log_backlog, runs=self.args.backlog_runs)
        for sc in self.server_scenarios:
            if isinstance(sc, IdleConnections):
                raise_fd_limit(max(sc.connections, sc.quick_connections) + FD_HEADROOM)
                self._run_scenario(sc, self.servers, measure_idle, self._log_idle)

    def _run_scenario(self, sc, servers, measure, describe, runs=None):
        failed = set()
        for i in range(runs or self.args.runs):
            for server in _order(servers, i):
                if server.name in failed:
                    continue  # one failure per scenario and server is enough to report
                load = load_1min()
                result = self._attempt(sc.key, server,
                                       lambda s=server: measure(s, sc, self.args.quick))
                if isinstance(result, dict):
                    result["load_1min"] = load
                elif result is not None:
                    result.load_1min = load
                if result is None:
                    failed.add(server.name)
                    continue
                self.results.setdefault(sc.key, {}).setdefault(server.name, []).append(result)
                log(f"{sc.key} run {i + 1}: {server.name} {describe(result)} "
                    f"(1-min load {load:.2f} before)")

    @staticmethod
    def _log_throughput(r):
        return (f"{r.messages_per_s:,.0f} msg/s ({r.messages} msgs, "
                f"{r.cpu_ms_per_message:.2f} CPU ms/msg, "
                f"other processes {r.other_cpu_s / r.deliver_s:.0%} of a core, "
                f"softirq {r.softirq_cpu_s / r.deliver_s:.0%})")

    @staticmethod
    def _log_backlog(r):
        recovery = (f", recovery logged at {r['recovery_s']:.2f} s"
                    if r.get("recovery_s") is not None else "")
        return (f"{r['messages']:,} deferred in {r['inject_s'] + r['settle_s']:.0f} s, RSS "
                f"{r['rss_queued_kib'] / 1024:,.1f} MiB; after kill -9: greeting at "
                f"{r['greeting_s']:.2f} s, a message accepted at {r['accept_s']:.2f} s{recovery}; "
                f"drained in {r['drain_s']:.1f} s ({r['drain_per_s']:,.0f} msg/s)")

    @staticmethod
    def _log_idle(r):
        median = r["greeting_median_ms"]
        return (f"greeted {r['greeted']:,} of {r['target']:,}, "
                f"RSS {r['rss_idle_kib'] / 1024:,.1f} MiB, new-session greeting median "
                f"{'none' if median is None else f'{median:.1f} ms'}, "
                f"{r['greeting_timeouts']} probe(s) timed out")

    def write(self):
        meta = {
            "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "revision": self.revision,
            "binary_built": self.binary_built,
            "elapsed_s": time.monotonic() - self.started,
            "note": self.args.note,
            "machine": report.machine_facts(),
            "quick": self.args.quick,
            "runs": self.args.runs,
            "postfix_version": (self.servers or self.relay_servers)[0].version(),
            "postfix_describe": (self.servers or self.relay_servers)[0].describe(),
            "mailroom_version": "not run",
            "mailroom_describe": "mailroom was not run",
            "errors": self.errors,
            "isolation": getattr(self.args, "isolation", ""),
        }
        for servers in (self.servers, self.relay_servers):
            if len(servers) > 1 and meta["mailroom_version"] == "not run":
                meta["mailroom_version"] = servers[1].version()
                meta["mailroom_describe"] = servers[1].describe()
        if self.relay_servers:
            meta["remote_describe"] = (
                f"dnsmasq on {self.dns.address} answers MX {REMOTE_DOMAIN} → mx.{REMOTE_DOMAIN} "
                f"→ {REMOTE_MX_ADDRESS} and MX {DOWN_DOMAIN} → mx.{DOWN_DOMAIN} → "
                f"{DOWN_MX_ADDRESS}; mailroom relays for 127.0.0.0/8, looks the MX up there and "
                f"delivers to port {self.remote_port} ([delivery] remote_port); Postfix relays for "
                f"$mynetworks and is given the same hosts by transport_maps "
                f"(smtp:[{REMOTE_MX_ADDRESS}]:{self.remote_port}), so it skips the DNS lookups")
        idle_keys = {s.key for s in self.server_scenarios if isinstance(s, IdleConnections)}
        backlog_keys = {s.key for s in self.server_scenarios if isinstance(s, Backlog)}
        summaries = {key: {name: report.summarize(rs) for name, rs in per.items()}
                     for key, per in self.results.items()
                     if key not in idle_keys | backlog_keys}
        idle = {name: report.summarize_idle(rs)
                for key in idle_keys for name, rs in self.results.get(key, {}).items()}
        backlog = {key: {name: report.summarize_backlog(rs) for name, rs in per.items()}
                   for key, per in self.results.items() if key in backlog_keys}
        default_name = "RESULTS.postfix-only.md" if self.args.postfix_only else None
        path = self.args.output or (os.path.join(WORK_DIR, default_name) if default_name
                                    else os.path.join(BENCH_DIR, "RESULTS.md"))
        throughput_scenarios = [s for s in self.server_scenarios if isinstance(s, Throughput)]
        relay_scenarios = [s for s in self.server_scenarios if isinstance(s, (Relay, Backlog))]
        report.write_results(path, meta, throughput_scenarios, self.sink_scenarios, summaries, idle,
                             relay_scenarios, backlog, only_remote=not self.local_scenarios
                             and not self.sink_scenarios)
        report.write_json(os.path.join(WORK_DIR, "results.json"), meta, summaries, idle, backlog)
        log(f"wrote {path}")


def rewrite_report(args):
    """The report of the last run again, from its raw figures (plus the current ANALYSIS.md)."""
    with open(os.path.join(WORK_DIR, "results.json")) as f:
        data = json.load(f)
    meta, summaries, idle = data["meta"], data["throughput"], data["idle"]
    backlog = data.get("backlog", {})
    throughput = [s for s in SCENARIOS if isinstance(s, Throughput) and s.key in summaries]
    sink = [s for s in SINK_SCENARIOS if s.key in summaries]
    remote = [s for s in SCENARIOS if isinstance(s, (Relay, Backlog))
              and (s.key in summaries or s.key in backlog)]
    path = args.output or os.path.join(BENCH_DIR, "RESULTS.md")
    report.write_results(path, meta, throughput, sink, summaries, idle, remote, backlog,
                         only_remote=not throughput and not sink and not idle)
    log(f"wrote {path} from {os.path.join(WORK_DIR, 'results.json')}")
    return 0


def main(argv):
    args = parse_args(argv)
    if args.report_only:
        return rewrite_report(args)
    if os.geteuid() != 0:
        raise BenchError("run as root: a private Postfix instance needs it (postfix -c DIR start)")
    os.makedirs(WORK_DIR, exist_ok=True)
    args.isolation = isolate_work_dirs()
    log(args.isolation)
    # SIGTERM (e.g. from make or a CI timeout) must still stop the servers: make it an exception.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    started = time.monotonic()
    try:
        bench.start()
        bench.run_all()
    finally:
        bench.stop()
    try:
        bench.write()
    finally:
        bench.discard_delivered()
    log(f"done in {time.monotonic() - started:.0f} s; {len(bench.errors)} error(s)")
    return 1 if bench.errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        sys.exit(130)
