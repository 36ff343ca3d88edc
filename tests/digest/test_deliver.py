"""Delivery against a real SMTP server on 127.0.0.1: once per recipient, retries of the
refused up to digest.max_attempts, and the crash window between sending and recording."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.errors import ConfigError
from db import session_factory
from db.ledger import has_work, list_deliveries
from digest.deliver import message_id_for, refuses_the_address, send_digest
from digest.model import BuiltDigest
from tests.digest.fixtures.setup import RECIPIENTS, build, seed, settings_for
from tests.digest.fixtures.smtp import free_port, smtp_server

AIKO, BEN, CHIKA = RECIPIENTS


@pytest.fixture
def built(engine: Engine, tmp_path: Path) -> BuiltDigest:
    """The fixture week, seeded and built (in Japanese, 2026-W48)."""
    seed(engine)
    return build(engine, tmp_path)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def given_up_warnings(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """The 'gave up' warnings logged so far by digest.deliver."""
    caplog.set_level(logging.WARNING, logger="digest.deliver")
    return lambda: [r.getMessage() for r in caplog.records
                    if r.name == "digest.deliver" and r.getMessage().startswith("gave up")]


def _statuses(engine: Engine) -> dict[str, tuple[str, int]]:
    with session_factory(engine)() as session:
        rows = list_deliveries(session, "2026-W48", "ja")
    return {row.recipient: (row.status, row.attempts) for row in rows}


def test_each_recipient_gets_one_multipart_message_and_a_rerun_sends_nothing(
    engine: Engine, built: BuiltDigest, sessions: sessionmaker[Session]
) -> None:
    with smtp_server() as (server, port):
        settings = settings_for(port)
        first = send_digest(sessions, settings, built, now=built.built_at)
        second = send_digest(sessions, settings, built, now=built.built_at + timedelta(hours=1))
    assert [o.status for o in first.outcomes] == ["sent", "sent", "sent"]
    assert [o.status for o in second.outcomes] == ["already-sent"] * 3
    assert len(server.received) == 3
    for address in RECIPIENTS:
        (received,) = server.to(address)
        message = received.message
        assert message.get_content_type() == "multipart/alternative"
        kinds = [part.get_content_type() for part in message.iter_parts()]
        assert kinds == ["text/plain", "text/html"]
        assert message["Subject"] == built.subject
        assert message["Message-ID"] == message_id_for(
            "2026-W48", "ja", address, "digest@migwatch.example.net"
        )
    assert set(_statuses(engine).values()) == {("sent", 1)}


def test_a_deferred_recipient_is_recorded_and_sent_once_on_the_next_run(
    engine: Engine, built: BuiltDigest, sessions: sessionmaker[Session]
) -> None:
    with smtp_server(defer={BEN}) as (server, port):
        report = send_digest(sessions, settings_for(port), built, now=built.built_at)
        assert report.has_failures
        failed = next(o for o in report.outcomes if o.recipient == BEN)
        assert failed.status == "failed"
        assert failed.error == "server refused the recipient: 451 4.3.0 mailbox busy, try again later"
        assert _statuses(engine) == {AIKO: ("sent", 1), BEN: ("failed", 1), CHIKA: ("sent", 1)}
        server.defer.clear()
        retry = send_digest(sessions, settings_for(port), built, now=built.built_at)
    assert {o.recipient: o.status for o in retry.outcomes} == {
        AIKO: "already-sent", BEN: "sent", CHIKA: "already-sent",
    }
    assert [len(server.to(a)) for a in RECIPIENTS] == [1, 1, 1]
    assert _statuses(engine)[BEN] == ("sent", 2)


def test_a_recipient_failing_max_attempts_times_is_given_up_and_reported_once(
    engine: Engine, built: BuiltDigest, sessions: sessionmaker[Session],
    given_up_warnings: Callable[[], list[str]],
) -> None:
    with smtp_server(defer={BEN}) as (server, port):
        settings = settings_for(port, recipients=[AIKO, BEN], max_attempts=3)
        runs = [
            send_digest(sessions, settings, built, now=built.built_at + timedelta(hours=n))
            for n in range(5)
        ]
    ben = [next(o for o in run.outcomes if o.recipient == BEN) for run in runs]
    assert [(o.status, o.attempts) for o in ben] == [
        ("failed", 1), ("failed", 2), ("given-up", 3), ("given-up", 3), ("given-up", 3),
    ]
    assert all(run.has_failures for run in runs)
    # asked three times, then never again
    assert server.asked.count(BEN) == 3 and server.to(BEN) == []
    assert _statuses(engine) == {AIKO: ("sent", 1), BEN: ("given-up", 3)}
    (warning,) = given_up_warnings()
    assert warning == (
        f"gave up mailing 2026-W48 (ja) to {BEN} after 3 attempts: server refused the "
        "recipient: 451 4.3.0 mailbox busy, try again later; check the address and the smtp "
        "settings, then run: migwatch digest --week 2026-W48 --lang ja --send --retry-given-up"
    )
    with sessions() as session:
        assert not has_work(session, "2026-W48", "ja", [AIKO, BEN],
                            built.built_at + timedelta(days=1), timedelta(minutes=10))


def test_a_permanent_refusal_is_given_up_at_once_with_a_sanitised_reason(
    engine: Engine, built: BuiltDigest, sessions: sessionmaker[Session],
    given_up_warnings: Callable[[], list[str]],
) -> None:
    with smtp_server(refuse={BEN}) as (server, port):
        report = send_digest(sessions, settings_for(port), built, now=built.built_at)
        again = send_digest(sessions, settings_for(port), built,
                            now=built.built_at + timedelta(days=1))
    refused = next(o for o in report.outcomes if o.recipient == BEN)
    assert (refused.status, refused.attempts) == ("given-up", 1)
    assert refused.error is not None and refused.error.startswith(
        "server refused the recipient: 550"
    )
    assert "\n" not in refused.error and "<script>" not in refused.error
    assert report.has_failures and again.has_failures
    assert {o.recipient: o.status for o in again.outcomes} == {
        AIKO: "already-sent", BEN: "given-up", CHIKA: "already-sent",
    }
    assert server.asked.count(BEN) == 1
    assert _statuses(engine) == {AIKO: ("sent", 1), BEN: ("given-up", 1), CHIKA: ("sent", 1)}
    (warning,) = given_up_warnings()
    assert f"to {BEN} after 1 attempt: server refused the recipient: 550" in warning
    assert "\n" not in warning


def test_relaying_denied_is_the_setup_not_the_address_and_is_tried_again(
    built: BuiltDigest, sessions: sessionmaker[Session]
) -> None:
    with smtp_server() as (server, port):
        server.no_relay.add(BEN)
        first = send_digest(sessions, settings_for(port), built, now=built.built_at)
        server.no_relay.clear()  # the user fixed the SMTP login
        second = send_digest(sessions, settings_for(port), built,
                             now=built.built_at + timedelta(hours=1))
    ben = next(o for o in first.outcomes if o.recipient == BEN)
    assert (ben.status, ben.attempts) == ("failed", 1)
    assert ben.error is not None and "5.7.1 relaying denied" in ben.error
    assert {o.recipient: o.status for o in second.outcomes}[BEN] == "sent"
    assert len(server.to(BEN)) == 1


@pytest.mark.parametrize(("code", "text", "permanent"), [
    (550, b"5.1.1 <ben@press.example.com>: user unknown", True),
    (553, b"mailbox name not allowed", True),
    (550, b"5.7.1 relaying denied", False),
    (550, b"relaying denied", False),
    (554, b"5.7.1 rejected by policy", False),
    (552, b"5.2.2 mailbox full", False),
    (450, b"4.1.1 try again", False),
])
def test_only_a_refusal_of_the_address_itself_is_permanent(
    code: int, text: bytes, permanent: bool
) -> None:
    assert refuses_the_address(code, text) is permanent


def test_retry_given_up_gives_the_recipient_a_fresh_set_of_attempts(
    engine: Engine, built: BuiltDigest, sessions: sessionmaker[Session]
) -> None:
    with smtp_server(refuse={BEN}) as (server, port):
        settings = settings_for(port, max_attempts=2)
        send_digest(sessions, settings, built, now=built.built_at)
        server.refuse.clear()
        server.defer.add(BEN)
        later = built.built_at + timedelta(days=1)
        first = send_digest(sessions, settings, built, now=later, retry_given_up=True)
        assert _statuses(engine)[BEN] == ("failed", 1)
        second = send_digest(sessions, settings, built, now=later, retry_given_up=True)
        assert _statuses(engine)[BEN] == ("given-up", 2)
        server.defer.clear()
        third = send_digest(sessions, settings, built, now=later, retry_given_up=True)
    assert [next(o.status for o in r.outcomes if o.recipient == BEN)
            for r in (first, second, third)] == ["failed", "given-up", "sent"]
    assert not third.has_failures
    assert [len(server.to(a)) for a in RECIPIENTS] == [1, 1, 1]
    assert _statuses(engine)[BEN] == ("sent", 1)


def test_a_lowered_limit_gives_up_an_exhausted_recipient_without_another_attempt(
    engine: Engine, built: BuiltDigest, sessions: sessionmaker[Session],
    given_up_warnings: Callable[[], list[str]],
) -> None:
    with smtp_server(defer={BEN}) as (server, port):
        for hours in (0, 1, 2):
            send_digest(sessions, settings_for(port, max_attempts=5), built,
                        now=built.built_at + timedelta(hours=hours))
        assert _statuses(engine)[BEN] == ("failed", 3)
        assert given_up_warnings() == []
        lowered = settings_for(port, max_attempts=2)
        report = send_digest(sessions, lowered, built, now=built.built_at + timedelta(hours=3))
        send_digest(sessions, lowered, built, now=built.built_at + timedelta(hours=4))
    assert server.asked.count(BEN) == 3
    ben = next(o for o in report.outcomes if o.recipient == BEN)
    assert (ben.status, ben.attempts) == ("given-up", 3)
    assert ben.error == "server refused the recipient: 451 4.3.0 mailbox busy, try again later"
    assert _statuses(engine)[BEN] == ("given-up", 3)
    (warning,) = given_up_warnings()
    assert f"to {BEN} after 3 attempts: server refused the recipient: 451" in warning


def test_a_crash_after_the_smtp_transaction_costs_at_most_one_duplicate(
    engine: Engine, built: BuiltDigest, sessions: sessionmaker[Session]
) -> None:

    def killed_after_first_send(recipient: str) -> None:
        raise SystemExit(f"killed after sending to {recipient}")

    with smtp_server() as (server, port):
        with pytest.raises(SystemExit):
            send_digest(sessions, settings_for(port), built, now=built.built_at,
                        after_send=killed_after_first_send)
        # the server has the message, the ledger still says "sending": the window
        assert len(server.to(AIKO)) == 1
        assert _statuses(engine) == {
            AIKO: ("sending", 1), BEN: ("pending", 0), CHIKA: ("pending", 0),
        }
        report = send_digest(sessions, settings_for(port), built, now=built.built_at)
    assert [o.status for o in report.outcomes] == ["sent", "sent", "sent"]
    # never lost; the one in flight at the crash arrives twice with the same Message-ID
    assert [len(server.to(a)) for a in RECIPIENTS] == [2, 1, 1]
    first, again = server.to(AIKO)
    assert first.message["Message-ID"] == again.message["Message-ID"]
    assert set(_statuses(engine).values()) == {("sent", 1), ("sent", 2)}


def test_an_unreachable_server_fails_every_recipient_with_one_line_and_loses_none(
    engine: Engine, built: BuiltDigest, sessions: sessionmaker[Session]
) -> None:
    report = send_digest(sessions, settings_for(free_port()), built,
                         now=built.built_at)
    assert [o.status for o in report.outcomes] == ["failed"] * 3
    assert all(o.error and o.error.startswith("cannot reach 127.0.0.1:") for o in report.outcomes)
    assert set(_statuses(engine).values()) == {("failed", 1)}


def test_a_week_in_progress_is_not_mailed(
    engine: Engine, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    seed(engine)
    built = build(engine, tmp_path, week="2026-W49")
    with pytest.raises(ConfigError, match="still in progress"):
        send_digest(sessions, settings_for(), built, now=built.built_at)


def test_no_recipients_is_a_configuration_error(
    built: BuiltDigest, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(ConfigError, match=r"digest\.recipients"):
        send_digest(sessions, settings_for(recipients=[]), built,
                    now=built.built_at)


def test_a_login_without_a_password_in_the_environment_is_refused_before_sending(
    engine: Engine, built: BuiltDigest, sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MIGWATCH_SMTP_PASSWORD", raising=False)
    base = settings_for()
    settings = base.model_copy(update={"smtp": base.smtp.model_copy(update={"username": "u"})})
    with pytest.raises(ConfigError, match="MIGWATCH_SMTP_PASSWORD"):
        send_digest(sessions, settings, built, now=built.built_at)
    assert _statuses(engine) == {}


def test_dry_run_writes_eml_files_and_leaves_the_ledger_alone(
    engine: Engine, tmp_path: Path, built: BuiltDigest, sessions: sessionmaker[Session]
) -> None:
    report = send_digest(sessions, settings_for(), built, now=built.built_at,
                         dry_run_dir=tmp_path / "outbox")
    names = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert names == sorted(f"2026-W48.ja.{a}.eml" for a in RECIPIENTS)
    assert {o.status for o in report.outcomes} == {"dry-run"}
    assert _statuses(engine) == {}


def test_message_ids_are_stable_per_issue_and_unique_per_recipient() -> None:
    one = message_id_for("2026-W48", "ja", "a@ngo.example.org", "d@mw.example.net")
    assert one == message_id_for("2026-W48", "ja", "A@NGO.example.org", "d@mw.example.net")
    assert one != message_id_for("2026-W48", "ja", "b@ngo.example.org", "d@mw.example.net")
    assert one != message_id_for("2026-W48", "en", "a@ngo.example.org", "d@mw.example.net")
    assert one != message_id_for("2026-W49", "ja", "a@ngo.example.org", "d@mw.example.net")
    assert one.startswith("<digest.2026-W48.ja.") and one.endswith("@mw.example.net>")
