"""Huge and hostile feeds: time and peak memory of ``parse_feed`` on each, in a fresh process.

Each case runs in a child process of its own, so its peak RSS is its own. The floor is an
ordinary feed of as many entries as one pass reads (``crawler.max_feed_items``, 500),
measured in the same run; the huge cases are printed as ratios against it. The baseline
is the child's memory after the imports, before any feed.

    .venv/bin/python bench/feeds.py [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo
sys.path.insert(0, sys.argv[3])
from crawler.feeds import parse_feed
from config.errors import ParseError
kind, size = sys.argv[1], int(sys.argv[2])
head = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
tail = b"</channel></rss>"
item = ("<item><title>IOM update {i}</title><link>https://wire.example/news/{i}</link>"
        "<pubDate>Tue, 24 Nov 2026 10:{m:02d}:00 +0000</pubDate>"
        "<description>Field offices report on returns and funding, {i}.</description></item>")
def items(n):
    return "".join(item.format(i=i, m=i % 60) for i in range(n)).encode()
if kind in ("ordinary", "items"):
    body = head + items(size) + tail
elif kind == "nested":  # 10 MB of nested elements
    n = size // 7
    body = head + b"<item><title>x</title><description>" + b"<x>" * n + b"</x>" * n + tail
elif kind == "flood":  # 10 MB of sibling elements inside one entry, beside normal ones
    body = (head + items(20) + b"<item><title>x</title>" + b"<x>a</x>" * (size // 8)
            + b"</item>" + tail)
elif kind == "escaped":  # 10 MB of nested escaped HTML in one description
    n = size // 19
    body = (head + items(20) + b"<item><title>x</title><description>" + b"&lt;x&gt;" * n
            + b"&lt;/x&gt;" * n + b"</description></item>" + tail)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
try:
    feed = parse_feed(body, url="https://wire.example/feed.rss", content_type=None,
                      tz=ZoneInfo("Asia/Tokyo"), now=datetime(2026, 11, 30, tzinfo=UTC))
    outcome = f"{len(feed.entries)} entries, {feed.entries_left} left"
except ParseError as exc:
    outcome = "refused: " + str(exc).split(";")[0][:70]
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"kind": kind, "mb": len(body) / 1e6, "seconds": seconds,
                  "peak_mb": peak, "base_mb": base, "outcome": outcome}))
"""


def run(kind: str, size: int) -> dict[str, object]:
    """Parse one generated feed in a fresh process; its figures."""
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(size), str(ROOT)],
                         capture_output=True, text=True, check=True, timeout=900)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the huge cases' sizes (0.1 while developing)")
    args = parser.parse_args()
    ten_mb = int(10_000_000 * args.scale)
    floor = run("ordinary", 500)
    cases = [run("items", int(50_000 * args.scale)), run("nested", ten_mb),
             run("flood", ten_mb), run("escaped", ten_mb)]
    print(f"{'case':<10}{'MB':>7}{'seconds':>9}{'x floor':>9}{'peak MB':>9}{'base MB':>9}  outcome")
    for row in [floor, *cases]:
        ratio = float(row["seconds"]) / float(floor["seconds"])  # type: ignore[arg-type]
        print(f"{row['kind']:<10}{row['mb']:>7.1f}{row['seconds']:>9.2f}{ratio:>9.1f}"
              f"{row['peak_mb']:>9.0f}{row['base_mb']:>9.0f}  {row['outcome']}")


if __name__ == "__main__":
    main()
