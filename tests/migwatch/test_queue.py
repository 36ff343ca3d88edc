"""Collection on the task queue: ``serve --queue`` and ``migwatch worker`` on PostgreSQL.

The queue lives in PostgreSQL, so these tests run on PostgreSQL only (and the
multi-process ones once): SQLite is checked only for its one-line refusal.
"""

from __future__ import annotations

import os
import queue as stdqueue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from db import create_db_engine, session_factory
from db.instance import crawl_lease_name
from db.models import Article, FetchLog, Lease, Sighting, Source
from migwatch import sampleweb
from migwatch.cli import _register, cli
from migwatch.context import AppContext
from migwatch.daemon import Daemon
from migwatch.queue import QueueClient
from migwatch.sampleweb import SampleWeb
from tests.conftest import pg_database
from tests.crawler.webfixture import EN_BODY, JA_BODY, article_page, rss, write
from tests.digest.fixtures.smtp import RecordingHandler, smtp_server
from tests.digest.fixtures.week import seed_week
from tests.migwatch.test_daemon import RECIPIENTS, at_tokyo, write_app

# short, for the test; a starved but live worker must still answer within stalled_after
QUEUE_SETTINGS = "queue: {heartbeat: 1s, stalled_after: 6s, retry_wait: 1s}\n"


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """An empty, migrated PostgreSQL database (the queue needs PostgreSQL)."""
    with pg_database(pg_template, prefix="mwq") as url:
        yield url


class Process:
    """A ``migwatch`` child whose output lines are kept."""

    def __init__(self, config: Path, db_url: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "migwatch", "--config", str(config), "--db", db_url, *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: stdqueue.Queue[str] = stdqueue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Children to stop (SIGTERM, then SIGKILL) whatever the test's outcome."""
    started: list[Process] = []
    yield started
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


def wait_until(condition: Callable[[], bool], timeout: float, what: str,
               logs: list[Process] = ()) -> None:  # type: ignore[assignment]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    detail = "\n".join("".join(p.log[-30:]) for p in logs)
    raise AssertionError(f"timed out waiting for {what}\n{detail}")


def jobs_by_status(db_url: str) -> dict[str, int]:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is None:
                return {}
            rows = conn.execute(text(
                "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"))
            return {status: int(count) for status, count in rows}
    finally:
        engine.dispose()


# -- the fixture web of 100 sources ---------------------------------------------------

TOPICS_EN = [
    "Labour corridor talks resume between sending and receiving states",
    "Cyclone displacement figures revised upward by regional office",
    "Funding gap forces cuts to return and reintegration programmes",
    "Forum delegates agree on skills partnership pilot",
    "Border monitoring report notes rise in family reunification requests",
]
TOPICS_JA = [
    "外国人労働者の受け入れ拡大に向け自治体が相談窓口を新設",
    "難民認定申請の審査期間、前年より短縮と入管庁",
    "国際移住機関が資金不足で一部事業を縮小へ",
    "技能実習制度の見直し、地方の中小企業に戸惑い",
    "日本語教室の担い手不足、ボランティア頼みの運営続く",
]
SOURCES = 100
PER_SOURCE = 3
SLOW_SOURCE = 42  # its last article page answers only when the test lets it


def build_hundred_sources(root: Path) -> None:
    """100 feeds of three articles; every tenth feed also carries its neighbour's first."""
    write(root, "robots.txt", "User-agent: *\nAllow: /\n")
    for i in range(SOURCES):
        is_ja = i % 2 == 1
        items = []
        for j in range(PER_SOURCE):
            topic = (TOPICS_JA if is_ja else TOPICS_EN)[(i + j) % 5]
            title = f"{topic}（第{i}報）" if is_ja else f"{topic} (bulletin {i}.{j})"
            path = f"s{i:03d}/a{j}.html"
            write(root, path, article_page(title, JA_BODY if is_ja else EN_BODY,
                                           lang="ja" if is_ja else "en",
                                           dateline="2026-11-24"))
            items.append((title, f"{{base}}/{path}", "Tue, 24 Nov 2026 09:00:00 +0900"))
        if i % 10 == 0:
            neighbour = (i + 1) % SOURCES
            items.append(("Shared wire copy", f"{{base}}/s{neighbour:03d}/a0.html",
                          "Tue, 24 Nov 2026 09:00:00 +0900"))
        write(root, f"s{i:03d}/feed.rss", rss(items, title=f"Desk {i}"))


def hundred_sources_config(directory: Path, web: SampleWeb) -> Path:
    directory.mkdir()
    (directory / "migwatch.yaml").write_text(
        "timezone: Asia/Tokyo\n"
        "crawler: {download_delay_seconds: 0, timeout_seconds: 30, retries: 0}\n"
        "network: {allow_private: true}\n"
        "schedule: {tick: 1s, min_interval: 1h, max_interval: 24h}\n" + QUEUE_SETTINGS,
        encoding="utf-8")
    lines = ["sources:"]
    for i in range(SOURCES):
        lines.append(f"  - {{key: desk-{i:03d}, name: Desk {i}, kind: feed, "
                     f"url: \"{web.base_url}/s{i:03d}/feed.rss\", interval: 1h}}")
    (directory / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def crawl_of(db_url: str, source_key: str) -> tuple[int, int] | None:
    """(worker pid, its crawl child's pid) while ``source_key`` is being crawled."""
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            holder = conn.scalar(select(Lease.holder).where(
                Lease.name == crawl_lease_name(source_key)))
    finally:
        engine.dispose()
    if holder is None:
        return None
    worker_pid = int(holder.rpartition(":")[2])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if ppid == worker_pid and b"crawler" in argv:
            return worker_pid, int(entry.name)
    return None


@pytest.mark.slow
def test_two_workers_collect_a_hundred_sources_once_though_one_is_killed_mid_run(
    tmp_path: Path, pg_url: str, processes: list[Process],
) -> None:
    root = tmp_path / "web"
    build_hundred_sources(root)
    release = threading.Event()
    slow_path = f"/s{SLOW_SOURCE:03d}/a{PER_SOURCE - 1}.html"
    slow_page = (root / slow_path.lstrip("/")).read_bytes()

    def held_until_released(request: sampleweb.RecordedRequest) -> sampleweb.Reply:
        release.wait(60)
        return sampleweb.Reply(200, {"Content-Type": "text/html; charset=utf-8"}, slow_page)

    with SampleWeb(root) as web:
        web.route(slow_path, held_until_released)
        config = hundred_sources_config(tmp_path / "config", web)
        workers = [Process(config, pg_url, "worker", "--concurrency", "2") for _ in range(2)]
        processes.extend(workers)
        scheduler = Process(config, pg_url, "serve", "--queue")
        processes.append(scheduler)
        # one worker is in the middle of the slow source: kill it
        slow_key = f"desk-{SLOW_SOURCE:03d}"
        wait_until(lambda: bool(web.requests_for(slow_path)) and crawl_of(pg_url, slow_key)
                   is not None, 180, "the crawl of the slow source", processes)
        found = crawl_of(pg_url, slow_key)
        assert found is not None
        worker_pid, child_pid = found
        victim = next(w for w in workers if w.process.pid == worker_pid)
        os.kill(worker_pid, signal.SIGKILL)
        victim.process.wait()
        release.set()
        # its crawl child sees its parent gone and stops by itself
        wait_until(lambda: not Path(f"/proc/{child_pid}").exists()
                   or "Z" in Path(f"/proc/{child_pid}/stat").read_text().split(")")[1][:3],
                   60, "the orphaned crawl to stop", processes)

        engine = create_db_engine(pg_url)

        def all_sources_succeeded() -> bool:
            with engine.connect() as conn:
                done = conn.scalar(select(func.count()).select_from(Source)
                                   .where(Source.last_success_at.is_not(None)))
            return done == SOURCES and jobs_by_status(pg_url).keys() <= {"succeeded"}

        wait_until(all_sources_succeeded, 300, "every source collected", processes)
        for process in processes:
            process.stop()
        survivor = next(w for w in workers if w is not victim)
        assert survivor.process.returncode == 0, "".join(survivor.log)
        assert scheduler.process.returncode == 0, "".join(scheduler.log)

        with session_factory(engine)() as session:
            urls = session.scalars(select(Article.url)).all()
            sightings = session.scalar(select(func.count()).select_from(Sighting))
            errors = session.scalars(select(FetchLog.error)
                                     .where(FetchLog.status == "error")).all()
            last_status = dict(session.execute(
                select(Source.key, FetchLog.status).join(Source, Source.id == FetchLog.source_id)
                .order_by(FetchLog.id)).all())
            slow_article = session.scalar(select(Article.text)
                                          .where(Article.url == web.url(slow_path)))
        with engine.connect() as conn:
            retried = conn.scalar(text(
                "SELECT attempts FROM procrastinate_jobs WHERE args->>'source_key' = :key"),
                {"key": slow_key})
            events = conn.execute(text(
                "SELECT e.type::text, e.at FROM procrastinate_events e JOIN procrastinate_jobs j"
                " ON j.id = e.job_id WHERE j.args->>'source_key' = :key ORDER BY e.id"),
                {"key": slow_key}).all()
            per_source = conn.execute(text(
                "SELECT args->>'source_key', count(*) FROM procrastinate_jobs "
                "WHERE task_name = 'collect_source' GROUP BY 1 HAVING count(*) > 1")).all()
        engine.dispose()
    assert len(urls) == len(set(urls)) == SOURCES * PER_SOURCE  # every article exactly once
    assert sightings == SOURCES * PER_SOURCE + SOURCES // 10  # the shared copies are sightings
    # the killed worker's crawls (two at once) recorded themselves as stopped; their
    # sources were then collected again, and every source's last pass succeeded
    assert len(errors) <= 2 and all("stopped" in e for e in errors if e), errors
    assert len(last_status) == SOURCES, last_status
    assert set(last_status.values()) <= {"ok", "not_modified"}, last_status  # both successes
    assert slow_article and "International Organization for Migration" in slow_article
    # the killed worker's job was put back once and finished by the other worker: two
    # starts, and procrastinate counts the retry and the finish as attempts
    assert [kind for kind, _ in events].count("started") == 2, events
    assert retried == 2, events
    assert per_source == []  # never a second job for a source


def test_a_source_gets_one_job_however_often_it_is_enqueued(pg_url: str, tmp_path: Path) -> None:
    app = write_app(tmp_path / "config", pg_url, port=25, extra=QUEUE_SETTINGS)
    first = QueueClient(app)
    second = QueueClient(app)  # another scheduler
    try:
        assert first.enqueue_sources(["desk-a", "desk-b"]).queued == ("desk-a", "desk-b")
        again = second.enqueue_sources(["desk-a", "desk-c"])
        assert again.queued == ("desk-c",) and again.already == ("desk-a",)
        assert first.active_sources() == {"desk-a", "desk-b", "desk-c"}
        skipped = first.enqueue_sources(["desk-b"], active=first.active_sources())
        assert skipped.queued == ()
        assert first.enqueue_digest("2026-W48", "ja", at_tokyo(2026, 11, 30, 8, 0))
        assert not second.enqueue_digest("2026-W48", "ja", at_tokyo(2026, 11, 30, 8, 1))
    finally:
        first.close()
        second.close()
    assert jobs_by_status(pg_url) == {"todo": 4}
    _register()
    shown = CliRunner().invoke(cli, ["--config", str(app.config_path), "--db", pg_url, "status"])
    assert shown.exit_code == 0, shown.output
    assert "queue: 4 waiting" in shown.output and "0 workers alive" in shown.output
    app.close()


@pytest.mark.parametrize("command", [["serve", "--queue"], ["worker"]])
def test_the_queue_on_sqlite_is_one_line_and_exit_2(tmp_path: Path,
                                                    command: list[str]) -> None:
    config = tmp_path / "config"
    write_app(config, f"sqlite:///{tmp_path / 'db.sqlite3'}", port=25)
    result = subprocess.run(
        [sys.executable, "-m", "migwatch", "--config", str(config), "--db",
         f"sqlite:///{tmp_path / 'db.sqlite3'}", *command],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "PostgreSQL" in lines[0] and "--db postgresql" in lines[0]


@pytest.mark.slow
def test_two_schedulers_and_three_workers_send_each_issue_to_each_recipient_once(
    tmp_path: Path, pg_url: str, processes: list[Process],
) -> None:
    engine = create_db_engine(pg_url)
    with session_factory(engine)() as session:
        seed_week(session)
    with smtp_server() as (handler, port):
        config = tmp_path / "config"
        # Every week is mailed, the empty ones too, so each is an issue owed exactly once.
        app_a = write_app(config, pg_url, port=port, extra=QUEUE_SETTINGS, skip_empty=False)
        app_b = AppContext(config_path=config, db_url=pg_url)
        workers = [Process(config, pg_url, "worker") for _ in range(3)]
        processes.extend(workers)
        client_a, client_b = QueueClient(app_a), QueueClient(app_b)
        weeks = {"2026-W48": at_tokyo(2026, 11, 30, 8, 0),
                 "2026-W49": at_tokyo(2026, 12, 7, 8, 0),
                 "2026-W50": at_tokyo(2026, 12, 14, 8, 0)}
        try:
            for monday in weeks.values():
                # both schedulers fire the digest, catch up, and tick, at the same moments
                for minutes in (0, 1, 5):
                    moment = monday + timedelta(minutes=minutes)
                    daemons = [Daemon(app, clock=lambda m=moment: m, queue=client)
                               for app, client in ((app_a, client_a), (app_b, client_b))]
                    threads = [threading.Thread(target=job) for d in daemons
                               for job in (d.digest, d.catch_up, d.tick)]
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join()
                wait_until(lambda: not jobs_by_status(pg_url).keys() & {"todo", "doing"},
                           120, "the digest jobs", processes)
        finally:
            client_a.close()
            client_b.close()
            for process in processes:
                process.stop()
        sent = _sent(handler)
    engine.dispose()
    app_a.close()
    app_b.close()
    assert jobs_by_status(pg_url).get("failed", 0) == 0, "".join(w.log[-1] for w in workers
                                                                    if w.log)
    assert set(sent) == {(week, r) for week in weeks for r in RECIPIENTS}
    assert all(count == 1 for count in sent.values()), sent


def _sent(handler: RecordingHandler) -> dict[tuple[str, str], int]:
    """(period, recipient) → number of messages received."""
    counts: dict[tuple[str, str], int] = {}
    for item in handler.received:
        message = item.message
        period = str(message["Message-ID"]).split(".")[1]  # <digest.2026-W48.ja.…@host>
        for recipient in item.recipients:
            counts[(period, recipient)] = counts.get((period, recipient), 0) + 1
    return counts
