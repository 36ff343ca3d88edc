"""Collection throughput: a synthetic web of N feeds x M articles served on loopback.

Prints, for a first pass (everything new) and a second pass (everything unchanged):
wall time, article pages/s, feeds/s, CPU seconds and peak memory of the crawl child.
The feeds are spread over several loopback addresses (127.0.0.2, .3, …) so the
one-request-per-domain rule applies as it would to real, separate sites.

    .venv/bin/python bench/collect.py --feeds 200 --articles 20 [--db URL]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from migwatch.context import AppContext
from migwatch.jobs import collect
from migwatch.sampleweb import SampleWeb

PARAGRAPH = (
    "Delegates at the regional consultation discussed labour mobility, the protection of "
    "migrant workers and the funding outlook for humanitarian programmes in the coming year. "
)


def build_web(root: Path, feeds: int, articles: int) -> None:
    """Write the synthetic feeds and article pages."""
    for f in range(feeds):
        items = []
        for a in range(articles):
            path = f"/f{f}/a{a}.html"
            title = f"Report {f}-{a}: consultation on labour mobility"
            items.append(f"<item><title>{title}</title><link>{{base}}{path}</link>"
                         f"<guid>{{base}}{path}</guid>"
                         f"<pubDate>Tue, 24 Nov 2026 09:{a % 60:02d}:00 GMT</pubDate></item>")
            page = (f"<html lang='en'><head><title>{title}</title></head><body><article>"
                    f"<h1>{title}</h1>" + f"<p>{PARAGRAPH * 4}</p>" * 6
                    + "</article></body></html>")
            target = root / f"f{f}" / f"a{a}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(page, encoding="utf-8")
        (root / f"f{f}" / "feed.rss").write_text(
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>Feed {f}</title><link>{{base}}/</link><description>d</description>"
            + "".join(items) + "</channel></rss>", encoding="utf-8")


def write_config(directory: Path, bases: list[str], feeds: int) -> None:
    """Sources spread round-robin over the loopback servers; no delay."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["sources:"]
    for f in range(feeds):
        base = bases[f % len(bases)]
        lines.append(f"  - {{key: feed-{f}, name: Feed {f}, kind: feed, "
                     f"url: '{base}/f{f}/feed.rss', language: en}}")
    (directory / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "migwatch.yaml").write_text(
        "crawler: {download_delay_seconds: 0, timeout_seconds: 30, obey_robots: true,\n"
        "          max_articles_per_source: 1000}\nnetwork: {allow_private: true}\n",
        encoding="utf-8")


def child_usage() -> tuple[float, int]:
    """CPU seconds and peak RSS (KiB) of finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main() -> None:
    """Run two passes and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=8, help="loopback addresses to spread over")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp) / "web"
        build_web(root, args.feeds, args.articles)
        servers = [stack.enter_context(SampleWeb(root, host=f"127.0.0.{i + 2}"))
                   for i in range(args.hosts)]
        write_config(Path(tmp) / "config", [s.base_url for s in servers], args.feeds)
        db_url = args.db or f"sqlite:///{tmp}/bench.sqlite3"
        app = AppContext(config_path=Path(tmp) / "config", db_url=db_url)
        app.engine  # noqa: B018 — migrate before timing
        print(f"synthetic web: {args.feeds} feeds x {args.articles} articles on "
              f"{args.hosts} loopback hosts; database {db_url.split(':')[0]}")
        for label in ("first pass", "second pass"):
            cpu_before, _ = child_usage()
            started = time.perf_counter()
            summary = collect(app)
            wall = time.perf_counter() - started
            cpu_after, peak_kib = child_usage()
            requests = sum(len(s.requests) for s in servers)
            for server in servers:
                server.clear_log()
            pages = sum(f.pages_fetched for f in summary.fetches)
            new = summary.new_count
            failed = len(summary.failed)
            print(f"{label}: {wall:.1f} s wall, {new} new articles, {requests} HTTP requests, "
                  f"{new / wall:.1f} article pages/s, {pages / wall:.1f} feeds/s, "
                  f"{cpu_after - cpu_before:.1f} CPU s (crawl child), "
                  f"peak RSS {peak_kib / 1024:.0f} MiB, {failed} failed sources")
        app.close()


if __name__ == "__main__":
    main()
