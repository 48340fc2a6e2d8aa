"""report: turns measured runs into bench/RESULTS.md (and the raw figures into a JSON file).

Only measured figures are written: each table cell is the median over the runs of that scenario
(latency percentiles pool every timed message of every run), labelled with the commit the
mailroom binary was measured at. The targets of issues 6 and 13 are checked against the same
figures. The remote-delivery section ((h), (i)) sits between markers, so that a run of only those
scenarios can replace it in an existing RESULTS.md and leave the rest as it was measured.
"""

import datetime
import json
import math
import os
import platform
import statistics
import subprocess

from common import BENCH_DIR

REPO_DIR = os.path.dirname(BENCH_DIR)
ANALYSIS_FILE = os.path.join(BENCH_DIR, "ANALYSIS.md")

# Issue 6's targets: minimum mailroom/Postfix throughput ratio per scenario group.
RATIO_TARGETS = {"a": 4.0, "b": 4.0, "c": 2.0, "d": 2.0, "f": 2.0}
IDLE_RSS_TARGET_MIB = 100
IDLE_GREETING_TARGET_MS = 50
# Issue 13's targets.
RELAY_RATIO_TARGET = 4.0
BACKLOG_RSS_TARGET_MIB = 256
BACKLOG_GREETING_TARGET_S = 1.0
BACKLOG_DRAIN_RATIO_TARGET = 4.0
REMOTE_START = "<!-- remote-delivery: start (bench/report.py replaces this section) -->"
REMOTE_END = "<!-- remote-delivery: end -->"


def percentile(values, fraction):
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def summarize(runs):
    """Median figures over a list of measure.RunResult."""
    latencies = [v for r in runs for v in r.latencies_ms]
    return {
        "runs": len(runs),
        "messages_per_s": statistics.median(r.messages_per_s for r in runs),
        "accepted_per_s": statistics.median(r.accepted_per_s for r in runs),
        "cpu_ms_per_message": statistics.median(r.cpu_ms_per_message for r in runs),
        "client_cpu_ms_per_message": statistics.median(r.client_cpu_s * 1000.0 / r.messages
                                                       for r in runs),
        "other_cpu_share": statistics.median(r.other_cpu_s / r.deliver_s for r in runs),
        "softirq_cpu_ms_per_message": statistics.median(r.softirq_cpu_s * 1000.0 / r.messages
                                                        for r in runs),
        "latency_samples": len(latencies),
        "latency_p50_ms": percentile(latencies, 0.50),
        "latency_p99_ms": percentile(latencies, 0.99),
        "per_run_messages_per_s": [r.messages_per_s for r in runs],
        "per_run_load_1min": [r.load_1min for r in runs],
        "messages": [r.messages for r in runs],
    }


def summarize_idle(runs):
    """Scenario (g) over several runs: medians, except the worst case for counts and maxima."""
    def med(key):
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median(values) if values else None
    maxima = [r["greeting_max_ms"] for r in runs if r["greeting_max_ms"] is not None]
    return {
        "runs": len(runs),
        "target": runs[0]["target"],
        "attempted": min(r["attempted"] for r in runs),
        "greeted": min(r["greeted"] for r in runs),
        "stalled": any(r["stalled"] for r in runs),
        "rss_idle_kib": med("rss_idle_kib"),
        "pss_idle_kib": med("pss_idle_kib"),
        "processes": max(r["processes"] for r in runs),
        "greeting_median_ms": med("greeting_median_ms"),
        "greeting_max_ms": max(maxima) if maxima else None,
        "greeting_probes": sum(r["greeting_probes"] for r in runs),
        "greeting_timeouts": sum(r["greeting_timeouts"] for r in runs),
        "greeting_timeout_s": runs[0]["greeting_timeout_s"],
        "open_s": med("open_s"),
        "per_run": runs,
    }


def summarize_backlog(runs):
    """Scenario (i) over its runs: the median of every figure, and the runs themselves."""
    out = {"runs": len(runs), "per_run": runs}
    for key in runs[0]:
        values = [r.get(key) for r in runs]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out[key] = statistics.median(values)
    flags = [r.get("accepted_during_recovery") for r in runs]
    out["accepted_during_recovery"] = None if None in flags else all(flags)
    return out


def machine_facts():
    cpu_model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"nproc": os.cpu_count(), "cpu_model": cpu_model, "kernel": platform.release(),
            "memory_gib": round(mem_kib / 1024 / 1024, 1), "filesystem": _filesystem_of(BENCH_DIR),
            "python": platform.python_version()}


def _filesystem_of(path):
    """The file system holding `path` (longest mount point prefix in /proc/mounts), described as
    "ext4 on /dev/vda (virtual disk, rotational flag 1), mounted rw,relatime,discard"."""
    best, found = "", None
    with open("/proc/mounts") as f:
        for line in f:
            dev, mount_point, kind, options = line.split()[:4]
            inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) > len(best):
                best, found = mount_point, (dev, kind, options)
    if found is None:
        return "unknown"
    dev, kind, options = found
    text = f"{kind} on {dev}"
    block = os.path.basename(dev)
    try:
        with open(f"/sys/block/{block}/queue/rotational") as f:
            text += f" (rotational flag {f.read().strip()})"
    except OSError:
        pass
    shown = [o for o in options.split(",") if o in ("relatime", "noatime", "discard", "sync",
                                                    "data=journal", "data=writeback", "barrier=0",
                                                    "nobarrier")]
    return text + (f", mounted {','.join(shown)}" if shown else "")


def binary_built(path):
    """When the measured binary was last written (it may predate HEAD)."""
    try:
        return datetime.datetime.fromtimestamp(os.stat(path).st_mtime).astimezone() \
            .strftime("%Y-%m-%d %H:%M %Z")
    except OSError:
        return "unknown"


def source_revision():
    """HEAD's short hash, flagged when src/ has uncommitted changes the binary may include."""
    def git(*args):
        done = subprocess.run(["git", "-C", REPO_DIR, *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""
    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "src", "CMakeLists.txt")
    return (f"the working tree (HEAD {head} when the run started"
            + (", uncommitted changes in src/)" if dirty else ")"))


def _fmt(value, digits=0, unit=""):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{unit}"


def _ratio(m, p):
    return f"{m / p:.2f}×" if m is not None and p else "—"


def _throughput_table(scenarios, summaries, quick):
    rows = ["| scenario | load | Postfix msg/s | mailroom msg/s | mailroom/Postfix |",
            "| --- | --- | ---: | ---: | ---: |"]
    for sc in scenarios:
        p, m = summaries[sc.key].get("postfix"), summaries[sc.key].get("mailroom")
        pv = p["messages_per_s"] if p else None
        mv = m["messages_per_s"] if m else None
        rows.append(f"| {sc.title} | {sc.shape()}; {sc.message_count(quick):,} messages via "
                    f"{sc.driver()} "
                    f"| {_fmt(pv)} | {_fmt(mv)} | {_ratio(mv, pv)} |")
    return "\n".join(rows)


def _cost_table(scenarios, summaries):
    rows = ["| scenario | CPU ms/msg Postfix | CPU ms/msg mailroom | Postfix/mailroom CPU "
            "| end-of-data→250 p50 / p99 ms Postfix | p50 / p99 ms mailroom "
            "| latency samples P / m | client CPU ms/msg P / m |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for sc in scenarios:
        p, m = summaries[sc.key].get("postfix"), summaries[sc.key].get("mailroom")

        def lat(s):
            return (f"{_fmt(s['latency_p50_ms'], 2)} / {_fmt(s['latency_p99_ms'], 2)}"
                    if s else "—")

        rows.append(f"| {sc.title} | {_fmt(p and p['cpu_ms_per_message'], 2)} "
                    f"| {_fmt(m and m['cpu_ms_per_message'], 2)} "
                    f"| {_ratio(p and p['cpu_ms_per_message'], m and m['cpu_ms_per_message'])} "
                    f"| {lat(p)} | {lat(m)} "
                    f"| {p['latency_samples'] if p else '—'} / "
                    f"{m['latency_samples'] if m else '—'} "
                    f"| {_fmt(p and p['client_cpu_ms_per_message'], 2)} / "
                    f"{_fmt(m and m['client_cpu_ms_per_message'], 2)} |")
    return "\n".join(rows)


def _idle_table(idle_results):
    rows = ["| server | sessions greeted (of attempted) | RSS MiB (sum VmRSS) | PSS MiB "
            "| processes | new session → 220: median / max ms | probes timed out |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in idle_results.items():
        rows.append(
            f"| {name} | {r['greeted']:,} of {r['attempted']:,}"
            f"{' (stalled)' if r['stalled'] else ''} | {r['rss_idle_kib'] / 1024:,.1f} "
            f"| {r['pss_idle_kib'] / 1024:,.1f} | {r['processes']} "
            f"| {_fmt(r['greeting_median_ms'], 1)} / {_fmt(r['greeting_max_ms'], 1)} "
            f"| {r['greeting_timeouts']} of {r['greeting_probes']} "
            f"(> {r['greeting_timeout_s']:g} s) |")
    return "\n".join(rows)


def _sink_table(sink_scenarios, summaries, quick):
    rows = ["| load | smtp-sink msg/s | smtp-sink CPU ms/msg |", "| --- | ---: | ---: |"]
    for sc in sink_scenarios:
        s = summaries[sc.key]["smtp-sink"]
        rows.append(f"| {sc.shape()}; {sc.message_count(quick):,} messages "
                    f"| {_fmt(s['messages_per_s'])} "
                    f"| {_fmt(s['cpu_ms_per_message'], 3)} |")
    return "\n".join(rows)


def _target_lines(scenarios, summaries, idle_results):
    lines = []
    for group, target in RATIO_TARGETS.items():
        for sc in (s for s in scenarios if s.group == group):
            p, m = summaries[sc.key].get("postfix"), summaries[sc.key].get("mailroom")
            if p and m:
                ratio = m["messages_per_s"] / p["messages_per_s"]
                verdict = "met" if ratio >= target else "NOT met"
                lines.append(f"- {sc.title}: mailroom ≥ {target:g}× Postfix — "
                             f"{ratio:.2f}× — **{verdict}**")
    scaling = [s for s in scenarios if s.key in ("e10", "e200")]
    if len(scaling) == 2 and all("mailroom" in summaries[s.key] for s in scaling):
        low, high = (summaries[s.key]["mailroom"]["messages_per_s"] for s in scaling)
        verdict = "met" if high >= low * 0.95 else "NOT met"
        lines.append(f"- (e) throughput flat from 10 to 200 sessions: {low:,.0f} → {high:,.0f} "
                     f"msg/s — **{verdict}** (5% tolerance for noise)")
    if "mailroom" in idle_results:
        r = idle_results["mailroom"]
        rss_mib = r["rss_idle_kib"] / 1024
        ok = (r["greeted"] >= r["target"] and rss_mib <= IDLE_RSS_TARGET_MIB
              and r["greeting_timeouts"] == 0
              and (r["greeting_max_ms"] or 1e9) <= IDLE_GREETING_TARGET_MS)
        lines.append(f"- (g) {r['target']:,} idle sessions with ≤ {IDLE_RSS_TARGET_MIB} MiB RSS "
                     f"and a new session greeted in ≤ {IDLE_GREETING_TARGET_MS} ms: "
                     f"{r['greeted']:,} greeted, {rss_mib:,.1f} MiB, greeting max "
                     f"{_fmt(r['greeting_max_ms'], 1)} ms — **{'met' if ok else 'NOT met'}**")
    return "\n".join(lines) or "- (no scenario with both servers was run)"


def _load(value):
    return "—" if value is None else f"{value:.2f}"


def _relay_section(sc, summaries, quick):
    per = summaries.get(sc.key, {})
    rows = [f"### {sc.title}\n",
            f"{sc.shape()}; {sc.message_count(quick):,} messages via smtp-source. msg/s = "
            "messages ÷ time from the first connection until the server's queue holds no file "
            "(every message handed to smtp-sink, whose own count is checked).\n",
            "| server | accepted and delivered msg/s (median) | accepted msg/s | server CPU ms/msg "
            "| every run: msg/s (1-min load before it) |",
            "| --- | ---: | ---: | ---: | --- |"]
    for name in ("postfix", "mailroom"):
        r = per.get(name)
        if not r:
            continue
        runs = ", ".join(f"{v:,.0f} ({_load(load)})" for v, load in
                         zip(r["per_run_messages_per_s"], r.get("per_run_load_1min", [])))
        rows.append(f"| {name} | {_fmt(r['messages_per_s'])} | {_fmt(r['accepted_per_s'])} "
                    f"| {_fmt(r['cpu_ms_per_message'], 2)} | {runs} |")
    return "\n".join(rows)


def _backlog_section(sc, results):
    p, m = results.get("postfix", {}), results.get("mailroom", {})
    messages = (m or p).get("messages")

    def cell(r, key, digits=2, unit="", scale=1.0):
        v = r.get(key)
        return "—" if v is None else f"{v * scale:,.{digits}f}{unit}"

    def rate(r, seconds_key, count_key="messages", extra=0):
        if r.get(seconds_key) is None:
            return "—"
        return f"{(r[count_key] + extra) / r[seconds_key]:,.0f} msg/s"

    def flag(r):
        v = r.get("accepted_during_recovery")
        return "—" if v is None else ("yes" if v else "no")

    drain_ratio = (m["drain_per_s"] / p["drain_per_s"]
                   if m.get("drain_per_s") and p.get("drain_per_s") else None)
    rows = [f"### {sc.title}: {messages:,} messages\n",
            "Each server: the messages for the down MX injected by smtp-source (20 sessions, "
            "reused connections, 4 KB) until every one is deferred; memory; kill -9 and restart "
            "(timed from the restart command until a new client's 220, and until one more "
            "message gets its 250); smtp-sink started on the down MX, the queue flushed "
            "(`mailroom queue flush`, `postqueue -f`) and timed until it holds no file. "
            f"{p.get('runs') or m.get('runs')} run(s) per server, median shown.\n",
            "| | Postfix | mailroom | target |", "| --- | ---: | ---: | --- |",
            f"| 1-min load average: run start / before the restart / before the flush "
            f"| {_load(p.get('load_1min'))} / {_load(p.get('load_1min_restart'))} / "
            f"{_load(p.get('load_1min_drain'))} | {_load(m.get('load_1min'))} / "
            f"{_load(m.get('load_1min_restart'))} / {_load(m.get('load_1min_drain'))} | |",
            f"| injection (s; rate) | {cell(p, 'inject_s', 1)} ({rate(p, 'inject_s')}) "
            f"| {cell(m, 'inject_s', 1)} ({rate(m, 'inject_s')}) | |",
            f"| then until all deferred (s) | {cell(p, 'settle_s', 1)} | {cell(m, 'settle_s', 1)} "
            "| |",
            f"| memory with the backlog queued: RSS (sum of VmRSS) MiB | "
            f"{cell(p, 'rss_queued_kib', 1, scale=1 / 1024)} "
            f"| {cell(m, 'rss_queued_kib', 1, scale=1 / 1024)} "
            f"| mailroom ≤ {BACKLOG_RSS_TARGET_MIB} MiB |",
            f"| PSS MiB (processes) | {cell(p, 'pss_queued_kib', 1, scale=1 / 1024)} "
            f"({cell(p, 'processes_queued', 0)}) | {cell(m, 'pss_queued_kib', 1, scale=1 / 1024)} "
            f"({cell(m, 'processes_queued', 0)}) | |",
            f"| after kill -9: restart → a new client greeted (s) | {cell(p, 'greeting_s')} "
            f"| {cell(m, 'greeting_s')} | mailroom ≤ {BACKLOG_GREETING_TARGET_S:g} s |",
            f"| restart → one more message accepted (s) | {cell(p, 'accept_s')} "
            f"| {cell(m, 'accept_s')} | |",
            f"| restart → \"queue: recovered N messages\" logged (s) | — (no in-memory queue) "
            f"| {cell(m, 'recovery_s')} | |",
            f"| that message accepted while recovery ran | — | {flag(m)} | yes |",
            f"| RSS after the restart, backlog deferred again (MiB) "
            f"| {cell(p, 'rss_restarted_kib', 1, scale=1 / 1024)} "
            f"| {cell(m, 'rss_restarted_kib', 1, scale=1 / 1024)} | |",
            f"| flush command returned after (s) | {cell(p, 'flush_command_s')} "
            f"| {cell(m, 'flush_command_s')} | |",
            f"| drain: flush → queue empty (s) | {cell(p, 'drain_s', 1)} "
            f"| {cell(m, 'drain_s', 1)} | |",
            f"| drain rate (msg/s) | {cell(p, 'drain_per_s', 0)} | {cell(m, 'drain_per_s', 0)} "
            f"| mailroom ≥ {BACKLOG_DRAIN_RATIO_TARGET:g}× Postfix: "
            f"{'—' if drain_ratio is None else f'{drain_ratio:.2f}×'} |",
            f"| server CPU during the drain (ms/msg) "
            f"| {cell(p, 'drain_server_cpu_ms_per_message')} "
            f"| {cell(m, 'drain_server_cpu_ms_per_message')} | |",
            f"| messages smtp-sink received | {cell(p, 'received', 0)} "
            f"| {cell(m, 'received', 0)} | backlog + 1 |"]
    return "\n".join(rows)


def _remote_targets(scenarios, summaries, backlog):
    lines = []
    for sc in scenarios:
        if sc.key in summaries:
            p, m = summaries[sc.key].get("postfix"), summaries[sc.key].get("mailroom")
            if p and m:
                ratio = m["messages_per_s"] / p["messages_per_s"]
                verdict = "met" if ratio >= RELAY_RATIO_TARGET else "NOT met"
                lines.append(f"- {sc.title}: mailroom ≥ {RELAY_RATIO_TARGET:g}× Postfix — "
                             f"{ratio:.2f}× — **{verdict}** (Postfix skipped the MX lookup)")
        if sc.key in backlog and "mailroom" in backlog[sc.key]:
            m, p = backlog[sc.key]["mailroom"], backlog[sc.key].get("postfix", {})
            rss = m["rss_queued_kib"] / 1024
            lines.append(f"- {sc.title}: RSS ≤ {BACKLOG_RSS_TARGET_MIB} MiB with "
                         f"{m['messages']:,} queued — {rss:,.1f} MiB — "
                         f"**{'met' if rss <= BACKLOG_RSS_TARGET_MIB else 'NOT met'}**")
            ok = m["greeting_s"] <= BACKLOG_GREETING_TARGET_S
            lines.append(f"- {sc.title}: greets a new client ≤ {BACKLOG_GREETING_TARGET_S:g} s "
                         f"after kill -9 and restart — {m['greeting_s']:.2f} s — "
                         f"**{'met' if ok else 'NOT met'}**")
            during = m.get("accepted_during_recovery")
            lines.append(f"- {sc.title}: accepts mail while recovery runs — "
                         f"{'—' if during is None else 'yes' if during else 'no'} — "
                         f"**{'met' if during else 'NOT met'}**")
            if p.get("drain_per_s"):
                ratio = m["drain_per_s"] / p["drain_per_s"]
                lines.append(f"- {sc.title}: backlog drains ≥ {BACKLOG_DRAIN_RATIO_TARGET:g}× "
                             f"faster than Postfix — {ratio:.2f}× — "
                             f"**{'met' if ratio >= BACKLOG_DRAIN_RATIO_TARGET else 'NOT met'}**")
    return "\n".join(lines) or "- (no scenario with both servers was run)"


def _remote_section(meta, scenarios, summaries, backlog):
    parts = [REMOTE_START, "## Remote delivery (issue 13): (h) relay, (i) backlog\n",
             f"Measured {meta['date']} — {meta['mailroom_version']} built {meta['binary_built']} "
             f"from {meta['revision']}; {meta['postfix_version']}; "
             f"{'quick smoke run' if meta['quick'] else 'full run'}. "
             f"{meta.get('remote_describe', '')}. Both servers relay for loopback clients with "
             "their default queue, retry and outbound settings, and fsync every queue file. The "
             "1-minute load average (`uptime`) of this shared 2-core machine is given beside "
             "every figure.\n"]
    if meta.get("note"):
        parts.append(f"> **Note:** {meta['note']}\n")
    for sc in scenarios:
        if sc.key in summaries:
            parts.append(_relay_section(sc, summaries, meta["quick"]) + "\n")
        if sc.key in backlog:
            parts.append(_backlog_section(sc, backlog[sc.key]) + "\n")
    parts.append("### Targets of issue 13\n\n" + _remote_targets(scenarios, summaries, backlog)
                 + "\n")
    keys = {sc.key for sc in scenarios}
    errors = [e for e in meta["errors"] if e[0] in keys or e[0] == "warm-up"]
    if errors:
        parts.append("### Errors\n\n" + "".join(f"- `{key}` on {name}: {msg}\n"
                                                 for key, name, msg in errors))
    parts.append(REMOTE_END)
    return "\n".join(parts) + "\n"


def _replace_remote_section(path, section):
    """Puts `section` into the RESULTS.md at `path` in place of the old one (or before the
    analysis); False when there is no such file to update."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return False
    if REMOTE_START in text and REMOTE_END in text:
        before = text[:text.index(REMOTE_START)]
        after = text[text.index(REMOTE_END) + len(REMOTE_END):].lstrip("\n")
        text = before + section + "\n" + after
    else:
        marker = "\n## What limits mailroom"
        at = text.index(marker) + 1 if marker in text else len(text)
        text = text[:at] + section + "\n" + text[at:]
    marker = "\n## What limits mailroom"
    if marker in text:  # the analysis as it is now (it covers both parts)
        text = text[:text.index(marker)] + _analysis()
    with open(path, "w") as f:
        f.write(text)
    return True


def write_results(path, meta, scenarios, sink_scenarios, summaries, idle_results,
                  remote_scenarios=(), backlog=None, only_remote=False):
    backlog = backlog or {}
    remote_keys = {s.key for s in remote_scenarios}
    section = _remote_section(meta, remote_scenarios, summaries, backlog) \
        if remote_scenarios else ""
    if only_remote and section and _replace_remote_section(path, section):
        return
    summaries = {k: v for k, v in summaries.items() if k not in remote_keys}
    other = [s["other_cpu_share"] for per in summaries.values() for s in per.values()]
    busy_note = ""
    if other and max(other) > 0.25:
        busy_note = (f"\n> **Caution:** other processes used up to {max(other):.0%} of one core "
                     "during some runs; figures from a busy machine are noisy and low. "
                     "See `other_cpu_share` in bench/work/results.json.\n")
    note = f"\n> **Note:** {meta['note']}\n" if meta.get("note") else ""
    m = meta["machine"]
    mode = "quick smoke run" if meta["quick"] else "full"
    text = f"""# Benchmarks: mailroom against Postfix

Measured {meta['date']} (start to report: {meta['elapsed_s']:.0f} s) — {meta['mailroom_version']}
built {meta['binary_built']} from {meta['revision']};
{meta['postfix_version']}. Mode: {mode}, {meta['runs']} run(s) per scenario alternating the
servers, median shown.

Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB RAM, Linux {m['kernel']},
file system {m['filesystem']}, Python {m['python']}. Load generator, both servers and the harness
share these CPUs; traffic is loopback only.
{busy_note}{note}
**Reproduce:** `make bench` (or `/usr/bin/python3 bench/run.py --mailroom build/release/mailroom
[--quick] [--scenarios a,b,...] [--runs N]`, as root).

**Method.** {meta['postfix_describe']}. {meta['mailroom_describe']}. Each run starts from empty
Maildirs; msg/s = messages accepted ÷ time from the first connection until the last message (one
file per recipient) is in a Maildir `new/` folder; both servers fsync before their 250. CPU ms/msg
is user+sys of the server's whole process tree (for Postfix: master and every child, including
the ones that exited) ÷ messages. Latency is end-of-data → 250 as seen by `bench/smtp_load.py`:
a probe session sending one message at a time (20 ms apart) beside smtp-source, or every message
in the STARTTLS scenario. {meta.get('isolation', '') or 'Both servers share the file system as they find it'}.

## Throughput

{_throughput_table(scenarios, summaries, meta['quick'])}

## Cost per message and latency

{_cost_table(scenarios, summaries)}
"""
    if idle_results:
        text += f"\n## (g) Idle connections\n\n{_idle_table(idle_results)}\n"
    if sink_scenarios:
        text += ("\n## Ceiling: smtp-sink (stores nothing)\n\n"
                 f"{_sink_table(sink_scenarios, summaries, meta['quick'])}\n")
    text += f"\n## Targets of issue 6\n\n{_target_lines(scenarios, summaries, idle_results)}\n"
    if meta["errors"]:
        text += "\n## Errors\n\n" + "".join(f"- `{key}` on {name}: {msg}\n"
                                              for key, name, msg in meta["errors"])
    if section:
        text += "\n" + section
    text += "\n## Every run (msg/s)\n\n"
    for key, per in summaries.items():
        cells = "; ".join(f"{name}: " + ", ".join(f"{v:,.0f}" for v in s["per_run_messages_per_s"])
                          for name, s in per.items())
        text += f"- `{key}` — {cells}\n"
    text += _analysis()
    with open(path, "w") as f:
        f.write(text)


def _analysis():
    """bench/ANALYSIS.md (profiles taken by hand, with their own date and commit), if present."""
    try:
        with open(ANALYSIS_FILE) as f:
            body = f.read().strip()
    except FileNotFoundError:
        return ""
    return ("\n## What limits mailroom (profiles; from bench/ANALYSIS.md, dated there)\n\n"
            + body + "\n")


def write_json(path, meta, summaries, idle_results, backlog=None):
    with open(path, "w") as f:
        json.dump({"meta": meta, "throughput": summaries, "idle": idle_results,
                   "backlog": backlog or {}}, f, indent=2)
