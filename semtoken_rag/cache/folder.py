"""What a cache folder may hold besides the cache, and what a save may remove.

A save writes and removes only files named as :data:`GENERATION` names them (older generations,
leftovers of killed saves) and never anything else in the folder; a folder that holds no cache
but other files (a user's folder) is refused (:func:`occupied`), so nothing of the user's is ever
lost.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile

from .manifest import MANIFEST

LOCK = ".lock"
GENERATION = re.compile(
    r"(?:index-[0-9a-f]{16}\.faiss|meta-[0-9a-f]{16}\.npz)(?:\.tmp)?"
    r"|manifest\.json\.[0-9a-f]{16}\.tmp"
)
"""Names of the files a save writes (data files of a generation, their temporaries, a temporary
manifest): the only files a save ever removes (older generations, leftovers of killed saves)."""
_PROBE = re.compile(r"\.probe-.*")  # the writability probe (mkstemp) and older ones


def check_path(path: str, read_only: bool) -> None:
    """Refuse (``ValueError`` naming ``path``) a cache folder that is a file or not writable."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"fingerprint cache path {path!r} exists and is not a folder")
    if read_only:
        return
    why = occupied(path)
    if why:
        raise ValueError(why)
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=path)  # O_EXCL: never a planted link
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise ValueError(
            f"fingerprint cache path {path!r} is not writable ({e.strerror or e}); "
            "pass another path, or read_only=True to only read it"
        ) from e


def occupied(folder: str) -> str:
    """Why ``folder`` must not become a cache ("" if it may): it holds no ``manifest.json`` but
    files this library did not make (a user's folder, not a cache's)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return ""
    if MANIFEST in names:
        return ""
    others = sorted(
        n for n in names if n != LOCK and not GENERATION.fullmatch(n) and not _PROBE.fullmatch(n)
    )
    if not others:
        return ""
    shown = ", ".join(repr(n) for n in others[:3]) + (", ..." if len(others) > 3 else "")
    return (
        f"fingerprint cache path {folder!r} is a folder that holds no fingerprint cache but "
        f"other files ({shown}); pass a new or empty folder for the cache"
    )


def remove_stale(folder: str, keep: set[str]) -> None:
    """Delete older generations and temporaries of killed saves (we hold the exclusive lock):
    only regular files named as a save names them (:data:`GENERATION`), never anything else."""
    for name in os.listdir(folder):
        if name in keep or not GENERATION.fullmatch(name):
            continue
        path = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.remove(path)
