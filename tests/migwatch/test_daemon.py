"""The scheduler's decisions with the clock injected: catch-up, staleness, DST, lifecycle."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from db import session_factory
from db.instance import read_lease
from db.models import Source
from digest.build import build_digest, load_theme_infos
from digest.periods import current_week, last_complete_week
from migwatch import sampleweb
from migwatch.cli import _register, cli
from migwatch.context import AppContext
from migwatch.daemon import Daemon, Runner, digest_trigger, due_digest_week
from migwatch.jobs import collect
from migwatch.sampleweb import SampleWeb
from tests.crawler.webfixture import build_site
from tests.digest.fixtures.smtp import RecordingHandler, smtp_server
from tests.digest.fixtures.week import seed_week

_register()
TOKYO = ZoneInfo("Asia/Tokyo")
RECIPIENTS = ["aiko@ngo.example.org", "ben@press.example.com"]


def write_app(directory: Path, db_url: str, *, port: int, timezone: str = "Asia/Tokyo",
              cron: str = "0 8 * * mon", sources: str = "sources: []\n",
              extra: str = "", skip_empty: bool = True) -> AppContext:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sources.yaml").write_text(sources, encoding="utf-8")
    (directory / "migwatch.yaml").write_text(f"""
timezone: {timezone}
crawler: {{download_delay_seconds: 0, timeout_seconds: 5, retries: 0}}
network: {{allow_private: true}}
digest:
  recipients: {RECIPIENTS}
  archive_dir: "{directory / 'archive'}"
  skip_empty: {str(skip_empty).lower()}
smtp: {{host: 127.0.0.1, port: {port}, starttls: false, sender: digest@example.net}}
schedule: {{digest_cron: "{cron}", pause_after_failures: 3}}
{extra}""", encoding="utf-8")
    return AppContext(config_path=directory, db_url=db_url)


@pytest.fixture
def smtp() -> Iterator[tuple[RecordingHandler, int]]:
    with smtp_server() as server:
        yield server


def at_tokyo(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO).astimezone(UTC)


def test_a_daemon_down_at_digest_time_and_back_three_hours_later_sends_once(
    tmp_path: Path, engine: Engine, db_url: str, smtp: tuple[RecordingHandler, int],
) -> None:
    handler, port = smtp
    with session_factory(engine)() as session:
        seed_week(session)
    app = write_app(tmp_path / "config", db_url, port=port)
    back = at_tokyo(2026, 11, 30, 11, 0)  # Monday 08:00 passed three hours ago
    first = Daemon(app, clock=lambda: back).catch_up()
    assert first is not None and first.built.period == "2026-W48"
    assert sorted(r for m in handler.received for r in m.recipients) == sorted(RECIPIENTS)
    # a restart an hour later, and the cron job firing late, send nothing more
    assert Daemon(app, clock=lambda: back + timedelta(hours=1)).catch_up() is None
    Daemon(app, clock=lambda: back + timedelta(hours=2)).digest()
    # three days later the issue is stale: nothing is sent again
    assert Daemon(app, clock=lambda: back + timedelta(days=3)).catch_up() is None
    assert len(handler.received) == 2
    app.close()


def test_a_daemon_back_only_after_three_days_does_not_send_a_stale_issue(
    tmp_path: Path, db_url: str, smtp: tuple[RecordingHandler, int],
) -> None:
    handler, port = smtp
    app = write_app(tmp_path / "config", db_url, port=port)
    assert Daemon(app, clock=lambda: at_tokyo(2026, 12, 3, 9, 0)).catch_up() is None
    assert handler.received == []
    app.close()


def test_the_grace_window_follows_the_configured_cron_and_zone() -> None:
    app_schedule = AppContextless.schedule()
    assert due_digest_week(app_schedule, TOKYO, at_tokyo(2026, 11, 30, 7, 59)) is None
    assert due_digest_week(app_schedule, TOKYO, at_tokyo(2026, 11, 30, 8, 0)) == "2026-W48"
    assert due_digest_week(app_schedule, TOKYO, at_tokyo(2026, 11, 30, 19, 59)) == "2026-W48"
    assert due_digest_week(app_schedule, TOKYO, at_tokyo(2026, 11, 30, 20, 1)) is None


class AppContextless:
    @staticmethod
    def schedule():  # type: ignore[no-untyped-def]
        from config.schema import ScheduleSettings

        return ScheduleSettings.model_validate({})


@pytest.mark.parametrize(("day", "fires"), [((2026, 10, 24), 2), ((2026, 3, 28), 1)],
                         ids=["autumn-clocks-back", "spring-clocks-forward"])
def test_across_a_daylight_saving_change_the_digest_is_sent_once(
    tmp_path: Path, db_url: str, smtp: tuple[RecordingHandler, int],
    day: tuple[int, int, int], fires: int,
) -> None:
    handler, port = smtp
    berlin = ZoneInfo("Europe/Berlin")
    # 02:30 on Sunday happens twice in autumn and not at all in spring.
    # the week has no articles: mail it anyway, this test is about the clock
    app = write_app(tmp_path / "config", db_url, port=port, timezone="Europe/Berlin",
                    cron="30 2 * * sun", skip_empty=False)
    trigger = digest_trigger(app.settings.schedule, berlin)
    start = datetime(*day, 12, tzinfo=berlin)
    fire_times = []
    moment = trigger.get_next_fire_time(None, start)
    while moment is not None and moment < start + timedelta(days=1):
        fire_times.append(moment)
        moment = trigger.get_next_fire_time(moment, moment.astimezone(UTC) + timedelta(seconds=1))
    assert len(fire_times) == fires
    for fired in fire_times:
        Daemon(app, clock=lambda fired=fired: fired).digest()  # type: ignore[misc]
    weeks = {last_complete_week(f, berlin) for f in fire_times}
    assert len(weeks) == 1
    for recipient in RECIPIENTS:
        assert len(handler.to(recipient)) == 1
    app.close()


def test_a_failing_source_is_paused_after_hard_failures_and_comes_back_by_itself(
    tmp_path: Path, db_url: str, smtp: tuple[RecordingHandler, int],
) -> None:
    _, port = smtp
    build_site(tmp_path / "web")
    with SampleWeb(tmp_path / "web") as web:
        sources = (f'sources:\n  - {{key: wire, name: Sample wire, kind: feed, '
                   f'url: "{web.base_url}/en/feed.rss", language: en}}\n')
        app = write_app(tmp_path / "config", db_url, port=port, sources=sources)
        web.route("/en/feed.rss", sampleweb.status(404))

        def source_row() -> Source:
            with app.sessions() as session:
                row = session.scalars(select(Source).where(Source.key == "wire")).one()
                session.expunge(row)
                return row

        for expected_failures in (1, 2, 3):
            summary = collect(app)
            assert summary.failed and "HTTP 404" in (summary.failed[0].error or "")
            assert source_row().consecutive_failures == expected_failures
        paused = source_row()
        assert paused.state == "paused"
        # shown in `migwatch status` and in the digest's source-health section
        status = CliRunner().invoke(cli, ["--config", str(app.config_path), "--db", db_url,
                                          "status"])
        row = next(ln for ln in status.output.splitlines() if ln.strip().startswith("wire "))
        assert "paused" in row
        assert "wire (paused): HTTP 404 from" in status.output
        built = build_digest(app.sessions, app.settings, load_theme_infos(app.config_path),
                             week=current_week(datetime.now(UTC), TOKYO), language="en",
                             now=datetime.now(UTC), out_dir=tmp_path / "archive")
        page = built.html_path.read_text(encoding="utf-8")
        health = page[page.index('id="health"'):]
        # readers get plain words; the operator's detail stays in `migwatch status`
        assert "Sample wire" in health and "paused after repeated failures" in health
        assert "HTTP 404" not in health
        assert paused.next_check_at is not None
        probe_time = paused.next_check_at.replace(tzinfo=UTC)
        runner_now = Runner(app, clock=lambda: probe_time - timedelta(hours=1))
        assert runner_now.due_keys(probe_time - timedelta(hours=1)) == []  # resting
        # the server recovers; the daily probe finds it and the source is active again
        web.route("/en/feed.rss", lambda request: web._serve_file(request))
        probe = Runner(app, clock=lambda: probe_time + timedelta(minutes=1))
        result = probe.collect_due()
        assert result is not None and not result.failed
        recovered = source_row()
        assert (recovered.state, recovered.consecutive_failures) == ("active", 0)
        app.close()


def test_the_daemon_sees_sources_added_while_it_runs_and_survives_a_broken_edit(
    tmp_path: Path, db_url: str,
) -> None:
    app = write_app(tmp_path / "config", db_url, port=25, sources=(
        'sources:\n  - {key: one, name: One, kind: feed, url: "https://one.example/feed"}\n'))
    runner = Runner(app)
    now = datetime.now(UTC)
    assert runner.due_keys(now) == ["one"]
    sources = app.config_path / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8")
                       + '  - {key: two, name: Two, kind: feed, url: "https://two.example/f"}\n',
                       encoding="utf-8")
    assert runner.due_keys(now) == ["one", "two"]
    sources.write_text("sources:\n  - {key: [broken\n", encoding="utf-8")
    assert runner.due_keys(now) == ["one", "two"]  # the last good list is kept
    app.close()


def test_run_collects_due_sources_once_then_waits_for_their_next_check(
    tmp_path: Path, db_url: str,
) -> None:
    build_site(tmp_path / "web")
    with SampleWeb(tmp_path / "web") as web:
        sources = (f'sources:\n  - {{key: wire, name: Wire, kind: feed, '
                   f'url: "{web.base_url}/en/feed.rss", language: en}}\n')
        config = write_app(tmp_path / "config", db_url, port=25, sources=sources).config_path
        args = ["--config", str(config), "--db", db_url, "run"]
        first = CliRunner().invoke(cli, args)
        assert first.exit_code == 0, first.output
        assert "wire" in first.output and "3 new articles" in first.output
        web.clear_log()
        second = CliRunner().invoke(cli, args)
        assert second.exit_code == 0, second.output
        assert "no source is due" in second.output
        assert web.requests == []


def test_the_stop_signal_handler_takes_no_lock(tmp_path: Path, db_url: str) -> None:
    """A handler runs in the main thread at any moment, even while that thread is inside
    ``Event.wait`` holding the event's lock; a handler that needed it would hang for good."""
    daemon = Daemon(write_app(tmp_path / "config", db_url, port=9))
    returned = threading.Event()

    def deliver() -> None:
        daemon._on_signal(signal.SIGTERM, None)
        returned.set()

    with daemon.stopped._cond:  # type: ignore[attr-defined]
        threading.Thread(target=deliver, daemon=True).start()
        assert returned.wait(10), "the signal handler waited for a lock"
    assert not daemon.stopped.is_set()  # the main thread stops the jobs, not the handler
    assert daemon.wait_for_signal() == signal.SIGTERM
    daemon.begin_stop(signal.SIGTERM)
    assert daemon.stopped.is_set() and daemon.runner.stopping.is_set()


def test_the_heartbeat_never_waits_on_the_scheduler_and_publishes_the_next_runs(
    tmp_path: Path, db_url: str
) -> None:
    """Jobs call the heartbeat; the scheduler's shutdown holds its job-store lock while it
    waits for running jobs, so a heartbeat that asked the scheduler would never return."""
    saturday = at_tokyo(2026, 11, 28, 19, 0)
    daemon = Daemon(write_app(tmp_path / "config", db_url, port=9), clock=lambda: saturday)
    daemon.lock.acquire(saturday)
    returned = threading.Event()

    def beat() -> None:
        daemon.heartbeat()
        returned.set()

    try:
        with daemon.scheduler._jobstores_lock:  # type: ignore[attr-defined]
            threading.Thread(target=beat, daemon=True).start()
            assert returned.wait(10), "the heartbeat waited for the scheduler"
        lease = read_lease(daemon.app.engine)
    finally:
        daemon.lock.release()
    assert lease is not None
    assert lease.detail["next_digest_at"] == "2026-11-29T23:00:00+00:00"  # Monday 08:00 JST
    assert lease.detail["next_tick_at"] is not None


def test_the_daemon_retries_a_failed_recipient_later_not_at_every_tick(
    tmp_path: Path, engine: Engine, db_url: str, smtp: tuple[RecordingHandler, int],
) -> None:
    handler, port = smtp
    aiko, ben = RECIPIENTS
    with session_factory(engine)() as session:
        seed_week(session)
    app = write_app(tmp_path / "config", db_url, port=port)
    handler.defer.add(ben)  # the mail server says "try later" to one address
    fired = at_tokyo(2026, 11, 30, 8, 0)

    def tick_at(minutes: int) -> list[str]:
        before = len(handler.asked)
        Daemon(app, clock=lambda: fired + timedelta(minutes=minutes)).tick()
        return handler.asked[before:]

    assert sorted(tick_at(0)) == [aiko, ben]  # the issue goes out; ben is deferred
    assert tick_at(1) == [] and tick_at(9) == []  # ten minutes before the first retry
    assert tick_at(10) == [ben]  # deferred again: the next wait is twenty minutes
    assert tick_at(29) == []
    handler.defer.clear()
    assert tick_at(30) == [ben]
    assert tick_at(31) == [] and tick_at(600) == []
    assert [len(handler.to(address)) for address in RECIPIENTS] == [1, 1]
    app.close()


def test_a_digest_that_cannot_be_sent_is_one_error_line_and_the_tick_goes_on(
    tmp_path: Path, engine: Engine, db_url: str, smtp: tuple[RecordingHandler, int],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    handler, port = smtp
    monkeypatch.delenv("MIGWATCH_SMTP_PASSWORD", raising=False)
    with session_factory(engine)() as session:
        seed_week(session)
    app = write_app(tmp_path / "config", db_url, port=port)
    settings_file = tmp_path / "config" / "migwatch.yaml"
    settings_file.write_text(settings_file.read_text(encoding="utf-8").replace(
        "starttls: false", "starttls: false, username: digest"), encoding="utf-8")
    app.reload()
    daemon = Daemon(app, clock=lambda: at_tokyo(2026, 11, 30, 8, 5))
    with caplog.at_level(logging.ERROR, logger="migwatch.daemon"):
        daemon.tick()
    assert daemon.cycles == 1 and handler.asked == []
    (line,) = [r.getMessage() for r in caplog.records if "digest status=error" in r.getMessage()]
    assert "MIGWATCH_SMTP_PASSWORD" in line and "\n" not in line
    app.close()


def test_the_tick_leaves_the_digest_to_a_job_already_on_it(
    tmp_path: Path, engine: Engine, db_url: str, smtp: tuple[RecordingHandler, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, port = smtp
    with session_factory(engine)() as session:
        seed_week(session)
    app = write_app(tmp_path / "config", db_url, port=port)
    daemon = Daemon(app, clock=lambda: at_tokyo(2026, 11, 30, 8, 0))
    with caplog.at_level(logging.WARNING), daemon.runner.digest_busy:  # the digest job's turn
        daemon.tick()
    assert handler.asked == [] and daemon.cycles == 1
    assert [r.getMessage() for r in caplog.records] == []
    daemon.tick()  # the job is done: now the tick may send what is left
    assert sorted(handler.asked) == sorted(RECIPIENTS)
    app.close()
