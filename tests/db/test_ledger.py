"""The delivery ledger and the builder lock on both dialects."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from config.errors import StorageError
from db import create_db_engine, migrate, session_factory
from db.ledger import (
    IssueRecord,
    builder_lock,
    claim_delivery,
    ensure_deliveries,
    give_up_failed,
    list_deliveries,
    mark_failed,
    mark_given_up,
    mark_sent,
    record_issue,
    reset_given_up,
)
from db.models import DigestIssue, Lease

NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
IDS = {"a@example.org": "<a@x>", "b@example.org": "<b@x>"}


def test_ensuring_rows_twice_creates_each_recipient_once(engine: Engine) -> None:
    with session_factory(engine)() as session:
        ensure_deliveries(session, "2026-W48", "ja", IDS, NOW)
        ensure_deliveries(session, "2026-W48", "ja", IDS | {"c@example.org": "<c@x>"}, NOW)
        rows = list_deliveries(session, "2026-W48", "ja")
    assert [(r.recipient, r.status, r.attempts) for r in rows] == [
        ("a@example.org", "pending", 0), ("b@example.org", "pending", 0),
        ("c@example.org", "pending", 0),
    ]


def test_a_row_can_be_claimed_by_one_worker_only_and_never_once_sent(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions() as first, sessions() as second:
        ensure_deliveries(first, "2026-W48", "ja", IDS, NOW)
        row = list_deliveries(first, "2026-W48", "ja")[0]
        claimed = claim_delivery(first, row.id, NOW)
        assert claimed is not None and (claimed.status, claimed.attempts) == ("sending", 1)
        mark_sent(first, row.id, NOW)
        assert claim_delivery(second, row.id, NOW) is None
        assert list_deliveries(second, "2026-W48", "ja")[0].status == "sent"


def test_a_failed_row_keeps_its_error_and_is_claimed_again(engine: Engine) -> None:
    with session_factory(engine)() as session:
        ensure_deliveries(session, "2026-W48", "en", IDS, NOW)
        row = list_deliveries(session, "2026-W48", "en")[1]
        assert claim_delivery(session, row.id, NOW) is not None
        mark_failed(session, row.id, "server answered 451 try later", NOW)
        failed = list_deliveries(session, "2026-W48", "en")[1]
        assert (failed.status, failed.last_error) == ("failed", "server answered 451 try later")
        again = claim_delivery(session, row.id, NOW + timedelta(days=1))
        assert again is not None and again.attempts == 2


def test_a_given_up_row_is_never_claimed_until_reset(engine: Engine) -> None:
    with session_factory(engine)() as session:
        ensure_deliveries(session, "2026-W48", "ja", IDS, NOW)
        first, second = list_deliveries(session, "2026-W48", "ja")
        assert claim_delivery(session, first.id, NOW) is not None
        assert mark_given_up(session, first.id, "server refused the recipient: 550", NOW)
        assert not mark_given_up(session, first.id, "again", NOW)  # once only
        assert claim_delivery(session, second.id, NOW) is not None
        mark_failed(session, second.id, "server answered 451 try later", NOW)
        assert not give_up_failed(session, first.id, NOW)  # not failed: left alone
        assert give_up_failed(session, second.id, NOW)
        rows = list_deliveries(session, "2026-W48", "ja")
        assert [(r.status, r.attempts, r.last_error) for r in rows] == [
            ("given-up", 1, "server refused the recipient: 550"),
            ("given-up", 1, "server answered 451 try later"),
        ]
        assert claim_delivery(session, first.id, NOW) is None
        assert claim_delivery(session, second.id, NOW) is None
        assert reset_given_up(session, "2026-W48", "en", NOW) == 0
        assert reset_given_up(session, "2026-W48", "ja", NOW) == 2
        assert {(r.status, r.attempts) for r in list_deliveries(session, "2026-W48", "ja")} == {
            ("pending", 0)
        }
        again = claim_delivery(session, first.id, NOW)
        assert again is not None and again.attempts == 1


def test_the_builder_lock_refuses_a_second_holder_until_released(engine: Engine) -> None:
    sessions = session_factory(engine)
    with builder_lock(sessions, "digest-build:2026-W48:ja", holder="one", now=NOW):
        with (
            pytest.raises(StorageError, match="another migwatch process"),
            builder_lock(sessions, "digest-build:2026-W48:ja", holder="two", now=NOW),
        ):
            pass
        with builder_lock(sessions, "digest-build:2026-W48:en", holder="two", now=NOW):
            pass
    with builder_lock(sessions, "digest-build:2026-W48:ja", holder="two", now=NOW):
        pass


def test_recording_an_issue_twice_updates_the_one_row(engine: Engine) -> None:
    sessions = session_factory(engine)
    record = IssueRecord("2026-W48", "ja", NOW, False, 3, 2, "first", "digest/2026-W48/ja")
    with sessions() as session:
        record_issue(session, record)
        record_issue(session, IssueRecord("2026-W48", "ja", NOW, True, 5, 4, "second",
                                          "digest/2026-W48/ja"))
        count = session.scalar(select(func.count(DigestIssue.id)))
        issue = session.scalars(select(DigestIssue)).one()
    assert count == 1
    assert (issue.subject, issue.article_count, issue.is_complete) == ("second", 5, True)


def test_a_lease_left_by_a_dead_process_on_this_host_is_taken_over(tmp_path: Path) -> None:
    # SQLite path: PostgreSQL uses advisory locks, which die with their connection.
    engine = create_db_engine(f"sqlite:///{tmp_path / 'lease.sqlite3'}")
    migrate(engine)
    now = datetime(2026, 11, 30, 0, 0)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = socket.gethostname()
    with engine.begin() as conn:
        for name, pid in (("send:ja", gone.pid), ("send:en", os.getppid())):
            conn.execute(insert(Lease).values(name=name, holder=f"{host}:{pid}",
                                              acquired_at=now, expires_at=now + timedelta(hours=1)))
    sessions = session_factory(engine)
    with builder_lock(sessions, "send:ja", holder="me:1", now=now.replace(tzinfo=UTC)):
        pass  # the dead process's lease was taken over
    with pytest.raises(StorageError, match="another migwatch process"), builder_lock(
        sessions, "send:en", holder="me:1", now=now.replace(tzinfo=UTC)
    ):
        pass  # a live holder still blocks
    engine.dispose()
