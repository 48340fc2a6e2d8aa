"""The power-loss simulator (powerloss_fs.py) checked against the durability rules it claims,
before it is trusted to judge mailroom (test_queue_powerloss.py).

Each test writes through the real kernel into a fresh mount, cuts the power (unmount, keep only
the durable state, mount again) and looks at what is left.
"""
import ctypes
import errno
import fcntl
import os
import sqlite3

import pytest

from powerloss_support import powerloss_disk  # noqa: F401  (fixture)

LIBC = ctypes.CDLL(None, use_errno=True)
SYNC_FILE_RANGE_WAIT_BEFORE, SYNC_FILE_RANGE_WRITE, SYNC_FILE_RANGE_WAIT_AFTER = 1, 2, 4
AT_FDCWD = -100
RENAME_NOREPLACE = 1


def write_file(path, data, fsync=False, datasync=False, flags=0):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | flags, 0o600)
    try:
        os.write(fd, data)
        if fsync:
            os.fsync(fd)
        if datasync:
            os.fdatasync(fd)
    finally:
        os.close(fd)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture
def disk(powerloss_disk):  # noqa: F811
    return powerloss_disk()


@pytest.fixture
def root(disk):
    return disk.mountpoint


def test_write_without_any_sync_is_gone(disk, root):
    write_file(root / "f", b"hello")
    assert read(root / "f") == b"hello"
    stats = disk.cut()
    assert not (root / "f").exists()
    assert stats["lost"]["names_lost"] == 1


def test_file_fsync_without_directory_fsync_loses_the_name(disk, root):
    write_file(root / "f", b"hello", fsync=True)
    disk.cut()
    assert not (root / "f").exists()


def test_directory_fsync_without_file_fsync_leaves_an_empty_file(disk, root):
    write_file(root / "f", b"hello")
    fsync_dir(root)
    disk.cut()
    assert read(root / "f") == b""  # ext4's zero-length file after a crash


def test_file_and_directory_fsync_survive(disk, root):
    (root / "d").mkdir()
    fsync_dir(root)
    write_file(root / "d" / "f", b"hello", fsync=True)
    fsync_dir(root / "d")
    disk.cut()
    assert read(root / "d" / "f") == b"hello"


def test_new_directory_needs_its_parent_synced(disk, root):
    (root / "d").mkdir()
    write_file(root / "d" / "f", b"hello", fsync=True)
    fsync_dir(root / "d")
    disk.cut()
    assert not (root / "d").exists()


def test_overwrite_and_truncate_after_fsync_revert(disk, root):
    write_file(root / "f", b"version 1", fsync=True)
    fsync_dir(root)
    write_file(root / "f", b"v2")  # O_TRUNC, then a write, neither synced
    assert read(root / "f") == b"v2"  # the page cache of the old mount has it
    disk.cut()
    assert read(root / "f") == b"version 1"
    os.truncate(root / "f", 3)
    disk.cut()
    assert read(root / "f") == b"version 1"


def test_rename_is_durable_once_the_directory_is_synced(disk, root):
    write_file(root / "tmp", b"data", fsync=True)
    fsync_dir(root)
    os.rename(root / "tmp", root / "final")
    disk.cut()
    assert sorted(os.listdir(root)) == ["tmp"]  # not synced: the old name is back
    os.rename(root / "tmp", root / "final")
    fsync_dir(root)
    disk.cut()
    assert sorted(os.listdir(root)) == ["final"]
    assert read(root / "final") == b"data"


def test_cross_directory_rename_is_durable_per_directory(disk, root):
    for d in ("src", "dst"):
        (root / d).mkdir()
    fsync_dir(root)
    write_file(root / "src" / "f", b"data", fsync=True)
    fsync_dir(root / "src")
    os.rename(root / "src" / "f", root / "dst" / "f")
    fsync_dir(root / "dst")
    disk.cut()
    # Only dst was synced: its new name is durable and src still names the file too.
    assert read(root / "dst" / "f") == b"data"
    assert read(root / "src" / "f") == b"data"
    assert os.stat(root / "dst" / "f").st_nlink == 2


def test_unlink_needs_a_directory_fsync(disk, root):
    write_file(root / "f", b"data", fsync=True)
    fsync_dir(root)
    os.unlink(root / "f")
    disk.cut()
    assert read(root / "f") == b"data"
    os.unlink(root / "f")
    fsync_dir(root)
    disk.cut()
    assert not (root / "f").exists()


def test_hard_link_needs_a_directory_fsync(disk, root):
    write_file(root / "a", b"data", fsync=True)
    fsync_dir(root)
    os.link(root / "a", root / "b")
    assert os.stat(root / "a").st_nlink == 2
    disk.cut()
    assert not (root / "b").exists()
    os.link(root / "a", root / "b")
    fsync_dir(root)
    disk.cut()
    assert read(root / "b") == b"data" and os.stat(root / "a").st_nlink == 2


def test_fdatasync_makes_data_durable_but_not_the_mode(disk, root):
    write_file(root / "f", b"data", datasync=True)
    fsync_dir(root)
    os.chmod(root / "f", 0o640)
    fd = os.open(root / "f", os.O_WRONLY | os.O_APPEND)
    os.write(fd, b" more")
    os.fdatasync(fd)
    os.close(fd)
    disk.cut()
    assert read(root / "f") == b"data more"
    assert os.stat(root / "f").st_mode & 0o777 == 0o600
    os.chmod(root / "f", 0o640)
    fd = os.open(root / "f", os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    disk.cut()
    assert os.stat(root / "f").st_mode & 0o777 == 0o640


@pytest.mark.parametrize("flag", ["O_SYNC", "O_DSYNC"])
def test_o_sync_writes_are_durable_at_once(disk, root, flag):
    write_file(root / "f", b"data", flags=getattr(os, flag))
    fsync_dir(root)
    stats = disk.cut()
    assert read(root / "f") == b"data"
    assert stats["since_mount"].get("sync_write", 0) >= 1, stats


def test_sync_file_range_is_not_durability(disk, root):
    fd = os.open(root / "f", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"data")
    flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER
    assert LIBC.sync_file_range(fd, ctypes.c_longlong(0), ctypes.c_longlong(0), flags) == 0
    os.close(fd)
    fsync_dir(root)
    disk.cut()
    assert read(root / "f") == b""


def test_sync_and_syncfs_do_not_reach_fuse(disk, root):
    # Documents a limit of FUSE (powerloss_fs.py): sync(2) is not durability here. Should a
    # kernel start sending FUSE_SYNCFS, this fails and the file system must learn to honour it.
    write_file(root / "f", b"data")
    os.sync()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    LIBC.syncfs(fd)
    os.close(fd)
    disk.cut()
    assert not (root / "f").exists()


def test_test_sync_makes_everything_durable(disk, root):
    (root / "d").mkdir()
    write_file(root / "d" / "f", b"data")
    disk.sync()
    disk.cut()
    assert read(root / "d" / "f") == b"data"


def test_slow_syncs_still_make_durable(powerloss_disk):  # noqa: F811
    disk = powerloss_disk(sync_latency_ms=20, seed=1)
    root = disk.mountpoint
    write_file(root / "f", b"data", fsync=True)
    fsync_dir(root)
    disk.cut()
    assert read(root / "f") == b"data"


def test_exclusive_create_and_rename_noreplace(disk, root):
    write_file(root / "a", b"a")
    write_file(root / "b", b"b")
    with pytest.raises(FileExistsError):
        os.open(root / "a", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    rc = LIBC.renameat2(AT_FDCWD, bytes(root / "a"), AT_FDCWD, bytes(root / "b"), RENAME_NOREPLACE)
    assert rc == -1 and ctypes.get_errno() == errno.EEXIST
    rc = LIBC.renameat2(AT_FDCWD, bytes(root / "a"), AT_FDCWD, bytes(root / "c"), RENAME_NOREPLACE)
    assert rc == 0 and read(root / "c") == b"a" and not (root / "a").exists()


def test_pread_pwrite_ftruncate_and_locks(disk, root):
    fd = os.open(root / "f", os.O_RDWR | os.O_CREAT, 0o600)
    os.pwrite(fd, b"world", 6)
    os.pwrite(fd, b"hello ", 0)
    assert os.pread(fd, 11, 0) == b"hello world"
    os.ftruncate(fd, 5)
    assert os.pread(fd, 100, 0) == b"hello"
    other = os.open(root / "f", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(other)
    os.close(fd)


def test_sqlite_wal_commits_survive_and_unsynced_ones_do_not(disk, root):
    # SQLite in WAL mode needs shared mmap of the -shm file and fcntl locks; synchronous=FULL
    # fsyncs the WAL at each commit (and the directory when it creates the WAL).
    db = root / "state.db"
    a = sqlite3.connect(db)
    assert a.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    a.execute("PRAGMA synchronous=FULL")
    a.execute("CREATE TABLE t(v TEXT)")
    a.execute("INSERT INTO t VALUES('durable')")
    a.commit()
    b = sqlite3.connect(db)  # a second connection: shares the WAL index through the mmap
    assert b.execute("SELECT v FROM t").fetchall() == [("durable",)]
    b.close()
    a.execute("PRAGMA synchronous=OFF")
    a.execute("INSERT INTO t VALUES('not synced')")
    a.commit()
    a.close()
    disk.cut()
    c = sqlite3.connect(db)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert c.execute("SELECT v FROM t").fetchall() == [("durable",)]
    c.close()
