#!/usr/bin/python3
"""A FUSE file system that loses power like a disk with a volatile write cache.

    /usr/bin/python3 powerloss_fs.py [--sync-latency-ms MS] [--seed N] MOUNTPOINT
    (as root; Debian python3-pyfuse3 and python3-trio)

The whole tree lives in this process's memory, in two states: the *current* one, which every
process sees, and the *durable* one, which is all a power cut leaves. At mount everything is
durable. Writes, truncates, creates, mkdir, rename, unlink, link, symlink and chmod change only
the current state. What makes something durable:
  - fsync/fdatasync of a file: that inode's current data and size (fsync: its mode and owner
    too). Not its name: a new file whose directory was never fsync'd is gone after a cut.
  - fsync/fdatasync of a directory: that directory's current entries (name -> inode). A name
    made durable this way for a file never fsync'd holds the data last made durable: empty for a
    new file (ext4's zero-length file after a crash).
  - a write through a descriptor opened with O_SYNC or O_DSYNC: that inode's data, at once.
    O_DIRECT alone is NOT durability (open(2): it bypasses the page cache, not the disk's write
    cache; only O_*SYNC or fsync ask for that), so it is treated like any write.
Invisible to FUSE, so never durability here: sync_file_range (it only starts page-cache
writeback, and this mount has no write-back cache), and sync(2)/syncfs(2) (the kernel sends
FUSE_SYNCFS only to virtiofs). A test that wants "everything on disk" sends SIGUSR2 instead.
With --sync-latency-ms, each fsync/fdatasync takes a random 0..MS ms and its durability lands
when it returns (capturing the state at that moment), while other requests go on: concurrent
syncs then complete in any order, as on a disk, and a kill can land between them.
A rename is two directory changes: each directory's side is durable once that directory is
fsync'd, so after a cut a renamed file may have both names, either, or none (POSIX promises no
more; ext4's journal usually gives more, ext4 without a journal does not).

Control, one line on stdout per event so the test can wait for it:
  "mounted N"           the mount is ready (N counts mounts, 1 at start)
  SIGUSR2 -> "synced"   everything current becomes durable (what sync(2) would do)
  SIGUSR1 -> "cut {json}" then "mounted N": the file system is unmounted, its current state is
                        replaced by the durable one and it is mounted again. Remounting is the
                        reboot: the kernel's page, dentry and attribute caches of the old mount go
                        with it, and no request of a process from before the cut can reach the
                        new state. Send it only when no process uses the mount (kill -9 first).
  SIGTERM/SIGINT        unmount and exit.
Locks (flock, fcntl) are left to the kernel (pyfuse3 has no lock handlers, so FUSE keeps them
local to this host, which is all SQLite needs); shared mmap works because direct_io is off.
"""
import argparse
import errno
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time

import pyfuse3
import trio

ROOT = pyfuse3.ROOT_INODE
# Every change reaches the kernel through this mount, so its caches stay right until the remount
# of a cut drops them: cache generously, fewer round trips to this (slow, Python) process.
CACHE_S = 300.0


def now_ns():
    return time.time_ns()


class Node:
    """One inode. Files: data (bytearray) / durable_data (bytes). Directories: entries /
    durable_entries (dict name -> inode number). Symlinks: target (fixed at creation)."""

    __slots__ = ("ino", "mode", "uid", "gid", "rdev", "nlink", "parent", "target", "data",
                 "durable_data", "entries", "durable_entries", "durable_meta", "atime_ns",
                 "mtime_ns", "ctime_ns")

    def __init__(self, ino, mode, uid, gid, rdev=0, target=b""):
        self.ino, self.mode, self.uid, self.gid, self.rdev = ino, mode, uid, gid, rdev
        self.nlink = 2 if stat.S_ISDIR(mode) else 0
        self.parent = ino
        self.target = target
        self.data = bytearray()
        self.durable_data = b""  # a new inode has never been written back: empty after a cut
        self.entries = {}
        self.durable_entries = {}
        self.durable_meta = (mode, uid, gid)
        self.atime_ns = self.mtime_ns = self.ctime_ns = now_ns()

    @property
    def is_dir(self):
        return stat.S_ISDIR(self.mode)

    @property
    def size(self):
        return len(self.target) if stat.S_ISLNK(self.mode) else len(self.data)


class PowerLossFs(pyfuse3.Operations):
    def __init__(self, sync_latency_s=0.0, seed=None):
        super().__init__()
        self.sync_latency_s = sync_latency_s
        self.random = random.Random(seed)
        self.nodes = {ROOT: Node(ROOT, stat.S_IFDIR | 0o755, 0, 0)}
        self.next_ino = ROOT + 1
        self.files = {}  # fh -> [node, durable_on_write]
        self.dirs = {}   # fh -> [node, snapshot of entries or None]
        self.next_fh = 1
        self.counts = {}

    # --- the model ---------------------------------------------------------------------------
    def count(self, what):
        self.counts[what] = self.counts.get(what, 0) + 1

    async def sync_latency(self):
        if self.sync_latency_s:
            await trio.sleep(self.random.uniform(0, self.sync_latency_s))

    def make_data_durable(self, node):
        node.durable_data = bytes(node.data)

    def sync_all(self):
        for node in self.nodes.values():
            node.durable_data = bytes(node.data)
            node.durable_entries = dict(node.entries)
            node.durable_meta = (node.mode, node.uid, node.gid)

    def power_cut(self):
        """Replaces the current state by the durable one; returns what the cut threw away."""
        lost = {"file_data": 0, "names_lost": 0, "names_back": 0}
        for node in self.nodes.values():
            if node.is_dir:
                cur, dur = node.entries, node.durable_entries
                lost["names_lost"] += sum(1 for n, i in cur.items() if dur.get(n) != i)
                lost["names_back"] += sum(1 for n, i in dur.items() if cur.get(n) != i)
                node.entries = dict(dur)
            elif stat.S_ISREG(node.mode):
                if node.data != node.durable_data:
                    lost["file_data"] += 1
                node.data = bytearray(node.durable_data)
            node.mode, node.uid, node.gid = node.durable_meta
        # What is reachable from the root is the new tree: recount links, re-parent directories,
        # forget the rest (unlinked files, names never made durable).
        reachable = {ROOT: self.nodes[ROOT]}
        for node in self.nodes.values():
            node.nlink = 2 if node.is_dir else 0
        todo = [self.nodes[ROOT]]
        while todo:
            d = todo.pop()
            for ino in d.entries.values():
                child = self.nodes[ino]
                if child.is_dir:
                    d.nlink += 1
                    if ino in reachable:
                        continue  # a directory can have only one name; keep the first
                    child.parent = d.ino
                    todo.append(child)
                else:
                    child.nlink += 1
                reachable[ino] = child
        self.nodes = reachable
        self.files.clear()
        self.dirs.clear()
        return lost

    # --- helpers -----------------------------------------------------------------------------
    def node(self, ino):
        try:
            return self.nodes[ino]
        except KeyError:
            raise pyfuse3.FUSEError(errno.ENOENT)

    def dir_node(self, ino):
        node = self.node(ino)
        if not node.is_dir:
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        return node

    def attrs(self, node):
        a = pyfuse3.EntryAttributes()
        a.st_ino = node.ino
        a.generation = 0
        a.entry_timeout = CACHE_S
        a.attr_timeout = CACHE_S
        a.st_mode = node.mode
        a.st_nlink = node.nlink
        a.st_uid, a.st_gid, a.st_rdev = node.uid, node.gid, node.rdev
        a.st_size = node.size
        a.st_blksize = 4096
        a.st_blocks = (node.size + 511) // 512
        a.st_atime_ns, a.st_mtime_ns, a.st_ctime_ns = node.atime_ns, node.mtime_ns, node.ctime_ns
        return a

    def new_node(self, parent, name, mode, ctx, rdev=0, target=b""):
        if name in parent.entries:
            raise pyfuse3.FUSEError(errno.EEXIST)
        node = Node(self.next_ino, mode, ctx.uid, ctx.gid, rdev, target)
        self.next_ino += 1
        self.nodes[node.ino] = node
        self.add_entry(parent, name, node)
        return node

    def add_entry(self, parent, name, node):
        parent.entries[name] = node.ino
        if node.is_dir:
            parent.nlink += 1
            node.parent = parent.ino
        else:
            node.nlink += 1
        parent.mtime_ns = parent.ctime_ns = now_ns()

    def drop_entry(self, parent, name):
        node = self.nodes[parent.entries.pop(name)]
        if node.is_dir:
            parent.nlink -= 1
        else:
            node.nlink -= 1
        node.ctime_ns = parent.mtime_ns = parent.ctime_ns = now_ns()
        return node

    def new_fh(self):
        self.next_fh += 1
        return self.next_fh

    # --- names -------------------------------------------------------------------------------
    async def lookup(self, parent_inode, name, ctx=None):
        parent = self.dir_node(parent_inode)
        if name == b".":
            return self.attrs(parent)
        if name == b"..":
            return self.attrs(self.nodes[parent.parent])
        ino = parent.entries.get(name)
        if ino is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return self.attrs(self.nodes[ino])

    async def getattr(self, inode, ctx=None):
        return self.attrs(self.node(inode))

    async def setattr(self, inode, attr, fields, fh, ctx):
        node = self.node(inode)
        t = now_ns()
        if fields.update_size:
            if node.is_dir:
                raise pyfuse3.FUSEError(errno.EISDIR)
            self.resize(node, attr.st_size)
            node.mtime_ns = t
        if fields.update_mode:
            node.mode = stat.S_IFMT(node.mode) | stat.S_IMODE(attr.st_mode)
        if fields.update_uid:
            node.uid = attr.st_uid
        if fields.update_gid:
            node.gid = attr.st_gid
        if fields.update_atime:
            node.atime_ns = attr.st_atime_ns
        if fields.update_mtime:
            node.mtime_ns = attr.st_mtime_ns
        node.ctime_ns = t
        return self.attrs(node)

    @staticmethod
    def resize(node, size):
        if size < len(node.data):
            del node.data[size:]
        else:
            node.data.extend(bytes(size - len(node.data)))

    async def mknod(self, parent_inode, name, mode, rdev, ctx):
        return self.attrs(self.new_node(self.dir_node(parent_inode), name, mode, ctx, rdev))

    async def mkdir(self, parent_inode, name, mode, ctx):
        mode = stat.S_IFDIR | stat.S_IMODE(mode)
        return self.attrs(self.new_node(self.dir_node(parent_inode), name, mode, ctx))

    async def symlink(self, parent_inode, name, target, ctx):
        mode = stat.S_IFLNK | 0o777
        return self.attrs(self.new_node(self.dir_node(parent_inode), name, mode, ctx,
                                        target=target))

    async def readlink(self, inode, ctx):
        return self.node(inode).target

    async def link(self, inode, new_parent_inode, new_name, ctx):
        node, parent = self.node(inode), self.dir_node(new_parent_inode)
        if node.is_dir:
            raise pyfuse3.FUSEError(errno.EPERM)
        if new_name in parent.entries:
            raise pyfuse3.FUSEError(errno.EEXIST)
        self.add_entry(parent, new_name, node)
        node.ctime_ns = now_ns()
        return self.attrs(node)

    async def unlink(self, parent_inode, name, ctx):
        parent = self.dir_node(parent_inode)
        ino = parent.entries.get(name)
        if ino is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        if self.nodes[ino].is_dir:
            raise pyfuse3.FUSEError(errno.EISDIR)
        self.drop_entry(parent, name)

    async def rmdir(self, parent_inode, name, ctx):
        parent = self.dir_node(parent_inode)
        ino = parent.entries.get(name)
        if ino is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        node = self.nodes[ino]
        if not node.is_dir:
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        if node.entries:
            raise pyfuse3.FUSEError(errno.ENOTEMPTY)
        self.drop_entry(parent, name)

    def is_ancestor(self, maybe_ancestor, node):
        while True:
            if node.ino == maybe_ancestor.ino:
                return True
            if node.ino == ROOT:
                return False
            node = self.nodes[node.parent]

    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        old_parent = self.dir_node(parent_inode_old)
        new_parent = self.dir_node(parent_inode_new)
        if name_old not in old_parent.entries:
            raise pyfuse3.FUSEError(errno.ENOENT)
        moved = self.nodes[old_parent.entries[name_old]]
        target_ino = new_parent.entries.get(name_new)
        if moved.is_dir and self.is_ancestor(moved, new_parent):
            raise pyfuse3.FUSEError(errno.EINVAL)
        if flags & pyfuse3.RENAME_EXCHANGE:
            if target_ino is None:
                raise pyfuse3.FUSEError(errno.ENOENT)
            other = self.nodes[target_ino]
            if other.is_dir and self.is_ancestor(other, old_parent):
                raise pyfuse3.FUSEError(errno.EINVAL)
            self.drop_entry(old_parent, name_old)
            self.drop_entry(new_parent, name_new)
            self.add_entry(new_parent, name_new, moved)
            self.add_entry(old_parent, name_old, other)
            return
        if target_ino is not None:
            if flags & pyfuse3.RENAME_NOREPLACE:
                raise pyfuse3.FUSEError(errno.EEXIST)
            if target_ino == moved.ino:
                return  # two names of one inode: POSIX says do nothing
            target = self.nodes[target_ino]
            if target.is_dir and not moved.is_dir:
                raise pyfuse3.FUSEError(errno.EISDIR)
            if moved.is_dir and not target.is_dir:
                raise pyfuse3.FUSEError(errno.ENOTDIR)
            if target.is_dir and target.entries:
                raise pyfuse3.FUSEError(errno.ENOTEMPTY)
            self.drop_entry(new_parent, name_new)
        self.drop_entry(old_parent, name_old)
        self.add_entry(new_parent, name_new, moved)

    # --- files -------------------------------------------------------------------------------
    def open_handle(self, node, flags):
        if flags & os.O_TRUNC:  # FUSE_ATOMIC_O_TRUNC: the kernel sends O_TRUNC here, no setattr
            self.resize(node, 0)
            node.mtime_ns = node.ctime_ns = now_ns()
        fh = self.new_fh()
        # O_SYNC includes the O_DSYNC bit on Linux: both mean "durable when write() returns".
        self.files[fh] = [node, bool(flags & os.O_DSYNC)]
        if flags & os.O_DSYNC:
            self.count("open_sync")
        return pyfuse3.FileInfo(fh=fh, direct_io=False, keep_cache=True)

    async def open(self, inode, flags, ctx):
        node = self.node(inode)
        if node.is_dir:
            raise pyfuse3.FUSEError(errno.EISDIR)
        return self.open_handle(node, flags)

    async def create(self, parent_inode, name, mode, flags, ctx):
        node = self.new_node(self.dir_node(parent_inode), name, stat.S_IFREG | stat.S_IMODE(mode),
                             ctx)
        return self.open_handle(node, flags & ~os.O_TRUNC), self.attrs(node)

    def handle(self, fh):
        try:
            return self.files[fh]
        except KeyError:
            raise pyfuse3.FUSEError(errno.EBADF)

    async def read(self, fh, off, size):
        node = self.handle(fh)[0]
        node.atime_ns = now_ns()
        return bytes(node.data[off:off + size])

    async def write(self, fh, off, buf):
        node, durable_on_write = self.handle(fh)
        end = off + len(buf)
        if end > len(node.data):
            self.resize(node, end)
        node.data[off:end] = buf
        node.mtime_ns = node.ctime_ns = now_ns()
        if durable_on_write:
            self.make_data_durable(node)
            self.count("sync_write")
        return len(buf)

    async def fsync(self, fh, datasync):
        node = self.handle(fh)[0]
        await self.sync_latency()
        self.make_data_durable(node)
        if not datasync:
            node.durable_meta = (node.mode, node.uid, node.gid)
        self.count("fdatasync" if datasync else "fsync")

    async def flush(self, fh):
        pass

    async def release(self, fh):
        self.files.pop(fh, None)

    # --- directories -------------------------------------------------------------------------
    async def opendir(self, inode, ctx):
        node = self.dir_node(inode)
        fh = self.new_fh()
        self.dirs[fh] = [node, None]
        return fh

    async def readdir(self, fh, start_id, token):
        d = self.dirs.get(fh)
        if d is None:
            raise pyfuse3.FUSEError(errno.EBADF)
        if start_id == 0 or d[1] is None:
            # A listing is a snapshot taken when it starts: entries created or removed while
            # it runs can then never make it skip or repeat another entry.
            d[1] = list(d[0].entries.items())
        entries = d[1]
        for i in range(start_id, len(entries)):
            name, ino = entries[i]
            node = self.nodes.get(ino)
            if node is None:
                continue
            if not pyfuse3.readdir_reply(token, name, self.attrs(node), i + 1):
                return

    async def fsyncdir(self, fh, datasync):
        d = self.dirs.get(fh)
        if d is None:
            raise pyfuse3.FUSEError(errno.EBADF)
        node = d[0]
        await self.sync_latency()
        # fdatasync of a directory is an fsync of it: its entries are its data.
        node.durable_entries = dict(node.entries)
        node.durable_meta = (node.mode, node.uid, node.gid)
        self.count("fsyncdir")

    async def releasedir(self, fh):
        self.dirs.pop(fh, None)

    # --- the rest ----------------------------------------------------------------------------
    async def statfs(self, ctx):
        s = pyfuse3.StatvfsData()
        s.f_bsize = s.f_frsize = 4096
        s.f_blocks = s.f_bfree = s.f_bavail = 1 << 24  # 64 GiB of pretend space
        s.f_files = s.f_ffree = s.f_favail = 1 << 24
        s.f_namemax = 255
        return s

    async def access(self, inode, mode, ctx):
        self.node(inode)
        return True  # default_permissions: the kernel checks modes itself

    async def getxattr(self, inode, name, ctx):
        raise pyfuse3.FUSEError(pyfuse3.ENOATTR)

    async def listxattr(self, inode, ctx):
        return []

    async def setxattr(self, inode, name, value, ctx):
        raise pyfuse3.FUSEError(errno.ENOTSUP)

    async def removexattr(self, inode, name, ctx):
        raise pyfuse3.FUSEError(pyfuse3.ENOATTR)

    async def forget(self, inode_list):
        pass  # inodes are dropped at a cut, when they are unreachable from the root


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# pyfuse3 waits until /dev/fuse is readable and then read()s it blocking, holding the GIL. When
# the process whose request made it readable is killed before that read (kill -9 before a cut),
# the kernel withdraws the request and the read() blocks this whole process until some other
# request arrives: no signal is handled, no slow fsync (--sync-latency-ms) finishes, and a killed
# process waiting for one cannot exit (seen: kill -9 taking 30 s, until the kernel's writeback
# sent a request). A thread cannot help (no GIL), so a small process sends a request every
# POKE_S: a lookup of a name that never exists.
POKE_S = 0.05
POKER = """
import os, sys, time
path, parent = sys.argv[1], int(sys.argv[2])
while os.getppid() == parent:
    try:
        os.stat(path)
    except OSError:
        pass
    time.sleep(float(sys.argv[3]))
"""


async def serve(fs, mountpoint):
    options = set(pyfuse3.default_options)  # default_permissions
    options |= {"fsname=powerlossfs", "allow_other"}
    mounts = 0
    subprocess.Popen([sys.executable, "-c", POKER, os.path.join(mountpoint, ".powerloss-wakeup"),
                      str(os.getpid()), str(POKE_S)])
    # One receiver for the whole life of the process: a signal that arrives while the file
    # system is being remounted waits for the next mount instead of killing the process.
    with trio.open_signal_receiver(signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM,
                                   signal.SIGINT) as signals:
        while True:
            pyfuse3.init(fs, mountpoint, options)
            mounts += 1
            fs.counts = {}
            say(f"mounted {mounts}")
            request = None
            async with trio.open_nursery() as nursery:
                async def control():
                    nonlocal request
                    async for signum in signals:
                        if signum == signal.SIGUSR2:
                            fs.sync_all()
                            say("synced")
                            continue
                        request = signum
                        pyfuse3.terminate()
                        return

                nursery.start_soon(control)
                await pyfuse3.main()
                nursery.cancel_scope.cancel()
            pyfuse3.close(unmount=True)
            if request != signal.SIGUSR1:
                return
            counts = fs.counts
            lost = fs.power_cut()
            say("cut " + json.dumps({"lost": lost, "since_mount": counts}, sort_keys=True))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sync-latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int)
    parser.add_argument("mountpoint")
    args = parser.parse_args()
    trio.run(serve, PowerLossFs(args.sync_latency_ms / 1000, args.seed), args.mountpoint)


if __name__ == "__main__":
    main()
