"""procstat: CPU time and memory of a server's whole process tree, read from /proc.

Owns the accounting that makes a multi-process server (Postfix: master plus smtpd, cleanup, qmgr,
virtual, trivial-rewrite...) comparable with a single-process one (mailroom). CPU of a tree is
user+sys of every live process plus the cutime/cstime each has collected from children it reaped,
so work done by short-lived processes (a Postfix smtpd that exits after max_use sessions) is
still counted once: either the process is alive and counted itself, or it was reaped and its
time sits in its parent's c-fields. Never signals or otherwise touches the processes it reads.
"""

import os
from dataclasses import dataclass

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    cpu_ticks: int  # utime + stime + cutime + cstime
    sys_ticks: int = 0  # stime + cstime: the part spent in the kernel


def read_stat(pid):
    """The ProcStat of `pid`, or None when it has gone away."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may contain spaces or ')'.
    fields = raw[raw.rindex(")") + 2:].split()
    # Fields after the name start at field 3 (state): ppid is field 4, utime..cstime 14..17.
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return ProcStat(pid, ppid, utime + stime + cutime + cstime, stime + cstime)


def _all_parent_links():
    links = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = read_stat(int(name))
        if st is not None:
            links[st.pid] = st.ppid
    return links


def tree_pids(root_pid):
    """`root_pid` and all its live descendants (empty when the root is gone)."""
    links = _all_parent_links()
    if root_pid not in links:
        return []
    children = {}
    for pid, ppid in links.items():
        children.setdefault(ppid, []).append(pid)
    result, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        result.append(pid)
        todo.extend(children.get(pid, []))
    return result


def tree_cpu_seconds(root_pid):
    """User+system CPU seconds consumed so far by the tree under `root_pid` (see module doc)."""
    return tree_cpu_split(root_pid)[0]


def tree_cpu_split(root_pid):
    """(user+system, system) CPU seconds consumed so far by the tree under `root_pid`."""
    ticks = sys_ticks = 0
    for pid in tree_pids(root_pid):
        st = read_stat(pid)
        if st is not None:
            ticks += st.cpu_ticks
            sys_ticks += st.sys_ticks
    return ticks / CLOCK_TICKS_PER_S, sys_ticks / CLOCK_TICKS_PER_S


def _status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


@dataclass(frozen=True)
class TreeMemory:
    processes: int
    rss_kib: int  # sum of VmRSS: counts pages shared between processes once per process
    pss_kib: int  # sum of Pss: shared pages divided among their users (fair for multi-process)


def tree_memory(root_pid):
    pids = tree_pids(root_pid)
    return TreeMemory(
        processes=len(pids),
        rss_kib=sum(_status_kib(p, "VmRSS") for p in pids),
        pss_kib=sum(_pss_kib(p) for p in pids),
    )


def machine_cpu_seconds():
    """(task, interrupt) CPU seconds all cores have spent since boot, from /proc/stat.

    Task time is user+nice+system+steal: what processes ran. Interrupt time (irq+softirq) is
    kept apart because loopback TCP processing runs in softirq and is charged to no process,
    so it is mostly the benchmark's own traffic rather than someone else's load.
    """
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice; guests are inside user.
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + steal) / CLOCK_TICKS_PER_S, (irq + softirq) / CLOCK_TICKS_PER_S
