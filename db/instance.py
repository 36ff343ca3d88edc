"""One scheduler per database: a lock that works on SQLite and on PostgreSQL.

On PostgreSQL a session-level advisory lock is held on a dedicated connection for the
daemon's whole life: if the process dies, the server drops the connection and the lock
with it.  On SQLite a lease row with an expiry is renewed by a heartbeat; a lease left by
a dead process on this host is taken over at once, one left elsewhere when it expires.
Either way the lease row also tells ``migwatch status`` who runs and when it ran last.

A collection pass leases each source it crawls (``crawl:<key>``) for the time of the
crawl, so a second pass started meanwhile skips that source instead of fetching it again.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
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


CRAWL_LEASE_PREFIX = "crawl:"


def crawl_lease_name(source_key: str) -> str:
    """The lease that marks a source as being crawled (fits the 64-character name)."""
    name = CRAWL_LEASE_PREFIX + source_key
    if len(name) <= 64:
        return name
    return CRAWL_LEASE_PREFIX + hashlib.sha256(source_key.encode()).hexdigest()[:58]


@dataclass(frozen=True)
class SourceLeases:
    """Which sources this pass may crawl, and which another pass is crawling."""

    taken: tuple[str, ...]
    busy: dict[str, str]  # source key -> holder (host:pid)


def lease_sources(engine: Engine, keys: Sequence[str], now: datetime, *, ttl: timedelta,
                  holder: str, run_id: int) -> SourceLeases:
    """Take the crawl lease of every source in ``keys`` that no live process holds.

    One transaction that writes first (so SQLite takes its write lock at once): new
    leases are inserted with ``ON CONFLICT DO NOTHING``; an existing one is taken over
    only when it expired or its holder is a dead process of this host, by an update that
    names the old holder (two passes racing for it: one wins).
    """
    names = {crawl_lease_name(key): key for key in dict.fromkeys(keys)}
    if not names:
        return SourceLeases((), {})
    moment = utc_naive(now)
    values = {"holder": holder, "acquired_at": moment, "expires_at": moment + ttl,
              "detail": {"run_id": run_id}}
    insert_for = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    taken: set[str] = set()
    busy: dict[str, str] = {}
    with storage_errors("could not lease the sources to crawl"), engine.begin() as conn:
        result = conn.execute(
            insert_for(Lease).on_conflict_do_nothing(index_elements=["name"])
            .returning(Lease.name),
            [{"name": name, **values} for name in names],
        )
        taken.update(result.scalars())
        others = [name for name in names if name not in taken]
        rows = conn.execute(select(Lease.name, Lease.holder, Lease.expires_at)
                            .where(Lease.name.in_(others))).all() if others else []
        for row in rows:
            if row.expires_at <= moment or is_dead_here(row.holder):
                changed = conn.execute(
                    update(Lease).where(Lease.name == row.name, Lease.holder == row.holder)
                    .values(**values))
                if changed.rowcount == 1:
                    taken.add(row.name)
                    continue
            busy[names[row.name]] = row.holder
    return SourceLeases(tuple(names[n] for n in names if n in taken), busy)


def release_sources(engine: Engine, keys: Sequence[str], *, holder: str, run_id: int) -> None:
    """Give up the crawl leases this pass took."""
    names = [crawl_lease_name(key) for key in keys]
    if not names:
        return
    with storage_errors("could not release the crawl leases"), engine.begin() as conn:
        for start in range(0, len(names), 500):
            rows = conn.execute(select(Lease.name, Lease.detail).where(
                Lease.name.in_(names[start:start + 500]), Lease.holder == holder)).all()
            mine = [r.name for r in rows if (r.detail or {}).get("run_id") == run_id]
            if mine:
                conn.execute(delete(Lease).where(Lease.name.in_(mine)))
