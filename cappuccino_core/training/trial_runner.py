"""Run one trial's training in a child process under a wall-time limit and an RSS cap.

The worker process (which holds the Optuna study and the MLflow run) never trains: it starts a fresh
``spawn`` child per trial, reads its messages, and kills it when the trial must end (time, memory, a
pruning decision). Everything the child allocated goes back to the OS when it exits, so the worker's
memory does not grow from trial to trial. A child whose worker dies (e.g. SIGKILL) exits too.

Protocol: the child calls ``fn(**kwargs, emit=emit)``; ``emit(dict)`` sends progress messages (the
worker's ``on_message`` handles them, e.g. one per CPCV split); the return value is sent as the result.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from cappuccino_core.training.guards import is_non_finite_error

MB = 1024 * 1024


class TrialEnded(Exception):
    """The trial cannot go on; ``kind`` is timeout | memory | error | crash | non_finite."""

    def __init__(self, kind: str, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    """What a trial's child may use: wall time, memory (RSS of the process tree), torch threads."""

    timeout_s: float
    memory_mb: float
    poll_s: float = 0.1
    torch_threads: int = 1


@dataclass
class ChildStats:
    """What a trial's child used: peak memory, wall time, exit code, messages."""

    peak_rss_mb: float = 0.0
    wall_s: float = 0.0
    exitcode: int | None = None
    messages: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _tree_rss(proc: psutil.Process) -> int:
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def _kill_tree(proc: psutil.Process) -> None:
    """SIGKILL the child and its descendants; the caller reaps the child itself (Process.join)."""
    try:
        descendants = proc.children(recursive=True)
    except psutil.Error:
        descendants = []
    for p in [proc, *descendants]:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(descendants, timeout=5)


def _die_with_parent(parent_pid: int) -> None:
    """Exit as soon as the worker is gone (PR_SET_PDEATHSIG where available, plus a polling thread)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(3)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(3)

    threading.Thread(target=watch, daemon=True, name="orphan-watch").start()


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


def _child_main(target: str, kwargs: dict[str, Any], conn: Any, parent_pid: int, torch_threads: int) -> None:
    _die_with_parent(parent_pid)
    os.environ.setdefault("OMP_NUM_THREADS", str(torch_threads))
    try:
        import torch

        torch.set_num_threads(torch_threads)
        fn = _resolve(target)
        result = fn(**kwargs, emit=lambda msg: conn.send(("msg", msg)))
        conn.send(("result", result))
    except BaseException as exc:  # report everything; the worker decides the trial's state
        kind = "non_finite" if is_non_finite_error(exc) else "error"
        reason = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            conn.send(("error", {"kind": kind, "reason": reason[:2000], "traceback": traceback.format_exc()}))
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def run_in_child(
    target: str,
    kwargs: dict[str, Any],
    limits: Limits,
    on_message: Callable[[dict[str, Any]], None] | None = None,
    stats: ChildStats | None = None,
) -> Any:
    """Run ``target`` ("module:function") in a fresh process; return its result or raise TrialEnded.

    ``on_message`` runs in this process for each emitted message; an exception it raises (e.g.
    ``optuna.TrialPruned``) kills the child and propagates.
    """
    stats = stats if stats is not None else ChildStats()
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child_main,
        args=(target, kwargs, send, os.getpid(), limits.torch_threads),
        name=f"trial:{target}",
    )
    start = time.monotonic()
    proc.start()
    send.close()
    ps = psutil.Process(proc.pid)
    cap = limits.memory_mb * MB
    try:
        while True:
            got_eof = False
            try:
                while recv.poll(limits.poll_s):
                    kind, payload = recv.recv()
                    stats.messages += 1
                    if kind == "result":
                        proc.join(timeout=30)  # let it exit on its own (it frees everything it holds)
                        return payload
                    if kind == "error":
                        raise TrialEnded(payload["kind"], payload["reason"], payload["traceback"])
                    if on_message is not None:
                        on_message(payload)
                    _check_limits(ps, cap, limits, start, stats)
            except EOFError:
                got_eof = True
            _check_limits(ps, cap, limits, start, stats)
            if got_eof or not proc.is_alive():
                proc.join(timeout=5)
                stats.exitcode = proc.exitcode
                raise TrialEnded(
                    "crash", f"trial process exited with code {proc.exitcode} before reporting a result"
                )
    finally:
        stats.wall_s = time.monotonic() - start
        if proc.is_alive():
            _kill_tree(ps)
        proc.join(timeout=5)
        stats.exitcode = proc.exitcode
        recv.close()


def _check_limits(ps: psutil.Process, cap: float, limits: Limits, start: float, stats: ChildStats) -> None:
    rss = _tree_rss(ps)
    stats.peak_rss_mb = max(stats.peak_rss_mb, rss / MB)
    if rss > cap:
        _kill_tree(ps)
        raise TrialEnded(
            "memory", f"memory cap hit: trial process RSS {rss / MB:.0f} MB > cap {limits.memory_mb:.0f} MB"
        )
    elapsed = time.monotonic() - start
    if elapsed > limits.timeout_s:
        _kill_tree(ps)
        raise TrialEnded("timeout", f"wall-time limit hit: {elapsed:.0f} s > {limits.timeout_s:.0f} s")
