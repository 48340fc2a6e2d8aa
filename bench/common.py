"""common: small helpers shared by the benchmark modules (ports, subprocesses, waiting).

Everything here talks to loopback only (127.0.0.1; 127.0.0.2 and .3 for the remote MX of (h) and
(i)): the benchmark must never send traffic off loopback.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import time

LOOPBACK = "127.0.0.1"
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
WORK_DIR = os.path.join(BENCH_DIR, "work")  # git-ignored


class BenchError(Exception):
    """A failure the user must see in one line (a server that will not start, a stalled run)."""


def free_loopback_port():
    """A TCP port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def run_checked(argv, what, input_text=None, env=None, timeout_s=60):
    """Runs argv; on failure raises BenchError naming `what` with the command's own output."""
    try:
        done = subprocess.run(argv, input=input_text, capture_output=True, text=True, env=env,
                              timeout=timeout_s)
    except FileNotFoundError as e:
        raise BenchError(f"{what}: {argv[0]} not found ({e})") from e
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"{what}: `{' '.join(argv)}` did not finish in {timeout_s} s") from e
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip() or "(no output)")[-2000:]
        raise BenchError(f"{what} failed (exit {done.returncode}): `{' '.join(argv)}`: {output}")
    return done.stdout


def wait_for_banner(port, timeout_s, describe_failure=None, host=LOOPBACK):
    """Waits until a server on host:port (127.0.0.x) sends a 220 greeting; raises BenchError
    otherwise."""
    deadline = time.monotonic() + timeout_s
    last_error = "no connection attempted"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                line = s.recv(512)
                if line.startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
                last_error = f"greeting was {line[:80]!r}"
        except OSError as e:
            last_error = str(e)
        time.sleep(0.1)
    detail = describe_failure() if describe_failure else ""
    raise BenchError(f"no 220 greeting on {host}:{port} within {timeout_s} s ({last_error})"
                     + (f"\n{detail}" if detail else ""))


def isolate_work_dirs():
    """Gives each server's folder under bench/work/ its own part of the disk, where ext4 allows.

    bench/work/ gets ext4's "top of directory hierarchy" attribute (chattr +T): the allocator then
    spreads the folders created in it (postfix/, mailroom/) over different flex groups instead of
    placing them next to each other. On ext4 without a journal (this machine) every new inode is
    searched for past the inodes freed in the last one to five minutes, so without this one
    server's deleted files (Postfix removes a queue file per message) slowed the other's file
    creation in the next run. Returns a sentence for the report.
    """
    done = subprocess.run(["chattr", "+T", WORK_DIR], capture_output=True, text=True)
    if done.returncode != 0:
        return ("bench/work/ could not be given its own flex groups per server (chattr +T: "
                f"{(done.stderr or done.stdout).strip()[:120]})")
    return ("bench/work/ has ext4's TOPDIR attribute (chattr +T), so each server's folder lives in "
            "its own flex group and neither pays for the other's recently deleted inodes")


@contextlib.contextmanager
def fresh_ext4(mount_point, size_gib=6):
    """A new, empty ext4 (with its journal, as mkfs makes it) mounted at `mount_point` for the
    duration: an image file in bench/work/ on a loop device, unmounted and deleted afterwards.

    For comparisons that must not depend on what earlier runs left on bench/work/'s file system
    (see isolate_work_dirs: on this machine's journal-less root, file creation slows down for
    minutes after many files are deleted). fsync on it still reaches the disk (the loop driver
    syncs the image). Needs root."""
    image = mount_point.rstrip("/") + ".img"
    os.makedirs(mount_point, exist_ok=True)
    subprocess.run(["umount", mount_point], capture_output=True)
    with open(image, "wb") as f:
        f.truncate(size_gib << 30)
    run_quiet = dict(check=True, capture_output=True, text=True)
    try:
        # Inode tables and journal written now, not by a kernel thread during the measurements.
        subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                        image], **run_quiet)
        subprocess.run(["mount", "-o", "loop", image, mount_point], **run_quiet)
    except subprocess.CalledProcessError as e:
        os.unlink(image)
        raise BenchError(f"cannot make a file system at {mount_point}: {e.stderr.strip()[:200]}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", mount_point], capture_output=True)
        os.unlink(image)


def reset_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def tail(path, max_lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-max_lines:])
    except OSError:
        return ""


def count_files(dirs):
    """Number of entries in each existing directory of `dirs` (Maildir new/ folders)."""
    total = 0
    for d in dirs:
        try:
            with os.scandir(d) as it:
                total += sum(1 for _ in it)
        except FileNotFoundError:
            pass
    return total


def empty_dirs(dirs, trash_dir):
    """Empties each directory by moving it into `trash_dir` and recreating it (same owner, mode).

    Renaming is instant, while an unlink costs milliseconds on a disk mounted with `discard`
    (this machine's root) when other work keeps it busy, so the files are deleted once, after
    the measurements (see discard_trash).
    """
    os.makedirs(trash_dir, exist_ok=True)
    for d in dirs:
        try:
            st = os.stat(d)
        except FileNotFoundError:
            continue
        os.rename(d, os.path.join(trash_dir, f"{len(os.listdir(trash_dir))}"))
        os.mkdir(d, st.st_mode & 0o7777)
        os.chown(d, st.st_uid, st.st_gid)
        os.chmod(d, st.st_mode & 0o7777)


def discard_trash(trash_dir, budget_s=None):
    """Deletes `trash_dir`; with a budget, stops when it runs out and returns False (left over)."""
    deadline = None if budget_s is None else time.monotonic() + budget_s
    for root, dirs, files in os.walk(trash_dir, topdown=False):
        for name in files:
            if deadline is not None and time.monotonic() > deadline:
                return False
            os.unlink(os.path.join(root, name))
        for name in dirs:
            os.rmdir(os.path.join(root, name))
    shutil.rmtree(trash_dir, ignore_errors=True)
    return True
