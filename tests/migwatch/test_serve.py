"""``migwatch serve`` as a real process: cycles, memory, clean stops, one instance."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from db import create_db_engine
from db.instance import read_lease
from db.models import Article
from migwatch import sampleweb
from migwatch.sampleweb import SampleWeb
from tests.crawler.webfixture import build_site

SETTINGS = """
timezone: Asia/Tokyo
crawler: {download_delay_seconds: 0, timeout_seconds: 20, retries: 0}
network: {allow_private: true}
schedule: {tick: 1s, min_interval: 1s, max_interval: 1h}
"""


class Daemon:
    """A ``migwatch serve`` child whose log lines arrive on a queue."""

    def __init__(self, config: Path, db_url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "migwatch", "--config", str(config), "--db", db_url, "serve"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in the daemon's log:\n{''.join(self.log)}")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()  # leave no daemon behind; the test fails on the timeout
            self.process.wait()
            raise


@pytest.fixture
def web(tmp_path: Path) -> Iterator[SampleWeb]:
    build_site(tmp_path / "web")
    with SampleWeb(tmp_path / "web") as server:
        yield server


def config_for(tmp_path: Path, web: SampleWeb) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "migwatch.yaml").write_text(SETTINGS, encoding="utf-8")
    (config / "sources.yaml").write_text(f"""
sources:
  - {{key: wire-en, name: Wire, kind: feed, url: "{web.base_url}/en/feed.rss", interval: 1s}}
  - {{key: paper-ja, name: Paper, kind: feed, url: "{web.base_url}/ja/feed.rdf", interval: 1s}}
""", encoding="utf-8")
    return config


def article_count(db_url: str) -> tuple[int, int]:
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(Article)) or 0
        distinct = conn.scalar(select(func.count(func.distinct(Article.url)))) or 0
    engine.dispose()
    return total, distinct


def test_serve_runs_cycles_in_one_process_without_growing(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    daemon = Daemon(config_for(tmp_path, web), db_url)
    try:
        rss = []
        for cycle in (1, 2, 3, 4):
            line = daemon.wait_for(f"cycle={cycle} ")
            rss.append(daemon.rss_kib())
        # stamped in Asia/Tokyo; the next check and the next digest in the same zone
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+09:00 INFO migwatch.daemon: cycle=4 .*"
                        r"next_check=\d{4}-\d\d-\d\d \d\d:\d\d next_digest=\d{4}-\d\d-\d\d 08:00$",
                        line), line
        assert article_count(db_url) == (5, 5)
        assert rss[2] < rss[1] * 1.2, rss  # second to third cycle grows less than 20 %
        assert rss[3] < rss[1] * 1.2, rss
    finally:
        code = daemon.stop()
    log = "".join(daemon.log)
    assert code == 0, log
    assert "Traceback" not in log and "ReactorNotRestartable" not in log
    assert "source=wire-en status=" in log  # one line per source per cycle


def test_sigterm_during_a_crawl_stops_within_ten_seconds_and_a_restart_resumes(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    reached = threading.Event()
    hold = sampleweb.slow(web.release)

    def stuck(request: sampleweb.RecordedRequest) -> sampleweb.Reply:
        reached.set()
        return hold(request)

    web.route("/ja/eucjp.html", stuck)
    config = config_for(tmp_path, web)
    daemon = Daemon(config, db_url)
    try:
        assert reached.wait(60), "".join(daemon.log)
        started = time.monotonic()
        daemon.process.send_signal(signal.SIGTERM)
        code = daemon.process.wait(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        daemon.stop()
    assert code == 0, "".join(daemon.log)
    assert elapsed < 10, elapsed
    stored, _ = article_count(db_url)
    assert stored < 5
    web.route("/ja/eucjp.html", lambda request: web._serve_file(request))
    again = Daemon(config, db_url)
    try:
        again.wait_for("cycle=1 ")
        again.wait_for("cycle=2 ")
    finally:
        assert again.stop() == 0
    assert article_count(db_url) == (5, 5)  # nothing lost, nothing twice


def test_a_second_serve_on_the_same_database_exits_2(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    config = config_for(tmp_path, web)
    first = Daemon(config, db_url)
    try:
        first.wait_for("serve status=started")
        second = subprocess.run(
            [sys.executable, "-m", "migwatch", "--config", str(config), "--db", db_url,
             "serve"], capture_output=True, text=True, timeout=60,
            env=dict(os.environ))
    finally:
        assert first.stop() == 0
    assert second.returncode == 2
    assert "already runs against this database" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1


def test_an_edited_schedule_is_applied_without_a_restart(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    config = config_for(tmp_path, web)
    daemon = Daemon(config, db_url)
    try:
        daemon.wait_for("cycle=1 ")
        (config / "migwatch.yaml").write_text(
            SETTINGS.replace("tick: 1s", "tick: 2s, digest_cron: '30 6 * * fri'"),
            encoding="utf-8")
        line = daemon.wait_for("schedule reloaded")
        daemon.wait_for("cycle=")  # the heartbeat of a whole tick after the change has
        daemon.wait_for("cycle=")  # run once the next cycle line appears
        engine = create_db_engine(db_url)
        lease = read_lease(engine)
        engine.dispose()
    finally:
        code = daemon.stop()
    assert code == 0, "".join(daemon.log)
    assert "digest_cron='30 6 * * fri'" in line and "tick=0:00:02" in line
    assert lease is not None
    next_digest = datetime.fromisoformat(lease.detail["next_digest_at"])
    local = next_digest.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (local.weekday(), local.hour, local.minute) == (4, 6, 30)  # Friday 06:30 JST
