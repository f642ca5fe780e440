"""Files that caches and exports share: locks (``fcntl.flock``; no-ops where unsupported) and
content digests.

A lock file is opened without following a link and without blocking, and must be a regular file:
a FIFO or a device planted as the lock is refused (:class:`CacheFileError`), never waited on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator


class CacheFileError(ValueError):
    """A cache folder that cannot be read back (corrupt, truncated, edited or foreign), or a file
    of a cache or export folder that cannot be used (a FIFO planted as its lock)."""


@contextlib.contextmanager
def file_lock(lock_path: str | os.PathLike[str], exclusive: bool) -> Iterator[None]:
    """Hold ``fcntl.flock`` on the file ``lock_path`` (created for an exclusive lock); a no-op
    where unsupported, and for a shared lock whose file cannot be opened (a read-only folder
    without one: nobody can be writing it).

    Raises:
        CacheFileError: ``lock_path`` is not a regular file (a FIFO or a device planted there:
            opened without blocking, then refused, never waited on).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        fd = _open_lock(lock_path, exclusive)
    except OSError:
        if exclusive:
            raise
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def try_lock(lock_path: str | os.PathLike[str]) -> Iterator[bool]:
    """Take ``fcntl.flock`` on ``lock_path`` exclusively if nobody holds it, without waiting:
    yields whether it was taken (``False`` where ``fcntl`` is missing, the file is not a regular
    file or cannot be created)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield False
        return
    try:
        fd = _open_lock(lock_path, exclusive=True)
    except (OSError, CacheFileError):
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _open_lock(lock_path: str | os.PathLike[str], exclusive: bool) -> int:
    """A descriptor of the lock file: never through a link, never blocking (a FIFO would wait
    for a writer), and only of a regular file (else :class:`CacheFileError`)."""
    flags = (os.O_RDWR | os.O_CREAT) if exclusive else os.O_RDONLY
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(lock_path, flags, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CacheFileError(f"lock file {os.fspath(lock_path)!r} is not a regular file; remove it")
    return fd


def file_digest(path: str | os.PathLike[str]) -> str:
    """The blake2b (20-byte) hex digest of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
