"""Replacing a file atomically: readers see the old content or the new, never a torn mix."""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import threading
from pathlib import Path

_cleaned: set[Path] = set()  # paths whose dead writers' temporaries are gone
_cleaned_lock = threading.Lock()


def write_atomic(
    path: Path, data: bytes, *, durable: bool = True, mode: int = 0o600, keep_owner: bool = False
) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory.

    ``durable`` fsyncs the file and the directory, so after a power cut the file holds
    the new content (or, had the rename not happened yet, the old). Files are created
    with ``mode`` (owner-only by default: state files hold alerts and keys);
    ``keep_owner`` gives a replaced file the owner, group and mode it had (a broker's
    password file must stay readable by the broker's group).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: two writers at once must not write into each other's file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        if keep_owner and path.exists():
            before = path.stat()
            os.fchmod(fd, before.st_mode & 0o7777)
            os.fchown(fd, before.st_uid, before.st_gid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_directory(path.parent)
    _remove_leftovers(path)


def _remove_leftovers(path: Path) -> None:
    """Once per path and process: remove the temporaries of writers that died before
    their rename (a crash or power cut leaves them; nothing ever reads them)."""
    with _cleaned_lock:
        if path in _cleaned:
            return
        _cleaned.add(path)
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = leftover.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: alive
        return True
    return True


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
