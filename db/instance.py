"""One scheduler per database: a lock that works on SQLite and on PostgreSQL.

On PostgreSQL a session-level advisory lock is held on a dedicated connection for the
daemon's whole life: if the process dies, the server drops the connection and the lock
with it.  On SQLite a lease row with an expiry is renewed by a heartbeat; a lease left by
a dead process on this host is taken over at once, one left elsewhere when it expires.
Either way the lease row also tells ``migwatch status`` who runs and when it ran last.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from config.errors import AlreadyRunningError
from db.engine import storage_errors
from db.models import Lease
from db.times import as_utc, utc_naive

SCHEDULER_LEASE = "scheduler"
QUEUE_SCHEDULER_LEASE = "scheduler-queue"  # + ":host:pid", one per scheduler on a queue
ADVISORY_KEY = 0x6D6977_01  # "miw" + 1: this application's scheduler


def this_process() -> str:
    """Holder id: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_dead_here(holder: str) -> bool:
    """Whether ``holder`` (host:pid) names a process of this host that no longer runs."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def hold_advisory_lock(engine: Engine, key: int) -> Connection | None:
    """A connection of its own holding the PostgreSQL session advisory lock ``key``, or
    None when another session holds it.  The connection stays checked out until
    :func:`release_advisory_lock`; a process that dies drops it, and the lock with it."""
    connection = engine.connect()
    try:
        is_taken = bool(
            connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        )
        connection.commit()
    except BaseException:
        connection.close()
        raise
    if not is_taken:
        connection.close()
        return None
    return connection


def release_advisory_lock(connection: Connection, key: int) -> None:
    """Give up the lock taken by :func:`hold_advisory_lock` and close its connection."""
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        connection.commit()
    finally:
        connection.close()


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds a lease, since when, and what it last reported."""

    holder: str
    acquired_at: datetime
    expires_at: datetime
    detail: dict[str, Any]


def read_lease(engine: Engine, name: str = SCHEDULER_LEASE) -> LeaseInfo | None:
    """The lease row, if any (for status)."""
    with engine.connect() as conn:
        row = conn.execute(select(Lease).where(Lease.name == name)).first()
    if row is None:
        return None
    return LeaseInfo(row.holder, as_utc(row.acquired_at), as_utc(row.expires_at),
                     dict(row.detail or {}))


class InstanceLock:
    """The single-scheduler lock; ``acquire`` raises AlreadyRunningError when taken."""

    def __init__(self, engine: Engine, *, ttl: timedelta, name: str = SCHEDULER_LEASE,
                 holder: str | None = None, is_exclusive: bool = True) -> None:
        self.engine = engine
        # False: only the lease row (status, heartbeat), no database-wide advisory lock
        self.is_exclusive = is_exclusive
        self.ttl = ttl
        self.name = name
        self.holder = holder or this_process()
        self._pg: Connection | None = None

    def _busy(self, other: str, since: datetime) -> AlreadyRunningError:
        return AlreadyRunningError(
            f"another `migwatch serve` ({other}, since {since:%Y-%m-%d %H:%M} UTC) already "
            "runs against this database; stop it first, or use `migwatch run` for one cycle"
        )

    def acquire(self, now: datetime) -> None:
        """Take the lock or raise AlreadyRunningError naming the holder."""
        with storage_errors("could not take the scheduler lock"):
            if self.is_exclusive and self.engine.dialect.name == "postgresql":
                self._acquire_advisory(now)
            self._take_lease(now)

    def _acquire_advisory(self, now: datetime) -> None:
        connection = hold_advisory_lock(self.engine, ADVISORY_KEY)
        if connection is None:
            info = read_lease(self.engine, self.name)
            raise self._busy(info.holder if info else "unknown", info.acquired_at if info
                             else now)
        self._pg = connection

    def _take_lease(self, now: datetime) -> None:
        moment = utc_naive(now)
        values = {"holder": self.holder, "acquired_at": moment,
                  "expires_at": moment + self.ttl, "detail": {}}
        with self.engine.begin() as conn:
            row = conn.execute(select(Lease).where(Lease.name == self.name)).first()
            if row is None:
                try:
                    conn.execute(insert(Lease).values(name=self.name, **values))
                    return
                except IntegrityError:
                    row = conn.execute(select(Lease).where(Lease.name == self.name)).first()
            assert row is not None
            is_free = (
                self._pg is not None  # the advisory lock is the truth on PostgreSQL
                or row.holder == self.holder
                or row.expires_at <= moment
                or is_dead_here(row.holder)
            )
            if not is_free:
                raise self._busy(row.holder, as_utc(row.acquired_at))
            result = conn.execute(
                update(Lease).where(Lease.name == self.name, Lease.holder == row.holder)
                .values(**values))
            if result.rowcount != 1:
                raise self._busy("another process", now)

    def heartbeat(self, now: datetime, detail: dict[str, Any]) -> None:
        """Renew the lease and record what the scheduler did and will do."""
        moment = utc_naive(now)
        with self.engine.begin() as conn:
            conn.execute(
                update(Lease).where(Lease.name == self.name, Lease.holder == self.holder)
                .values(expires_at=moment + self.ttl, detail=detail))

    def release(self) -> None:
        """Give the lock up (on a clean stop)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(Lease).where(Lease.name == self.name,
                                                 Lease.holder == self.holder))
        finally:
            if self._pg is not None:
                connection, self._pg = self._pg, None
                release_advisory_lock(connection, ADVISORY_KEY)
