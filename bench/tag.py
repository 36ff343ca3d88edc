"""Tagging throughput on one core, for articles of about 3,000 characters.

Usage: ``.venv/bin/python bench/tag.py [--articles N] [--min-rate R]``.  Articles are built
from the labelled set (Japanese and English, with and without themes) by joining items
until each is about 3,000 characters; the shipped themes are compiled once.  Prints
articles per second and exits 1 when the rate is below ``--min-rate`` (default 2000).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.themes import load_themes  # noqa: E402
from digest.themes import compile_themes, tag_article  # noqa: E402

LABELLED = ROOT / "tests" / "data" / "themes_labelled.jsonl"
TARGET_CHARS = 3000


def build_articles(count: int) -> list[tuple[str, str]]:
    """``count`` (title, text) pairs of about 3,000 characters each."""
    items = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    articles = []
    index = 0
    while len(articles) < count:
        title = items[index % len(items)]["title"]
        parts: list[str] = []
        while sum(len(p) for p in parts) < TARGET_CHARS:
            parts.append(items[index % len(items)]["text"])
            index += 1
        articles.append((title, "\n\n".join(parts)[:TARGET_CHARS]))
    return articles


def main() -> int:
    """Run the benchmark and print the rate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=4000)
    parser.add_argument("--min-rate", type=float, default=2000.0)
    args = parser.parse_args()
    themes = compile_themes(load_themes(ROOT / "config" / "themes.yaml"))
    articles = build_articles(args.articles)
    for title, text in articles[:50]:  # warm up
        tag_article(title, text, themes)
    started = time.perf_counter()
    tagged = 0
    for title, text in articles:
        tagged += bool(tag_article(title, text, themes))
    elapsed = time.perf_counter() - started
    rate = len(articles) / elapsed
    avg = sum(len(t) for _, t in articles) / len(articles)
    print(f"{len(articles)} articles of {avg:.0f} characters in {elapsed:.2f} s: "
          f"{rate:.0f} articles/s on one core ({tagged} with a theme)")
    return 0 if rate >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
