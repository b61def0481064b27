"""Atomic file writes: a reader sees the old file or the new one, never a half-written one.

Every writer goes through :func:`atomic_path`: the content is written to a temporary file in the
destination's folder (``.{name}.<random>.tmp``: hidden, and no glob for the real files' suffix matches it),
flushed to disk, then ``os.replace``-d over the destination, and the folder entry is synced. Whatever fails
before the rename (an exception in the writer, a full disk) removes the temporary file and leaves the
destination as it was; a process killed mid-write leaves the destination as it was too (plus, at worst, a
hidden temporary file).

A folder of files (a report, a scenario set) is written the same way by :func:`atomic_dir`: built under a
hidden temporary sibling, then renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    """Persist a rename in ``folder`` (POSIX); a platform that cannot open a folder skips it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str = ".tmp", fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without an error it replaces ``path``.

    ``suffix`` ends the temporary name; a writer that chooses a format by the name or appends one
    (``np.savez`` adds ``.npz`` to a name without it) passes the destination's suffix. The folder is
    created when missing. With ``fsync`` (default) the file and the rename are flushed to disk first.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            _fsync_file(tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        _fsync_dir(dest.parent)


def atomic_write_with(
    path: str | Path, write: Callable[[Path], object], *, suffix: str = ".tmp", fsync: bool = True
) -> Path:
    """Call ``write(tmp)`` to write the file, then move it over ``path`` (see :func:`atomic_path`)."""
    with atomic_path(path, suffix=suffix, fsync=fsync) as tmp:
        write(tmp)
    return Path(path)


def atomic_write_stream(
    path: str | Path, write: Callable[[IO[bytes]], object], *, fsync: bool = True
) -> Path:
    """Call ``write(fh)`` with the temporary file open for binary writing, then move it over ``path``."""
    with atomic_path(path, fsync=fsync) as tmp, open(tmp, "wb") as fh:
        write(fh)
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write_stream(path, lambda fh: fh.write(data), fsync=fsync)


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8", fsync: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode(encoding), fsync=fsync)


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; when the block ends without an error it becomes ``path``.

    An existing ``path`` (a folder) is moved aside, the new one renamed into place, then the old one removed;
    should the rename fail, the old folder is put back. Without ``replace`` an existing ``path`` is a
    FileExistsError (checked when the block ends). On any error the temporary folder is removed.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
        old: Path | None = None
        if final.exists() or final.is_symlink():
            if not replace:
                raise FileExistsError(f"{final} exists and replacing it was not asked for")
            if not final.is_dir():
                raise FileExistsError(f"{final} exists and is not a folder")
            old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(final, old)
        try:
            os.replace(tmp, final)
        except BaseException:
            if old is not None:
                os.replace(old, final)  # put the previous folder back
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
