"""The crawl child under kills and signals, and two passes at once.

A slow synthetic web (each article page takes a moment to serve) gives the tests time to
kill or signal in the middle of a collection; every wait polls for a condition.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.collect import CollectReport
from db import create_db_engine
from db.models import Article, Run, Sighting
from migwatch import sampleweb
from migwatch.context import AppContext
from migwatch.jobs import collect
from migwatch.sampleweb import SampleWeb

FEEDS = 5
PAGES = 8
EN = ("The regional consultation on labour migration closed with a call for fair "
      "recruitment, lower remittance fees and better protection of domestic workers. ")
JA = ("地域協議は、公正な採用と送金手数料の引き下げ、家事労働者の保護の強化を求めて閉幕した。"
      "参加国は来年までに行動計画をまとめることで合意した。")
SETTINGS = """timezone: Asia/Tokyo
crawler: {download_delay_seconds: 0, timeout_seconds: 20, retries: 0}
network: {allow_private: true}
schedule: {tick: 1s, min_interval: 1s, max_interval: 1h}
"""


def build_slow_web(root: Path) -> None:
    """FEEDS feeds of PAGES article pages each, English and Japanese."""
    for f in range(FEEDS):
        lang, text = ("en", EN) if f % 2 == 0 else ("ja", JA)
        items = []
        for a in range(PAGES):
            path = f"/f{f}/a{a}.html"
            title = f"Consultation {f}-{a}" if lang == "en" else f"協議 {f}-{a}"
            items.append(f"<item><title>{title}</title><link>{{base}}{path}</link>"
                         f"<pubDate>Tue, 24 Nov 2026 09:{a:02d}:00 +0900</pubDate></item>")
            page = root / path.lstrip("/")
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(f"<html lang='{lang}'><head><title>{title}</title></head><body>"
                            f"<article><h1>{title}</h1><p>{text * 3}</p><p>{text * 2}</p>"
                            "</article></body></html>", encoding="utf-8")
        (root / f"f{f}" / "feed.rss").write_text(
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>Feed {f}</title><link>{{base}}/</link><description>d</description>"
            + "".join(items) + "</channel></rss>", encoding="utf-8")


class InFlight:
    """How many page requests the server is answering at once, and the most seen."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.lock = threading.Lock()

    def slowly(self, web: SampleWeb, seconds: float) -> sampleweb.Handler:
        def handler(request: sampleweb.RecordedRequest) -> sampleweb.Reply:
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                time.sleep(seconds)  # a slow server, not a wait for a condition
                return web._serve_file(request)
            finally:
                with self.lock:
                    self.now -= 1

        return handler


@pytest.fixture
def slow_web(tmp_path: Path) -> Iterator[SampleWeb]:
    build_slow_web(tmp_path / "web")
    server = SampleWeb(tmp_path / "web")
    server.in_flight = InFlight()  # type: ignore[attr-defined]
    for f in range(FEEDS):
        for a in range(PAGES):
            server.route(f"/f{f}/a{a}.html",
                         server.in_flight.slowly(server, 0.3))  # type: ignore[attr-defined]
    with server:
        yield server


def write_config(directory: Path, web: SampleWeb) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "migwatch.yaml").write_text(SETTINGS, encoding="utf-8")
    (directory / "sources.yaml").write_text("sources:\n" + "".join(
        f"  - {{key: feed-{f}, name: Feed {f}, kind: feed, url: '{web.base_url}/f{f}/feed.rss'}}\n"
        for f in range(FEEDS)), encoding="utf-8")
    return directory


def stored_urls(db_url: str) -> list[str]:
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        urls = [str(u) for u in conn.scalars(select(Article.url))]
    engine.dispose()
    return urls


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def page_requests(web: SampleWeb) -> list[str]:
    return [r.path for r in web.requests if r.path.endswith(".html")]


def _collect_and_kill(app: AppContext, db_url: str, kept: set[str],
                      delay: float) -> tuple[bool, set[str]]:
    """Collect, and SIGKILL the crawl child ``delay`` s after it committed something new."""
    children: list[subprocess.Popen[str]] = []
    done: list[CollectReport] = []
    thread = threading.Thread(
        target=lambda: done.append(collect(app, on_child_start=children.append)))
    thread.start()
    wait_until(lambda: len(stored_urls(db_url)) > len(kept) or bool(done), 60,
               "a committed batch")
    time.sleep(delay)  # the random moment
    killed = bool(children) and children[0].poll() is None
    if killed:
        children[0].kill()
    thread.join(60)
    assert not thread.is_alive()
    now_stored = stored_urls(db_url)
    assert len(now_stored) == len(set(now_stored)), "an article was stored twice"
    assert kept <= set(now_stored), "a committed article was lost"
    assert done and (done[0].child is None or done[0].child.returncode in (0, -9))
    return killed, set(now_stored)


def test_five_kills_of_the_crawl_child_lose_nothing_and_duplicate_nothing(
    tmp_path: Path, slow_web: SampleWeb, db_url: str
) -> None:
    app = AppContext(config_path=write_config(tmp_path / "config", slow_web), db_url=db_url)
    rng = random.Random(10)
    kept: set[str] = set()
    kills = 0
    while kills < 5 and len(kept) < FEEDS * PAGES:
        killed, kept = _collect_and_kill(app, db_url, kept, rng.uniform(0, 0.3))
        kills += killed
    assert kills == 5, "the crawl finished before it could be killed five times"
    fetched_before_last = set(page_requests(slow_web))
    slow_web.clear_log()
    final = collect(app)
    assert final.child is not None and final.child.returncode == 0
    urls = stored_urls(db_url)
    assert len(urls) == len(set(urls)) == FEEDS * PAGES
    refetched = set(page_requests(slow_web))
    stored_paths = {u.removeprefix(slow_web.base_url) for u in kept}
    assert not refetched & stored_paths  # what was committed is never fetched again
    assert refetched <= {f"/f{f}/a{a}.html" for f in range(FEEDS) for a in range(PAGES)}
    assert fetched_before_last  # the kills happened while pages were being fetched
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        sightings = conn.scalar(select(func.count()).select_from(Sighting))
    engine.dispose()
    assert sightings == FEEDS * PAGES  # one per article and source, none twice


def test_two_collects_at_once_fetch_each_page_once(
    tmp_path: Path, slow_web: SampleWeb, db_url: str
) -> None:
    app = AppContext(config_path=write_config(tmp_path / "config", slow_web), db_url=db_url)
    first: list[CollectReport] = []
    thread = threading.Thread(target=lambda: first.append(collect(app)))
    thread.start()
    wait_until(lambda: bool(page_requests(slow_web)), 60, "the first pass to fetch pages")
    second = collect(AppContext(config_path=app.config_path, db_url=db_url))
    thread.join(120)
    assert not thread.is_alive() and first
    assert {key for key, _ in second.busy} == {f"feed-{f}" for f in range(FEEDS)}
    assert second.child is None and second.fetches == ()
    pages = page_requests(slow_web)
    assert len(pages) == len(set(pages)) == FEEDS * PAGES
    feeds = [r.path for r in slow_web.requests if r.path.endswith(".rss")]
    assert len(feeds) == FEEDS
    assert slow_web.in_flight.most == 1  # type: ignore[attr-defined]  # one host: one at a time
    # The leases are given back: a third pass crawls (and finds nothing new).
    third = collect(app)
    assert third.busy == () and {f.status for f in third.fetches} <= {"not_modified",
                                                                      "unchanged"}


# -- signals to the command and to the daemon: no crawl child left behind ---------------

def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _session_alive(sid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            return True
    return False


def _crawl_child(pid: int) -> int | None:
    for child in _children_of(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"crawler" in command:
            return child
    return None


@pytest.mark.parametrize("command", ["collect", "serve"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_signalled_collect_or_serve_leaves_no_crawl_child(
    tmp_path: Path, slow_web: SampleWeb, command: str, sig: signal.Signals
) -> None:
    db_url = f"sqlite:///{tmp_path}/migwatch.sqlite3"
    config = write_config(tmp_path / "config", slow_web)
    process = subprocess.Popen(
        [sys.executable, "-m", "migwatch", "--config", str(config), "--db", db_url, command],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        found: list[int] = []

        def crawling() -> bool:
            child = _crawl_child(process.pid)
            if child is not None:
                found.append(child)
            return bool(found) and bool(page_requests(slow_web))

        wait_until(crawling, 60, f"`migwatch {command}` to start crawling")
        child = found[-1]
        assert db_url not in Path(f"/proc/{child}/cmdline").read_text()  # not in argv
        process.send_signal(sig)
        process.wait(timeout=15)
        wait_until(lambda: not _session_alive(child), 10,
                   f"the crawl child (and its workers) of `{command}` to exit")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if command == "collect":
        # The next pass closes the run the killed one left open and crawls again.
        app = AppContext(config_path=config, db_url=db_url)
        report = collect(app)
        assert report.busy == ()
        assert len(set(stored_urls(db_url))) == FEEDS * PAGES
        engine = create_db_engine(db_url)
        with engine.connect() as conn:
            statuses = list(conn.scalars(select(Run.status).order_by(Run.id)))
        engine.dispose()
        assert "running" not in statuses, statuses
