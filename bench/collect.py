"""Collection against the floor, in one run on one synthetic web served on loopback.

The web: N feeds (RSS 2.0 and Atom, English and Japanese) of M article pages each, pages
of realistic size (navigation, sidebar, footer around 8-12 paragraphs), spread over
``--hosts`` loopback addresses (127.0.0.2, .3, …) so the one-request-per-host rule
applies as it would to separate sites.  It is served by a separate process, so the
server's CPU is counted in neither side.

Measured, in this order, each with wall time, CPU seconds, requests, bytes served and
peak RSS:

* **floor** — the least work a collection needs: every feed and page fetched with 16
  threads, feedparser on the feeds, trafilatura (with metadata) on the pages;
* **collect** — the first ``migwatch collect`` (everything new);
* **repoll** — a second collect, nothing changed;
* **repoll +10 %** — a third, after two new articles were added to every feed;
* **tag all** — retagging every stored article;
* **digest** — ``migwatch digest`` for the week (HTML, text, JSON, Atom), as a command;
* **export** — ``migwatch export`` of every stored article to a JSON Lines file.

Peak RSS is that of the step alone: the bench's own high-water mark is reset before an
in-process step (``/proc/self/clear_refs``), and the processes a step starts are sampled
(``VmHWM`` of every descendant, the largest counted) while it runs.  The synthetic pages
are dated within the week before the run, so the digest has a week's worth to rank.

It ends with exactly two lines ``ratio collect/floor = X.XX`` and
``ratio repoll/collect = Y.YY`` and, with ``--write-doc``, writes ``docs/benchmarks.md``.

    .venv/bin/python bench/collect.py --feeds 200 --articles 20 --hosts 50 [--db URL]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EN_PARAGRAPHS = [
    "Delegates at the regional consultation discussed labour mobility, the protection of "
    "migrant workers and the funding outlook for humanitarian programmes in the coming year.",
    "The agency said that displacement caused by floods along the river basin had doubled "
    "since spring, and that shelters in three provinces were operating beyond capacity.",
    "Officials from the ministry of labour presented a draft agreement on recruitment fees, "
    "which civil society groups welcomed while asking for independent monitoring.",
    "Returnees interviewed in the border town described long waits for documents, and local "
    "authorities asked donors to support registration offices and legal aid.",
    "A pledging conference in Geneva raised less than half of the appeal, leaving food "
    "assistance and health services for refugees underfunded for the rest of the year.",
    "Researchers presented new data on remittances, showing that transfers to rural "
    "districts held steady despite higher fees charged by money transfer operators.",
]
JA_PARAGRAPHS = [
    "地域協議では、労働移動と移住労働者の保護、来年度の人道支援予算の見通しについて各国の代表が意見を交わした。",
    "国際機関によると、春以降の洪水による避難者は倍増し、三つの州の避難所は定員を超えて運営されている。",
    "厚生労働省の担当者は手数料の上限を定める協定案を示し、市民団体は独立した監視の仕組みを求めた。",
    "国境の町で話を聞いた帰還者は書類の発行に長い時間がかかると語り、自治体は登録窓口への支援を訴えた。",
    "ジュネーブで開かれたプレッジング会合では要請額の半分も集まらず、難民への食料支援が不足する見込みだ。",
    "研究者は送金に関する新しいデータを発表し、手数料が上がったにもかかわらず農村部への送金は安定していると述べた。",
]
NAV = "".join(f"<li><a href='/section/{n}.html'>Section {n}</a></li>" for n in range(40))
SIDEBAR = "".join(f"<li><a href='/topic/{n}.html'>Related topic number {n}</a></li>"
                  for n in range(25))
FOOTER = "<p>" + "Copyright, terms of use, privacy policy, contact, about us. " * 12 + "</p>"
TODAY = datetime.now(UTC).date()
SCRIPT = "<script>window.dataLayer=window.dataLayer||[];" + "var x=1;" * 400 + "</script>"


def _day(a: int) -> str:
    """Article ``a``'s date: within the week before the run, so the digest ranks them."""
    return (TODAY - timedelta(days=1 + a % 6)).isoformat()


def _page(lang: str, title: str, day: str, f: int, a: int) -> str:
    paragraphs = EN_PARAGRAPHS if lang == "en" else JA_PARAGRAPHS
    body = "".join(f"<p>{paragraphs[(f + a + k) % len(paragraphs)]} "
                   f"{paragraphs[(f * 7 + k) % len(paragraphs)]}</p>"
                   for k in range(8 + (f + a) % 5))
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<title>{title}</title><meta property='article:published_time' "
            f"content='{day}T09:{a % 60:02d}:00+09:00'>{SCRIPT}</head><body>"
            f"<header><nav><ul>{NAV}</ul></nav></header><main><article><h1>{title}</h1>"
            f"{body}</article><aside><ul>{SIDEBAR}</ul></aside></main>"
            f"<footer>{FOOTER}</footer></body></html>")


def _title(lang: str, f: int, a: int) -> str:
    if lang == "en":
        return f"Report {f}-{a}: consultation on labour mobility and protection"
    return f"報告 {f}-{a}: 労働移動と保護に関する協議"


def write_feed(root: Path, f: int, articles: range) -> None:
    """Write feed ``f`` (RSS for even, Atom for odd numbers) with its article pages."""
    lang = "en" if f % 2 == 0 else "ja"
    folder = root / f"f{f}"
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for a in articles:
        title = _title(lang, f, a)
        day = _day(a)
        rfc822 = datetime.fromisoformat(day).strftime("%d %b %Y")
        (folder / f"a{a}.html").write_text(_page(lang, title, day, f, a), encoding="utf-8")
        link = f"{{base}}/f{f}/a{a}.html"
        summary = (EN_PARAGRAPHS if lang == "en" else JA_PARAGRAPHS)[a % 6]
        if f % 4 < 2:
            entries.append(f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
                           f"<pubDate>{rfc822} 09:{a % 60:02d}:00 +0900</pubDate>"
                           f"<description>{summary}</description></item>")
        else:
            entries.append(f"<entry><title>{title}</title><link href='{link}'/><id>{link}</id>"
                           f"<updated>{day}T09:{a % 60:02d}:00+09:00</updated>"
                           f"<summary>{summary}</summary></entry>")
    entries.reverse()  # newest first, as feeds are
    if f % 4 < 2:
        text = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                f"<title>Feed {f}</title><link>{{base}}/</link><description>d</description>"
                + "".join(entries) + "</channel></rss>")
    else:
        text = ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
                f"<title>Feed {f}</title><id>{{base}}/f{f}</id>"
                f"<updated>{TODAY.isoformat()}T00:00:00Z</updated>" + "".join(entries) + "</feed>")
    (folder / "feed.xml").write_text(text, encoding="utf-8")


def write_config(directory: Path, bases: list[str], feeds: int) -> None:
    """Sources spread round-robin over the loopback hosts; no delay."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["sources:"]
    for f in range(feeds):
        lang = "en" if f % 2 == 0 else "ja"
        lines.append(f"  - {{key: feed-{f}, name: Feed {f}, kind: feed, "
                     f"url: '{bases[f % len(bases)]}/f{f}/feed.xml', language: {lang}}}")
    (directory / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "migwatch.yaml").write_text(
        "crawler: {download_delay_seconds: 0, timeout_seconds: 30, obey_robots: true,\n"
        "          max_articles_per_source: 1000}\nnetwork: {allow_private: true}\n",
        encoding="utf-8")


# -- the web, in a process of its own ----------------------------------------------------

def serve(root: Path, hosts: int) -> None:
    """``--serve``: serve ``root`` on ``hosts`` addresses; print the base URLs as one JSON
    line; answer ``stats`` on stdin with requests and bytes since the last ``stats``."""
    from migwatch.sampleweb import RecordedRequest, Reply, SampleWeb

    counted = {"requests": 0, "bytes": 0}
    lock = threading.Lock()

    class CountingWeb(SampleWeb):
        def _reply_for(self, request: RecordedRequest) -> Reply:
            reply = super()._reply_for(request)
            with lock:
                counted["requests"] += 1
                counted["bytes"] += len(reply.body) if isinstance(reply.body, bytes) else 0
            return reply

        def _record(self, request: RecordedRequest) -> None:
            pass  # no request log: it would grow with every page

    servers = [CountingWeb(root, host=f"127.0.0.{i + 2}").start() for i in range(hosts)]
    print(json.dumps([s.base_url for s in servers]), flush=True)
    for line in sys.stdin:
        if line.strip() == "stats":
            with lock:
                print(json.dumps(counted), flush=True)
                counted.update(requests=0, bytes=0)
    for server in servers:
        server.stop()


class Web:
    """The serving process, seen from the bench."""

    def __init__(self, root: Path, hosts: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(root), "--hosts", str(hosts)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.bases: list[str] = json.loads(self.process.stdout.readline())

    def stats(self) -> dict[str, int]:
        """Requests and bytes since the last call."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def close(self) -> None:
        """Stop serving."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


# -- measuring ----------------------------------------------------------------------------

@dataclass
class Figures:
    """One measured step."""

    label: str
    wall: float = 0.0
    cpu: float = 0.0
    requests: int = 0
    bytes: int = 0
    peak_mib: float = 0.0
    note: str = ""

    def line(self) -> str:
        """One line of the printed table."""
        return (f"{self.label:<14} {self.wall:7.1f} s wall {self.cpu:7.1f} CPU s "
                f"{self.requests:6d} requests {self.bytes / 1e6:8.1f} MB "
                f"peak {self.peak_mib:5.0f} MiB  {self.note}")


def _usage() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime)


def _hwm_kib(pid: int | str) -> int:
    """A process's peak resident set (``VmHWM``), in KiB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int, skip: int) -> list[int]:
    """Every live process under ``root`` (its parent links read from ``/proc``), except
    ``skip`` (the web server, which is not the step's)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text(encoding="ascii", errors="replace")
                parents[int(entry.name)] = int(text.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid != skip:
                found.append(pid)
                frontier.append(pid)
    return found


class PeakSampler(threading.Thread):
    """The largest ``VmHWM`` among the bench's descendants while a step runs."""

    def __init__(self, skip: int) -> None:
        super().__init__(daemon=True)
        self.skip, self.peak_kib, self.done = skip, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            for pid in _descendants(os.getpid(), self.skip):
                self.peak_kib = max(self.peak_kib, _hwm_kib(pid))

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        self.done.set()
        self.join()
        return self.peak_kib / 1024


def _reset_own_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")  # resets VmHWM to the current RSS (Linux 4.0+)
    except OSError:
        pass


@contextmanager
def measured(figures: Figures, web: Web, *, in_process: bool) -> Iterator[None]:
    """Fill ``figures`` with the block's wall, CPU (ours or the children's), requests,
    bytes served and peak RSS (ours, or the largest of the processes it started)."""
    web.stats()
    own_before, kids_before = _usage()
    sampler = None
    if in_process:  # no sampler thread: its CPU would be counted as the step's
        _reset_own_peak()
    else:
        sampler = PeakSampler(skip=web.process.pid)
        sampler.start()
    started = time.perf_counter()
    yield
    figures.wall = time.perf_counter() - started
    own_after, kids_after = _usage()
    figures.cpu = (own_after - own_before) if in_process else (kids_after - kids_before)
    figures.peak_mib = _hwm_kib("self") / 1024 if sampler is None else sampler.stop()
    counted = web.stats()
    figures.requests, figures.bytes = counted["requests"], counted["bytes"]


def floor(feed_urls: list[str]) -> int:
    """Fetch and parse every feed, then fetch and extract every page; 16 threads."""
    import feedparser
    from trafilatura import bare_extraction

    def get(url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=30) as response:
            return bytes(response.read())

    def read_feed(url: str) -> list[str]:
        return [str(e.link) for e in feedparser.parse(get(url)).entries]

    def read_page(url: str) -> bool:
        return bare_extraction(get(url).decode("utf-8"), url=url, with_metadata=True) is not None

    with ThreadPoolExecutor(16) as pool:
        links = [link for found in pool.map(read_feed, feed_urls) for link in found]
        return sum(pool.map(read_page, links))


def main() -> None:
    """Build the web, measure every step, print the figures and the two ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=50, help="loopback addresses to spread over")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--write-doc", action="store_true", help="write docs/benchmarks.md")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve), args.hosts)
        return
    from migwatch.context import AppContext
    from migwatch.jobs import collect, tag

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "web"
        for f in range(args.feeds):
            write_feed(root, f, range(args.articles))
        web = Web(root, min(args.hosts, args.feeds))
        try:
            write_config(Path(tmp) / "config", web.bases, args.feeds)
            feed_urls = [f"{web.bases[f % len(web.bases)]}/f{f}/feed.xml"
                         for f in range(args.feeds)]
            db_url = args.db or f"sqlite:///{tmp}/bench.sqlite3"
            app = AppContext(config_path=Path(tmp) / "config", db_url=db_url)
            app.engine  # noqa: B018 — migrate before timing
            print(f"synthetic web: {args.feeds} feeds x {args.articles} pages (English and "
                  f"Japanese, RSS and Atom) on {len(web.bases)} loopback hosts; "
                  f"database {db_url.split(':')[0]}", flush=True)
            steps: list[Figures] = []

            def step(label: str, run: Callable[[], str], *, in_process: bool = False) -> Figures:
                figures = Figures(label)
                with measured(figures, web, in_process=in_process):
                    figures.note = run()
                steps.append(figures)
                print(figures.line(), flush=True)
                return figures

            def run_collect() -> str:
                summary = collect(app)
                return f"{summary.new_count} new, {len(summary.failed)} failed sources"

            base = step("floor", lambda: f"{floor(feed_urls)} pages extracted", in_process=True)
            first = step("collect", run_collect)
            repoll = step("repoll", run_collect)
            for f in range(args.feeds):
                write_feed(root, f, range(args.articles + max(1, args.articles // 10)))
            step("repoll +10 %", run_collect)
            step("tag all", lambda: f"{tag(app, retag_all=True).tagged} tagged", in_process=True)
            app.close()
            command = [sys.executable, "-m", "migwatch", "--config", str(Path(tmp) / "config"),
                       "--db", db_url]
            step("digest", lambda: run_digest(command, Path(tmp) / "archive"))
            step("export", lambda: run_export(command, Path(tmp) / "export.jsonl"))
        finally:
            web.close()
    collect_ratio = first.wall / base.wall
    repoll_ratio = repoll.wall / first.wall
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"CPU collect/floor = {first.cpu / base.cpu:.2f}; load average at the end {load}")
    if args.write_doc:
        write_doc(args, steps, collect_ratio, repoll_ratio, first.cpu / base.cpu, load)
    print(f"ratio collect/floor = {collect_ratio:.2f}")
    print(f"ratio repoll/collect = {repoll_ratio:.2f}")


def run_digest(command: list[str], out: Path) -> str:
    """``migwatch digest`` for the current week (the synthetic articles' week)."""
    from zoneinfo import ZoneInfo

    year, week, _ = datetime.now(ZoneInfo("Asia/Tokyo")).isocalendar()  # the default zone
    result = subprocess.run([*command, "digest", "--week", f"{year}-W{week:02d}", "--json",
                             "--out", str(out)], capture_output=True, text=True, check=True)
    built = json.loads(result.stdout)
    html = Path(built["files"]["html"])
    return (f"{built['article_count']} articles, {built['event_count']} events, "
            f"issue HTML {html.stat().st_size / 1024:.0f} KiB")


def run_export(command: list[str], out: Path) -> str:
    """``migwatch export`` of everything, to a file."""
    subprocess.run([*command, "export", "--out", str(out)], capture_output=True, check=True)
    with out.open("rb") as exported:
        rows = sum(1 for _ in exported)
    return f"{rows} articles, {out.stat().st_size / 1e6:.1f} MB written"


def write_doc(args: argparse.Namespace, steps: list[Figures], collect_ratio: float,
              repoll_ratio: float, cpu_ratio: float, load: str) -> None:
    """``docs/benchmarks.md``: the machine, the libraries, the figures."""
    libraries = ", ".join(f"{name} {version(name)}" for name in (
        "scrapy", "twisted", "sqlalchemy", "feedparser", "trafilatura"))
    cores = len(os.sched_getaffinity(0))
    rows = "\n".join(
        f"| {s.label} | {s.wall:.1f} | {s.cpu:.1f} | {s.requests} | {s.bytes / 1e6:.1f} | "
        f"{s.peak_mib:.0f} | {s.note} |" for s in steps)
    text = f"""# Benchmarks

Written by `make bench` (`bench/collect.py --write-doc`) on {datetime.now(UTC):%Y-%m-%d}.
One synthetic web of {args.feeds} feeds x {args.articles} article pages (English and
Japanese, RSS and Atom, pages of about 25 KB with navigation, sidebar and scripts), on
{min(args.hosts, args.feeds)} loopback hosts, served by a separate process; database SQLite.

Machine: {platform.machine()}, {cores} cores, {platform.system()} {platform.release()},
Python {platform.python_version()}; {libraries}.

The **floor** is the least work a collection needs, measured in the same run on the same
web: every feed and page fetched with 16 threads, feedparser on the feeds, trafilatura
(with metadata) on the pages.  CPU is that of the measured process (the floor, tagging)
or of the processes a step starts (the crawl child and its extraction workers, the
`digest` and `export` commands); peak RSS is that step's alone: the largest process.

| step | wall s | CPU s | requests | MB served | peak RSS MiB | result |
|---|---|---|---|---|---|---|
{rows}

ratio collect/floor = {collect_ratio:.2f} · ratio repoll/collect = {repoll_ratio:.2f} ·
CPU collect/floor = {cpu_ratio:.2f} · load average at the end of the run: {load}

Wall-time ratios mean what they say only on a machine that is otherwise idle: on a
shared machine the crawl waits for a core (its server sits idle) while the floor's
threads may have had one, so compare the CPU seconds too.
"""
    (ROOT / "docs" / "benchmarks.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
