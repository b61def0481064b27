"""The one atomic-write helper: a crash mid-write (an exception, or a killed process) leaves the old file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cappuccino_core.common.atomic import (
    atomic_dir,
    atomic_path,
    atomic_write_bytes,
    atomic_write_stream,
    atomic_write_text,
    atomic_write_with,
)

ROOT = Path(__file__).resolve().parents[3]


def test_writes_and_replaces(tmp_path: Path) -> None:
    p = tmp_path / "sub" / "a.json"  # the folder is created
    assert atomic_write_text(p, "first") == p
    assert p.read_text() == "first"
    atomic_write_bytes(p, b"second")
    assert p.read_bytes() == b"second"
    assert sorted(f.name for f in p.parent.iterdir()) == ["a.json"]  # no temporary file left


def test_exception_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    p = tmp_path / "a.bin"
    p.write_bytes(b"old content")

    def half(fh) -> None:
        fh.write(b"new con")  # half the new content reaches the temporary file, then the writer fails
        fh.flush()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_stream(p, half)
    assert p.read_bytes() == b"old content"
    assert [f.name for f in tmp_path.iterdir()] == ["a.bin"]  # the temporary file removed


def test_interrupt_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(p) as tmp:
        tmp.write_text("partial")
        raise KeyboardInterrupt
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["a.txt"]


def test_killed_process_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    """os._exit mid-write: no cleanup runs; the destination is the old file, the orphan is a hidden .tmp."""
    p = tmp_path / "report.json"
    p.write_text('{"old": true}')
    code = textwrap.dedent(
        f"""
        import os
        from cappuccino_core.common.atomic import atomic_write_stream
        def die(fh):
            fh.write(b'{{"new": tr'); fh.flush(); os._exit(9)
        atomic_write_stream({str(p)!r}, die)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=60)
    assert proc.returncode == 9, proc.stderr.decode()
    assert p.read_text() == '{"old": true}'
    orphans = [f.name for f in tmp_path.iterdir() if f != p]
    assert len(orphans) == 1 and orphans[0].startswith(".report.json.") and orphans[0].endswith(".tmp")
    assert list(tmp_path.glob("*.json")) == [p]  # a glob for the real files never picks the orphan up


def test_writer_by_path_keeps_its_suffix(tmp_path: Path) -> None:
    """np.savez appends .npz to a name without it: the temporary name ends in the suffix asked for."""
    p = tmp_path / "x.npz"
    atomic_write_with(p, lambda tmp: np.savez(tmp, a=np.arange(3)), suffix=".npz")
    assert [f.name for f in tmp_path.iterdir()] == ["x.npz"]
    assert np.load(p)["a"].tolist() == [0, 1, 2]


def test_no_fsync_still_atomic(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    atomic_write_text(p, "x", fsync=False)
    assert p.read_text() == "x"


def test_folder_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("first")
    assert sorted(f.name for f in out.iterdir()) == ["a.txt"]
    with pytest.raises(RuntimeError, match="plot failed"), atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("second")
        raise RuntimeError("plot failed")
    assert (out / "a.txt").read_text() == "first"  # the old folder, untouched
    with atomic_dir(out) as tmp:
        (tmp / "b.txt").write_text("third")
    assert sorted(f.name for f in out.iterdir()) == ["b.txt"]  # replaced whole: a.txt is gone
    assert [f.name for f in tmp_path.iterdir()] == ["report"]  # no temporary or old folder left


def test_folder_not_replaced_unless_asked(tmp_path: Path) -> None:
    out = tmp_path / "set"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    with pytest.raises(FileExistsError, match="not asked for"), atomic_dir(out, replace=False) as tmp:
        (tmp / "manifest.json").write_text('{"new": 1}')
    assert (out / "manifest.json").read_text() == "{}"
    assert [f.name for f in tmp_path.iterdir()] == ["set"]
