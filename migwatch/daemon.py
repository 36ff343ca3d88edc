"""Running on its own: the cycle of ``migwatch run`` and the ``migwatch serve`` daemon.

One cycle: collect the sources that are due (their next check lives in the database) →
tag what was stored → build and send the digest if one is due and not yet delivered.  The
daemon runs the same steps from one APScheduler 3 scheduler: a *tick* job looks for due
sources every ``schedule.tick``; a *digest* job fires on ``schedule.digest_cron`` in the
configured time zone, with ``coalesce``, ``max_instances=1`` and a misfire grace of
``schedule.digest_misfire_grace`` (12 h by default), and on start the daemon catches up a
digest it missed while it was down, within the same grace; each tick also mails again,
after ``digest.retry_wait`` (doubling), a recipient whose attempt failed.  Crawls run in child
processes; SIGTERM/SIGINT stop the child gracefully (it records what it finished) and
the daemon exits 0.  The delivery ledger makes every send exactly-once per recipient, so
a repeated fire, a restart or a second host cannot mail an issue twice.

With ``serve --queue`` (:mod:`migwatch.queue`) the tick and the digest job put the work on
the task queue in PostgreSQL instead, for ``migwatch worker`` processes; several such
schedulers may run at once.

Each tick reads both YAML files again; a changed tick, digest cron or time zone is handed
to the main thread, which reschedules the jobs.  Jobs never call into the scheduler
themselves: APScheduler 3's ``shutdown(wait=True)`` holds the job-store lock while it
waits for running jobs, so such a call could hang the stop.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.errors import ConfigError, MigwatchError
from config.schema import ScheduleSettings, Settings
from crawler.collect import CollectReport, spec_of
from db import store as db_store
from db.instance import QUEUE_SCHEDULER_LEASE, InstanceLock, this_process
from db.ledger import has_work
from db.queries import source_health
from digest.build import build_digest, load_theme_infos
from digest.deliver import send_digest
from digest.model import BuiltDigest, DeliveryReport
from digest.periods import last_complete_week
from digest.tagging.store import TagRunSummary
from migwatch.context import AppContext
from migwatch.jobs import collect, tag

if TYPE_CHECKING:
    from migwatch.queue import EnqueueReport, QueueClient

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def digest_trigger(schedule: ScheduleSettings, tz: Any) -> CronTrigger:
    """The digest's cron trigger in the configured time zone."""
    return CronTrigger.from_crontab(schedule.digest_cron, timezone=tz)


@dataclass(frozen=True)
class Timing:
    """The parts of ``migwatch.yaml`` that the scheduler's jobs are built from."""

    tick: timedelta
    digest_cron: str
    timezone: str
    digest_misfire_grace: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Timing:
        """The timing ``settings`` ask for."""
        schedule = settings.schedule
        return cls(schedule.tick, schedule.digest_cron, settings.timezone,
                   schedule.digest_misfire_grace)

    @property
    def heartbeat_seconds(self) -> float:
        """How often the lease is renewed: every tick, at least every 30 s."""
        return min(30.0, self.tick.total_seconds())

    def tick_trigger(self) -> IntervalTrigger:
        """Every ``tick``."""
        return IntervalTrigger(seconds=self.tick.total_seconds(), timezone=self.timezone)

    def digest_trigger(self) -> CronTrigger:
        """``digest_cron`` in the configured time zone."""
        return CronTrigger.from_crontab(self.digest_cron, timezone=self.timezone)


def lease_ttl(timing: Timing) -> timedelta:
    """How long the instance lease lasts without a heartbeat: three beats, at least 90 s."""
    return timedelta(seconds=max(90.0, 3 * timing.heartbeat_seconds))


def misfire_seconds(tick: timedelta) -> int:
    """How late a tick may still run."""
    return int(tick.total_seconds()) + 60


def last_fire_before(trigger: CronTrigger, now: datetime, window: timedelta) -> datetime | None:
    """The latest fire time of ``trigger`` in ``(now - window, now]``."""
    now = now.astimezone(UTC)
    moment = trigger.get_next_fire_time(None, now - window)
    latest = None
    while moment is not None and moment <= now:
        latest = moment
        # Step in UTC: adding to a local time on the night clocks go back steps by the
        # wall clock and lands before the moment it started from.
        moment = trigger.get_next_fire_time(moment, moment.astimezone(UTC) + timedelta(seconds=1))
    return latest


def due_digest_week(schedule: ScheduleSettings, tz: Any, now: datetime) -> str | None:
    """The week whose digest is due now: the digest time passed less than a grace ago."""
    fired = last_fire_before(digest_trigger(schedule, tz), now, schedule.digest_misfire_grace)
    return None if fired is None else last_complete_week(fired, tz)


@dataclass(frozen=True)
class DigestRun:
    """A digest built (and, with recipients, delivered)."""

    built: BuiltDigest
    report: DeliveryReport | None


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did."""

    collected: CollectReport | None
    tagged: TagRunSummary
    digest: DigestRun | None

    @property
    def has_failures(self) -> bool:
        """Whether a source or a recipient failed."""
        failed_sources = bool(self.collected and self.collected.failed)
        failed_mail = bool(self.digest and self.digest.report and self.digest.report.has_failures)
        return failed_sources or failed_mail


class Runner:
    """The steps of a cycle, with an injectable clock."""

    def __init__(self, app: AppContext, *, clock: Clock = utc_now,
                 queue: QueueClient | None = None) -> None:
        self.app = app
        self.clock = clock
        # With a queue, collections and digests are put on it for workers to run.
        self.queue = queue
        self.child: subprocess.Popen[str] | None = None
        self.stopping = threading.Event()
        # The digest job, the catch-up and the tick's retry may fire together (on Monday
        # at the digest time): one of them works on the digest, the others leave it be.
        self.digest_busy = threading.Lock()

    def due_keys(self, now: datetime) -> list[str]:
        """Enabled sources whose next check has come (sources.yaml is read anew each time)."""
        try:
            self.app.reload()
        except ConfigError as exc:
            # A half-edited file must not stop the daemon: keep going with the last good one.
            log.error("configuration not reloaded, keeping the previous one: %s", exc)
        sources = self.app.sources
        with self.app.sessions() as session:
            db_store.sync_sources(session, [spec_of(s) for s in sources], now)
            session.commit()
            return db_store.due_source_keys(session, [s.key for s in sources if s.enabled], now)

    def collect_due(self) -> CollectReport | None:
        """Collect the due sources, if any, in a crawl child."""
        now = self.clock()
        keys = self.due_keys(now)
        if not keys or self.stopping.is_set():
            return None
        return collect(self.app, keys, now=now, on_child_start=self._remember_child)

    def enqueue_due(self) -> EnqueueReport | None:
        """Put one job per due source on the queue (none for a source already there)."""
        assert self.queue is not None
        now = self.clock()
        # Read before the due list: a job that ends in between has already moved its
        # source's next check, so the source is neither due nor queued again.
        active = self.queue.active_sources()
        keys = self.due_keys(now)
        if not keys or self.stopping.is_set():
            return None
        report = self.queue.enqueue_sources(keys, active=active)
        log.info("queue queued=%d already=%d", len(report.queued), len(report.already))
        return report

    def _remember_child(self, child: subprocess.Popen[str]) -> None:
        self.child = child

    def send_due_digest(self) -> DigestRun | None:
        """Build and send the due week's digest unless it already reached everyone."""
        now = self.clock()
        settings = self.app.settings
        week = due_digest_week(settings.schedule, settings.tz, now)
        if week is None:
            return None
        return self.send_week(week, now)

    def send_week(self, week: str, now: datetime, *,
                  language: str | None = None) -> DigestRun | None:
        """Build ``week`` (in the configured language) and mail it once per recipient.

        Nothing happens while another job of this process is on the digest, or while every
        recipient has it, was given up, or waits for the next retry of a failed attempt
        (``digest.retry_wait``).
        """
        if not self.digest_busy.acquire(blocking=False):
            return None
        try:
            language = language or self.app.settings.digest.language
            if self.queue is not None:
                self._enqueue_week(week, now, language)
                return None
            return self._send_week(week, now, language)
        finally:
            self.digest_busy.release()

    def _enqueue_week(self, week: str, now: datetime, language: str) -> None:
        assert self.queue is not None
        digest = self.app.settings.digest
        with self.app.sessions() as session:
            if not has_work(session, week, language, digest.recipients, now,
                            digest.retry_wait):
                return
        if self.queue.enqueue_digest(week, language, now):
            log.info("digest period=%s language=%s status=queued", week, language)

    def _send_week(self, week: str, now: datetime, language: str) -> DigestRun | None:
        settings = self.app.settings
        recipients = settings.digest.recipients
        with self.app.sessions() as session:
            if not has_work(session, week, language, recipients, now,
                            settings.digest.retry_wait):
                return None
        built = build_digest(self.app.sessions, settings, load_theme_infos(self.app.config_path),
                             week=week, language=language, now=now)
        report = None
        if recipients:
            report = send_digest(self.app.sessions, settings, built, now=now)
        log.info("digest period=%s language=%s articles=%d stories=%d status=%s", week,
                 language, built.article_count, built.story_count,
                 "failed" if report and report.has_failures else "ok")
        return DigestRun(built, report)

    def cycle(self) -> CycleResult:
        """One full cycle: collect due sources → tag → digest if due."""
        collected = self.collect_due()
        tagged = tag(self.app)
        return CycleResult(collected, tagged, self.send_due_digest())

    def stop_child(self, grace_seconds: float = 4.0) -> None:
        """Stop a running crawl: SIGTERM (graceful), again, then SIGKILL."""
        child = self.child
        if child is None or child.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGTERM, 2.0)):
            child.send_signal(sig)
            try:
                child.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
        child.kill()


class Daemon:
    """``migwatch serve``: one scheduler, one instance per database, clean stops."""

    def __init__(self, app: AppContext, *, clock: Clock = utc_now,
                 queue: QueueClient | None = None) -> None:
        self.app = app
        self.runner = Runner(app, clock=clock, queue=queue)
        self.clock = clock
        settings = app.settings
        self.timing = Timing.of(settings)
        if queue is None:
            self.lock = InstanceLock(app.engine, ttl=lease_ttl(self.timing))
        else:
            # Schedulers on a queue may run side by side (one per host, say): the queue's
            # locks and the delivery ledger keep their work single.  Each has its lease.
            holder = this_process()
            self.lock = InstanceLock(app.engine, ttl=lease_ttl(self.timing), holder=holder,
                                     name=f"{QUEUE_SCHEDULER_LEASE}:{holder}",
                                     is_exclusive=False)
        self.scheduler = BackgroundScheduler(timezone=settings.tz)
        self.tick_trigger = self.timing.tick_trigger()
        self.digest_trigger = self.timing.digest_trigger()
        self.stopped = threading.Event()
        self.signalled: int | None = None
        # Set by the tick job when migwatch.yaml asks for another timing; applied by the
        # main thread (a job must not call into the scheduler, see heartbeat).
        self.pending_timing: Timing | None = None
        self.cycles = 0
        self.last_tick_at: datetime | None = None
        self.last_digest_at: datetime | None = None

    def tick(self) -> None:
        """The tick job: collect due sources, tag, and retry a failed digest delivery."""
        if self.stopped.is_set():
            return
        if self.runner.queue is not None:
            self.tick_queue()
            return
        summary = self.runner.collect_due()  # reads migwatch.yaml and sources.yaml anew
        if self.stopped.is_set():
            return
        self.notice_timing()
        tagged = tag(self.app)
        self.retry_due_digest()
        self.cycles += 1
        self.last_tick_at = now = self.clock()
        tz = self.app.settings.tz
        next_digest = self.digest_trigger.get_next_fire_time(None, now)
        with self.app.sessions() as session:
            next_check = min((h.next_check_at for h in source_health(session)
                              if h.enabled and h.next_check_at), default=None)
        log.info("cycle=%d sources=%d new=%d tagged=%d next_check=%s next_digest=%s",
                 self.cycles, len(summary.fetches) if summary else 0,
                 summary.new_count if summary else 0, tagged.tagged,
                 f"{max(next_check, now).astimezone(tz):%Y-%m-%d %H:%M}" if next_check else "-",
                 f"{next_digest.astimezone(tz):%Y-%m-%d %H:%M}" if next_digest else "-")
        self.heartbeat()

    def retry_due_digest(self) -> None:
        """Mail a recipient whose attempt failed again, within the grace window."""
        if self.stopped.is_set():
            return
        try:
            self.runner.send_due_digest()
        except MigwatchError as exc:
            # one line per try; the tick still counts and renews the lease
            log.error("digest status=error %s", exc)

    def notice_timing(self) -> None:
        """Hand a timing changed in migwatch.yaml to the main thread."""
        wanted = Timing.of(self.app.settings)
        if wanted != self.timing:
            self.pending_timing = wanted

    def tick_queue(self) -> None:
        """The tick job on a queue: enqueue due sources and a failed delivery's retry."""
        report = self.runner.enqueue_due()  # reads migwatch.yaml and sources.yaml anew
        self.notice_timing()
        self.retry_due_digest()
        self.cycles += 1
        self.last_tick_at = self.clock()
        log.info("cycle=%d queued=%d", self.cycles, len(report.queued) if report else 0)
        self.heartbeat()

    def digest(self) -> None:
        """The digest job: the last complete week, once per recipient."""
        if self.stopped.is_set():
            return
        now = self.clock()
        self.runner.send_week(last_complete_week(now, self.app.settings.tz), now)
        self.last_digest_at = now
        self.heartbeat()

    def heartbeat(self) -> None:
        """Renew the instance lease and publish the last and next runs for ``status``."""
        detail: dict[str, Any] = {"cycles": self.cycles}
        for name, value in (("last_tick_at", self.last_tick_at),
                            ("last_digest_at", self.last_digest_at)):
            detail[name] = value.isoformat() if value else None
        # From the triggers, not from the scheduler: a job that calls into the scheduler
        # (get_job) deadlocks against shutdown(wait=True), which holds the job-store lock
        # while it waits for running jobs.
        now = self.clock()
        for name, trigger in (("tick", self.tick_trigger), ("digest", self.digest_trigger)):
            when = trigger.get_next_fire_time(None, now)
            detail[f"next_{name}_at"] = when.astimezone(UTC).isoformat() if when else None
        self.lock.heartbeat(self.clock(), detail)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only a plain assignment here.  The handler runs in the main thread between two
        # bytecodes, possibly while that thread holds a lock (inside Event.wait, or in
        # logging); taking the same lock again here would hang the daemon for good.
        self.signalled = signum

    def wait_for_signal(self, poll_seconds: float = 0.25) -> int:
        """Block the main thread until SIGTERM/SIGINT arrived; return its number.

        Meanwhile apply a new timing the tick job found in an edited migwatch.yaml.
        """
        while self.signalled is None:
            pending = self.pending_timing
            if pending is not None:
                self.pending_timing = None
                self.apply_timing(pending)
            time.sleep(poll_seconds)  # a signal interrupts the sleep, the loop re-checks
        return self.signalled

    def apply_timing(self, timing: Timing) -> None:
        """Reschedule the jobs for ``timing`` (main thread only)."""
        if timing == self.timing:
            return
        self.tick_trigger = timing.tick_trigger()
        self.digest_trigger = timing.digest_trigger()
        self.lock.ttl = lease_ttl(timing)
        if self.scheduler.running:
            self.scheduler.reschedule_job("tick", trigger=self.tick_trigger)
            self.scheduler.modify_job("tick", misfire_grace_time=misfire_seconds(timing.tick))
            self.scheduler.reschedule_job("digest", trigger=self.digest_trigger)
            self.scheduler.modify_job(
                "digest", misfire_grace_time=int(timing.digest_misfire_grace.total_seconds()))
            self.scheduler.reschedule_job(
                "heartbeat", trigger=IntervalTrigger(seconds=timing.heartbeat_seconds))
        self.timing = timing
        log.info("schedule reloaded tick=%s digest_cron=%r timezone=%s", timing.tick,
                 timing.digest_cron, timing.timezone)

    def begin_stop(self, signum: int) -> None:
        """Stop the jobs and the crawl child (called from the main thread, not the handler)."""
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.stopped.set()
        self.runner.stopping.set()
        threading.Thread(target=self.runner.stop_child, daemon=True).start()

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; return the exit code."""
        self.lock.acquire(self.clock())
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            timing = self.timing
            self.scheduler.add_job(
                self.tick, self.tick_trigger, id="tick",
                max_instances=1, coalesce=True, next_run_time=datetime.now(UTC),
                misfire_grace_time=misfire_seconds(timing.tick))
            self.scheduler.add_job(
                self.digest, self.digest_trigger, id="digest",
                max_instances=1, coalesce=True,
                misfire_grace_time=int(timing.digest_misfire_grace.total_seconds()))
            self.scheduler.add_job(
                self.heartbeat, IntervalTrigger(seconds=timing.heartbeat_seconds),
                id="heartbeat", max_instances=1, coalesce=True)
            self.scheduler.start()
            log.info("serve status=started tick=%s digest_cron=%r timezone=%s",
                     timing.tick, timing.digest_cron, timing.timezone)
            # A digest missed while the daemon was down is sent now, within the grace.
            self.scheduler.add_job(self.catch_up, id="catch-up", max_instances=1)
            self.begin_stop(self.wait_for_signal())
            self.scheduler.shutdown(wait=True)
            log.info("serve status=stopped cycles=%d", self.cycles)
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.lock.release()

    def catch_up(self) -> DigestRun | None:
        """Send a digest whose time passed while the daemon was down (within the grace)."""
        if self.stopped.is_set():
            return None
        return self.runner.send_due_digest()
