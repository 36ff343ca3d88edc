"""The delivery ledger and the digest builder's lock: each issue reaches each recipient once.

A ``Delivery`` row per (period, language, recipient) moves through::

    pending ──claim──► sending ──► sent
       │  ▲               │
       │  └── failed ◄────┤        (failed rows are claimed again on the next run)
       │         │        ▼
       │         └──► given-up     (never claimed again until reset_given_up)
       └──► skipped                (an empty week, digest.skip_empty: the reason is kept)

``sending`` marks the window between claiming a row and recording the SMTP outcome.  A
row still ``sending`` when the builder lock is next taken belongs to a process that died
in that window; it is claimed again, so the worst case is one duplicate, never a loss.
When to give up is the caller's decision (``digest.deliver``); here a row only moves to
``given-up`` from ``sending`` or ``failed``, by one writer, so it is reported once.

Claims are exclusive: on PostgreSQL the row is read ``FOR UPDATE SKIP LOCKED``; on
SQLite a conditional UPDATE succeeds for one writer only.  The builder lock is a
PostgreSQL session advisory lock, or on SQLite a row in ``leases`` with an expiry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from config.errors import StorageError
from db.engine import storage_errors
from db.instance import hold_advisory_lock, is_dead_here, release_advisory_lock
from db.models import Delivery, DigestIssue, Lease
from db.times import utc_naive

RETRYABLE = ("pending", "failed", "sending")
GIVEN_UP = "given-up"
SKIPPED = "skipped"


@dataclass(frozen=True)
class DeliveryRow:
    """One recipient's entry in the ledger."""

    id: int
    period: str
    language: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    message_id: str
    sent_at: datetime | None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class IssueRecord:
    """What is remembered about a built issue."""

    period: str
    language: str
    built_at: datetime
    is_complete: bool
    article_count: int
    story_count: int
    subject: str
    message_id: str


def _row(item: Delivery) -> DeliveryRow:
    return DeliveryRow(
        item.id, item.period, item.language, item.recipient, item.status, item.attempts,
        item.last_error, item.message_id, item.sent_at, item.updated_at,
    )


def ensure_deliveries(
    session: Session, period: str, language: str, message_ids: dict[str, str], now: datetime
) -> None:
    """Create a pending row for each recipient (``message_ids`` maps address → id) once."""
    with storage_errors("writing the delivery ledger failed", session):
        existing = set(
            session.scalars(
                select(Delivery.recipient).where(
                    Delivery.period == period, Delivery.language == language
                )
            )
        )
        for recipient, message_id in message_ids.items():
            if recipient in existing:
                continue
            try:
                # a savepoint, so a concurrent insert of the same row only loses this one
                with session.begin_nested():
                    session.execute(
                        insert(Delivery).values(
                            period=period, language=language, recipient=recipient,
                            status="pending", attempts=0, message_id=message_id,
                            updated_at=utc_naive(now),
                        )
                    )
            except IntegrityError:
                continue
        session.commit()


def list_deliveries(session: Session, period: str, language: str) -> list[DeliveryRow]:
    """The ledger rows of one issue, by recipient."""
    with storage_errors("reading the delivery ledger failed"):
        rows = session.scalars(
            select(Delivery)
            .where(Delivery.period == period, Delivery.language == language)
            .order_by(Delivery.recipient)
        ).all()
    return [_row(item) for item in rows]


@dataclass(frozen=True)
class IssueDeliveries:
    """How far one issue got: counts by status and the rows not sent."""

    period: str
    language: str
    counts: dict[str, int]
    unsent: tuple[DeliveryRow, ...]


def recent_deliveries(session: Session, issues: int = 4) -> list[IssueDeliveries]:
    """The ledger of the ``issues`` most recent issues (newest first), for ``status``."""
    with storage_errors("reading the delivery ledger failed"):
        keys = session.execute(
            select(Delivery.period, Delivery.language).distinct()
            .order_by(Delivery.period.desc(), Delivery.language).limit(issues)
        ).all()
    result = []
    for period, language in keys:
        rows = list_deliveries(session, period, language)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        unsent = tuple(row for row in rows if row.status != "sent")
        result.append(IssueDeliveries(period, language, counts, unsent))
    return result


def retry_wait(attempts: int, first_wait: timedelta) -> timedelta:
    """How long a failed recipient waits before the next automatic attempt: ``first_wait``
    after the first failure, doubling after each one (10 min, 20, 40, 80 …)."""
    return first_wait * (1 << max(0, min(attempts, 12) - 1))


def has_work(session: Session, period: str, language: str, recipients: Sequence[str],
             now: datetime, first_wait: timedelta) -> bool:
    """Whether an automatic run has something to do for an issue now.

    True when the issue was not built (complete) yet, or a recipient has no row, is
    pending, was left ``sending`` by a crash, or failed long enough ago
    (:func:`retry_wait`).  Sent and given-up recipients need nothing.  An explicit
    ``migwatch digest --send`` does not ask: it tries every failed recipient at once.
    """
    built = session.scalars(
        select(DigestIssue.is_complete).where(
            DigestIssue.period == period, DigestIssue.language == language)
    ).first()
    if not built:
        return True
    rows = {row.recipient: row for row in list_deliveries(session, period, language)}
    moment = utc_naive(now)
    for recipient in recipients:
        row = rows.get(recipient)
        if row is None or row.status in ("pending", "sending"):
            return True
        if row.status == "failed" and (
            row.updated_at is None
            or row.updated_at + retry_wait(row.attempts, first_wait) <= moment
        ):
            return True
    return False


def claim_delivery(session: Session, delivery_id: int, now: datetime) -> DeliveryRow | None:
    """Move a not-yet-sent row to ``sending`` (attempts + 1); None if sent or taken."""
    stamp = utc_naive(now)
    with storage_errors("claiming a delivery failed", session):
        if session.get_bind().dialect.name == "postgresql":
            item = session.scalars(
                select(Delivery)
                .where(Delivery.id == delivery_id, Delivery.status.in_(RETRYABLE))
                .with_for_update(skip_locked=True)
            ).first()
            if item is None:
                session.rollback()
                return None
            item.status = "sending"
            item.attempts += 1
            item.updated_at = stamp
            session.commit()
            return _row(item)
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status.in_(RETRYABLE))
            .values(status="sending", attempts=Delivery.attempts + 1, updated_at=stamp)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if getattr(result, "rowcount", 0) != 1:
            return None
        item = session.get(Delivery, delivery_id, populate_existing=True)
        return None if item is None else _row(item)


def skip_pending(session: Session, period: str, language: str, reason: str,
                 now: datetime) -> int:
    """Record the issue's pending rows as ``skipped`` with ``reason``; return how many."""
    with storage_errors("recording skipped deliveries failed", session):
        result = session.execute(
            update(Delivery)
            .where(Delivery.period == period, Delivery.language == language,
                   Delivery.status == "pending")
            .values(status=SKIPPED, last_error=reason[:1000], updated_at=utc_naive(now))
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def mark_sent(session: Session, delivery_id: int, now: datetime) -> None:
    """Record that the server accepted the message."""
    _finish(session, delivery_id, now, status="sent", last_error=None, sent_at=utc_naive(now))


def mark_failed(session: Session, delivery_id: int, error: str, now: datetime) -> None:
    """Record a failed attempt and its one-line reason; the next run retries it."""
    _finish(session, delivery_id, now, status="failed", last_error=error[:1000])


def mark_given_up(session: Session, delivery_id: int, error: str, now: datetime) -> bool:
    """Record a failed last attempt: the row is not claimed again.  False if not ours."""
    return _finish(session, delivery_id, now, status=GIVEN_UP, last_error=error[:1000])


def give_up_failed(session: Session, delivery_id: int, now: datetime) -> bool:
    """Move a ``failed`` row to ``given-up``, keeping its error; False if it was not failed."""
    return _finish(session, delivery_id, now, from_status="failed", status=GIVEN_UP)


def reset_given_up(session: Session, period: str, language: str, now: datetime) -> int:
    """Make the issue's given-up rows ``pending`` with no attempts; return how many."""
    with storage_errors("resetting given-up deliveries failed", session):
        result = session.execute(
            update(Delivery)
            .where(Delivery.period == period, Delivery.language == language,
                   Delivery.status == GIVEN_UP)
            .values(status="pending", attempts=0, updated_at=utc_naive(now))
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def _finish(
    session: Session, delivery_id: int, now: datetime, *, from_status: str = "sending",
    **values: object,
) -> bool:
    """Set ``values`` on the row if it is still ``from_status``; whether it was."""
    with storage_errors("recording a delivery failed", session):
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == from_status)
            .values(updated_at=utc_naive(now), **values)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return getattr(result, "rowcount", 0) == 1


def record_issue(session: Session, record: IssueRecord) -> None:
    """Insert or refresh the ``DigestIssue`` row of (period, language)."""
    values = {
        "built_at": utc_naive(record.built_at),
        "is_complete": record.is_complete,
        "article_count": record.article_count,
        "story_count": record.story_count,
        "subject": record.subject,
        "message_id": record.message_id,
    }
    with storage_errors("recording the digest issue failed", session):
        item = session.scalars(
            select(DigestIssue).where(
                DigestIssue.period == record.period, DigestIssue.language == record.language
            )
        ).first()
        if item is None:
            session.add(DigestIssue(period=record.period, language=record.language, **values))
        else:
            for key, value in values.items():
                setattr(item, key, value)
        session.commit()


def _advisory_key(name: str) -> int:
    # pg advisory locks take a signed 64-bit key; a stable hash of the name fits
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def builder_lock(
    sessions: sessionmaker[Session],
    name: str,
    *,
    holder: str,
    now: datetime,
    ttl: timedelta = timedelta(minutes=30),
) -> Iterator[None]:
    """Hold the lock ``name`` for the block, or raise StorageError if another holds it."""
    busy = StorageError(
        f"another migwatch process is working on {name}; wait for it to finish and run again"
    )
    with sessions() as session:
        bind = session.get_bind()
        if bind.dialect.name == "postgresql":
            key = _advisory_key(name)
            with storage_errors(f"taking the lock {name} failed"):
                connection = hold_advisory_lock(bind.engine, key)
            if connection is None:
                raise busy
            try:
                yield
            finally:
                release_advisory_lock(connection, key)
            return
        _take_lease(session, name, holder=holder, now=utc_naive(now), ttl=ttl, busy=busy)
        try:
            yield
        finally:
            session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
            session.commit()


def _take_lease(
    session: Session, name: str, *, holder: str, now: datetime, ttl: timedelta,
    busy: StorageError,
) -> None:
    try:
        taken = session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.expires_at <= now)
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) == 1:
            session.commit()
            return
        session.execute(
            insert(Lease).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        # A lease left by a process of this host that died (killed mid-send, say) need
        # not block the issue until it expires: take it over.
        stale = session.scalar(select(Lease.holder).where(Lease.name == name))
        if stale is None or not is_dead_here(stale):
            raise busy from None
        session.execute(
            update(Lease).where(Lease.name == name, Lease.holder == stale)
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise StorageError(f"taking the lock {name} failed: {exc}") from exc
