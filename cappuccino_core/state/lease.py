"""One trader per account: a lease row in the state store, with a heartbeat and an expiry.

The ``leases`` table has one row per account (primary key). :meth:`Lease.acquire` takes the row when it is
absent, expired, already ours, or held by a process on this host that no longer exists; otherwise it raises
:class:`LeaseHeld` naming the holder (host, pid, since, heartbeat, expiry). Every step is one statement in
its own transaction (an INSERT that the primary key makes exclusive, or an UPDATE whose WHERE clause is the
take-over condition), so two traders racing for the row cannot both win, on SQLite and on PostgreSQL alike.

The holder renews the lease (:meth:`Lease.renew`, from the bar loop) to push the expiry ``ttl_s`` ahead; a
holder killed without releasing stops renewing, and its lease expires ``ttl_s`` after the last heartbeat
(at once for a dead process on the same host). A holder whose lease was taken over after expiring finds out
at its next renewal (:class:`LeaseLost`) and must stop. Times are epoch seconds (portable comparisons).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from cappuccino_core.state.schema import LeaseRow
from cappuccino_core.state.store import StateStore


class Clock(Protocol):
    """The time source of a lease (``time.time`` in production, a fake clock in tests)."""

    def time(self) -> float:
        """Seconds since the epoch."""
        ...


class LeaseHeld(RuntimeError):
    """Another live trader holds the account's lease; the message names it."""


class LeaseLost(RuntimeError):
    """Our lease expired and another trader took the account over: stop trading."""


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds an account's lease, since when and until when."""

    account: str
    holder: str
    host: str
    pid: int
    acquired_at: float
    heartbeat_at: float
    expires_at: float

    def describe(self) -> str:
        """The holder, host, pid and times in one line, for errors and logs."""
        return (
            f"{self.holder} (host {self.host}, pid {self.pid}) since {_iso(self.acquired_at)}, "
            f"last heartbeat {_iso(self.heartbeat_at)}, expires {_iso(self.expires_at)}"
        )


class Lease:
    """The lease on ``account`` for this process. ``clock`` (epoch seconds) is injectable for tests."""

    def __init__(
        self,
        store: StateStore,
        account: str,
        *,
        ttl_s: float = 120.0,
        holder: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError(f"lease ttl must be > 0 seconds, got {ttl_s}")
        self.engine = store.engine
        self.account, self.ttl_s = account, float(ttl_s)
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.holder = holder or f"{self.host}:{self.pid}:{secrets.token_hex(3)}"
        self._clock: Clock = clock if clock is not None else time
        self.held = False
        self._renewed = -float("inf")

    def _now(self) -> float:
        return float(self._clock.time())

    def info(self) -> LeaseInfo | None:
        """The lease row of this account now, None when nobody holds it."""
        with self.engine.connect() as c:
            r = c.execute(select(LeaseRow.__table__).where(LeaseRow.account == self.account)).first()
        return None if r is None else LeaseInfo(*r)

    def acquire(self) -> Lease:
        """Take the lease, or raise :class:`LeaseHeld` naming the live holder."""
        now = self._now()
        row = {"account": self.account, "holder": self.holder, "host": self.host, "pid": self.pid,
               "acquired_at": now, "heartbeat_at": now, "expires_at": now + self.ttl_s}  # fmt: skip
        try:
            with self.engine.begin() as c:
                c.execute(insert(LeaseRow), row)
        except IntegrityError:
            cur = self.info()
            mine = cur is not None and cur.host == self.host and cur.pid != self.pid
            dead = mine and cur is not None and not _pid_alive(cur.pid)
            t = LeaseRow.__table__.c
            cond = (t.expires_at < now) | (t.holder == self.holder)
            if dead and cur is not None:  # a holder on this host that no longer runs: no need to wait
                cond = cond | ((t.holder == cur.holder) & (t.pid == cur.pid))
            values = {k: v for k, v in row.items() if k != "account"}
            with self.engine.begin() as c:
                taken = c.execute(
                    update(LeaseRow).where(LeaseRow.account == self.account, cond).values(**values)
                ).rowcount
            if not taken:
                cur = self.info()
                who = cur.describe() if cur is not None else "another trader"
                raise LeaseHeld(
                    f"account {self.account} is held by {who}; one trader per account (a dead holder's "
                    f"lease expires {self.ttl_s:g}s after its last heartbeat)"
                ) from None
        self.held, self._renewed = True, now
        return self

    def renew(self) -> None:
        """Push the expiry ``ttl_s`` ahead; :class:`LeaseLost` if the lease is no longer ours."""
        now = self._now()
        with self.engine.begin() as c:
            n = c.execute(
                update(LeaseRow)
                .where(LeaseRow.account == self.account, LeaseRow.holder == self.holder)
                .values(heartbeat_at=now, expires_at=now + self.ttl_s)
            ).rowcount
        if not n:
            self.held = False
            cur = self.info()
            who = cur.describe() if cur is not None else "nobody (released)"
            raise LeaseLost(f"lease on account {self.account} lost: now held by {who}")
        self._renewed = now

    def hold(self) -> None:
        """Acquire when not held; renew when a third of the ttl has passed since the last renewal."""
        if not self.held:
            self.acquire()
        elif self._now() - self._renewed >= self.ttl_s / 3:
            self.renew()

    def release(self) -> None:
        """Give the lease up if held (only our own row is deleted)."""
        if not self.held:
            return
        with self.engine.begin() as c:
            c.execute(
                delete(LeaseRow).where(LeaseRow.account == self.account, LeaseRow.holder == self.holder)
            )
        self.held = False

    def __enter__(self) -> Lease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
