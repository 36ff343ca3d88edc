"""Collection past one machine: jobs on procrastinate, a task queue that lives in PostgreSQL.

``migwatch serve --queue`` enqueues what is due instead of doing it; ``migwatch worker``
takes the jobs and runs them with the same code as the single-process path
(:func:`migwatch.jobs.collect`, :func:`migwatch.jobs.tag`, :meth:`Runner.send_week`).

Three tasks, each guarded by procrastinate's two locks:

| task | ``queueing_lock`` (at most one waiting) | ``lock`` (at most one running) |
| --- | --- | --- |
| ``collect_source(source_key)`` | ``source:<key>`` | ``source:<key>`` |
| ``tag_articles()`` | ``tag`` | ``tag-digest`` |
| ``send_digest(week, language, now)`` | ``digest:<week>:<language>`` | ``tag-digest`` |

The scheduler also skips a source whose job is still running, so a source has at most
one job in the queue.  A worker killed mid-job stops its heartbeat; after
``queue.stalled_after`` any other worker puts that job back to ``todo`` (the job still
holds its ``lock`` until then, so the source is not started twice).  What the killed job
had committed stays; the retry finds the stored articles known.  The digest and its
deliveries keep their own guards in the database (the builder lock, one delivery row
per recipient), so any number of schedulers and workers send each issue once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException
from procrastinate.schema import SchemaManager
from procrastinate.worker import Worker
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from config.errors import ConfigError, StorageError
from config.schema import QueueSettings
from db.instance import QUEUE_SCHEDULER_LEASE
from migwatch.context import AppContext

log = logging.getLogger(__name__)

COLLECT_TASK = "collect_source"
TAG_TASK = "tag_articles"
DIGEST_TASK = "send_digest"
TAG_DIGEST_LOCK = "tag-digest"
SCHEMA_LOCK_KEY = 0x6D6977_05  # "miw" + 5: creating the queue's tables, once
ACTIVE_STATUSES = ("todo", "doing")


class CrawlCrashed(Exception):  # noqa: N818 — procrastinate retries on it; not a MigwatchError
    """The crawl child died (killed, out of memory): the job is tried again."""


def source_lock(source_key: str) -> str:
    """The lock (and queueing lock) of one source's job."""
    return f"source:{source_key}"


def digest_lock(week: str, language: str) -> str:
    """The queueing lock of one issue's digest job."""
    return f"digest:{week}:{language}"


def require_postgresql(app: AppContext) -> None:
    """Raise a one-line ConfigError unless the database is PostgreSQL."""
    backend = make_url(app.db_url).get_backend_name() if "://" in app.db_url else ""
    if backend != "postgresql":
        raise ConfigError(
            "the task queue keeps its jobs in PostgreSQL and this database is "
            f"{backend or 'not a URL'}; run `serve --queue` and `worker` with "
            "--db postgresql+psycopg://user@host/dbname (or set MIGWATCH_DB_URL)"
        )


def conninfo(db_url: str) -> str:
    """The libpq address of a SQLAlchemy PostgreSQL URL (the driver suffix dropped)."""
    return make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_queue_schema(app: AppContext) -> None:
    """Create procrastinate's tables once; two processes starting together wait for each other.

    The queue's tables belong to procrastinate (its own versioned SQL), not to our Alembic
    history; see docs/scaling.md for upgrading them with procrastinate's migrations.
    """
    engine = app.engine
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
            if conn.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is None:
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute(SchemaManager.get_schema())
                log.info("queue status=created tables=procrastinate_*")
    except SQLAlchemyError as exc:
        raise StorageError(f"creating the task queue's tables failed: {exc}") from exc


@dataclass(frozen=True)
class EnqueueReport:
    """What one scheduler tick put on the queue."""

    queued: tuple[str, ...]
    already: tuple[str, ...]  # a job for the source waits or runs already


class WorkerJobs:
    """The task bodies, run by a worker with its own configuration and database."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self._reload_lock = threading.Lock()

    def reload(self) -> None:
        """Read the YAML files again (a job may name a source added since the start)."""
        with self._reload_lock:
            try:
                self.app.reload()
            except ConfigError as exc:
                log.error("configuration not reloaded, keeping the previous one: %s", exc)

    def collect_source(self, source_key: str) -> int:
        """Collect one source; returns the number of new articles."""
        from migwatch.jobs import collect

        self.reload()
        if source_key not in {s.key for s in self.app.sources}:
            log.warning("source=%s status=skipped not in sources.yaml any more", source_key)
            return 0
        summary = collect(self.app, [source_key])
        if summary.child is not None and summary.child.returncode != 0:
            raise CrawlCrashed(
                f"the crawl of {source_key} exited with {summary.child.returncode}"
            )
        return summary.new_count

    def tag_articles(self) -> int:
        """Tag what the collections stored; returns how many articles were tagged."""
        from migwatch.jobs import tag

        return tag(self.app).tagged

    def send_digest(self, week: str, language: str, now: str) -> str:
        """Tag, then build and send ``week`` once per recipient (the ledger decides)."""
        from migwatch.daemon import Runner
        from migwatch.jobs import tag

        self.reload()
        tag(self.app)
        moment = datetime.fromisoformat(now)
        run = Runner(self.app).send_week(week, moment, language=language)
        if run is None:
            return "nothing to do"
        report = run.report
        return "failed" if report and report.has_failures else "ok"


def build_queue_app(app: AppContext, jobs: WorkerJobs | None = None) -> App:
    """The procrastinate app on this database, with migwatch's three tasks."""
    require_postgresql(app)
    queue = App(connector=PsycopgConnector(conninfo=conninfo(app.db_url)))
    bodies = jobs or WorkerJobs(app)
    settings = app.settings.queue
    retry = RetryStrategy(max_attempts=settings.max_attempts,
                          wait=int(settings.retry_wait.total_seconds()),
                          retry_exceptions={CrawlCrashed, StorageError})

    @queue.task(name=COLLECT_TASK, retry=retry)
    def collect_source(source_key: str) -> int:
        new = bodies.collect_source(source_key)
        # a tag job that waits already will see these articles too
        with contextlib.suppress(AlreadyEnqueued):
            tag_articles.configure(queueing_lock="tag", lock=TAG_DIGEST_LOCK).defer()
        return new

    @queue.task(name=TAG_TASK, retry=retry)
    def tag_articles() -> int:
        return bodies.tag_articles()

    @queue.task(name=DIGEST_TASK, retry=retry)
    def send_digest(week: str, language: str, now: str) -> str:
        return bodies.send_digest(week, language, now)

    return queue


class QueueClient:
    """The scheduler's side: put due sources and due digests on the queue."""

    def __init__(self, app: AppContext) -> None:
        require_postgresql(app)
        ensure_queue_schema(app)
        self.app = app
        self.queue = build_queue_app(app)
        self.queue.open()

    def close(self) -> None:
        """Close the queue's connections."""
        self.queue.close()

    def active_sources(self) -> set[str]:
        """Sources with a job waiting or running."""
        query = text(
            "SELECT args->>'source_key' FROM procrastinate_jobs "
            "WHERE task_name = :task AND status IN ('todo', 'doing')"
        )
        try:
            with self.app.engine.connect() as conn:
                return {key for (key,) in conn.execute(query, {"task": COLLECT_TASK}) if key}
        except SQLAlchemyError as exc:
            raise StorageError(f"reading the task queue failed: {exc}") from exc

    def enqueue_sources(self, keys: Sequence[str], *, active: Iterable[str] = ()) -> EnqueueReport:
        """One job per source, none for a source whose job waits or runs."""
        busy = set(active)
        queued: list[str] = []
        already: list[str] = []
        task = self.queue.tasks[COLLECT_TASK]
        for key in keys:
            if key in busy:
                already.append(key)
                continue
            lock = source_lock(key)
            try:
                task.configure(lock=lock, queueing_lock=lock).defer(source_key=key)
            except AlreadyEnqueued:
                already.append(key)  # another scheduler was quicker
                continue
            except ConnectorException as exc:
                raise StorageError(f"putting {key} on the task queue failed: {exc}") from exc
            queued.append(key)
        return EnqueueReport(tuple(queued), tuple(already))

    def enqueue_digest(self, week: str, language: str, now: datetime) -> bool:
        """Queue the digest of ``week``; False when one waits already."""
        task = self.queue.tasks[DIGEST_TASK]
        try:
            task.configure(lock=TAG_DIGEST_LOCK,
                           queueing_lock=digest_lock(week, language)).defer(
                week=week, language=language, now=now.astimezone(UTC).isoformat())
        except AlreadyEnqueued:
            return False
        except ConnectorException as exc:
            raise StorageError(f"putting the digest on the task queue failed: {exc}") from exc
        return True


@dataclass(frozen=True)
class QueueState:
    """What ``migwatch status`` shows of the queue."""

    counts: dict[str, int]  # jobs by status: todo, doing, succeeded, failed, …
    oldest_waiting_seconds: float | None
    workers_alive: int
    schedulers: tuple[str, ...]  # holders of the schedulers' leases


def queue_state(app: AppContext) -> QueueState | None:
    """The queue's jobs and workers, or None when the database holds no queue."""
    if make_url(app.db_url).get_backend_name() != "postgresql":
        return None
    stalled = app.settings.queue.stalled_after.total_seconds()
    try:
        with app.engine.connect() as conn:
            if conn.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is None:
                return None
            counts = {status: int(n) for status, n in conn.execute(text(
                "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1"))}
            oldest = conn.scalar(text(
                "SELECT extract(epoch FROM now() - min(scheduled_at)) FROM procrastinate_jobs "
                "WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())"))
            workers = conn.scalar(text(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat >= now() - make_interval(secs => :s)"), {"s": stalled})
            schedulers = tuple(conn.execute(text(
                "SELECT holder FROM leases WHERE name LIKE :prefix AND expires_at > :now"
                " ORDER BY holder"),
                {"prefix": f"{QUEUE_SCHEDULER_LEASE}:%",
                 "now": datetime.now(UTC).replace(tzinfo=None)}).scalars())
    except SQLAlchemyError as exc:
        raise StorageError(f"reading the task queue failed: {exc}") from exc
    return QueueState(counts, float(oldest) if oldest is not None else None,
                      int(workers or 0), schedulers)


async def retry_stalled_jobs(queue: App, settings: QueueSettings,
                             own_worker_id: int | None = None) -> list[int]:
    """Put back to ``todo`` the jobs of workers whose heartbeat stopped; their ids.

    Never the jobs of ``own_worker_id``: a worker whose event loop was starved past the
    timeout sees its own heartbeat as old, yet its jobs still run.
    """
    retried = []
    stalled = await queue.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.stalled_after.total_seconds())
    for job in stalled:
        assert job.id is not None
        if own_worker_id is not None and job.worker_id == own_worker_id:
            continue
        try:
            await queue.job_manager.retry_job(job)
        except ConnectorException:
            continue  # another worker put it back first
        log.warning("job=%d task=%s status=retried its worker stopped answering", job.id,
                    job.task_name)
        retried.append(job.id)
    return retried


async def _sweep_stalled(queue: App, settings: QueueSettings, worker: Worker) -> None:
    while True:
        await asyncio.sleep(settings.heartbeat.total_seconds())
        if worker.worker_id is None:
            continue  # not registered yet
        try:
            await retry_stalled_jobs(queue, settings, worker.worker_id)
        except ConnectorException as exc:
            log.error("queue status=error looking for stalled jobs failed: %s", exc)


def run_worker(app: AppContext, *, concurrency: int = 1) -> int:
    """``migwatch worker``: take jobs until SIGTERM/SIGINT; running jobs are finished first."""
    require_postgresql(app)
    ensure_queue_schema(app)
    app.engine  # noqa: B018 — migrate and open the engine before jobs share it in threads
    settings = app.settings.queue
    queue = build_queue_app(app)

    async def main() -> None:
        async with queue.open_async():
            worker = Worker(
                queue,
                concurrency=concurrency,
                update_heartbeat_interval=settings.heartbeat.total_seconds(),
                stalled_worker_timeout=settings.stalled_after.total_seconds(),
                install_signal_handlers=True,
            )
            sweeper = asyncio.create_task(_sweep_stalled(queue, settings, worker))
            try:
                await worker.run()  # type: ignore[no-untyped-call]
            finally:
                sweeper.cancel()

    log.info("worker status=started concurrency=%d", concurrency)
    asyncio.run(main())
    log.info("worker status=stopped")
    return 0
