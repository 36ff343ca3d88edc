"""Tagging throughput on one core for ~3,000-character articles, beside its floor.

Usage: ``.venv/bin/python bench/tag.py [--articles N] [--rounds R] [--max-ratio X]``.
Articles are built from the labelled sets (Japanese and English, with and without themes)
by joining items until each is about 3,000 characters; the shipped themes are compiled
once.  In the same run it measures the floor: ONE pyahocorasick pass over the same texts,
already NFKC-folded and lower-cased, with every phrase of ``themes.yaml`` (the keys of the
tagger's own automaton), consuming every hit.  Rounds alternate tagger and floor and the
best of each is kept, so load on a shared machine hits both alike.  Prints articles per
second for both and the ratio against the target of 2; with ``--max-ratio X`` it exits 1
when the ratio is above X (``make bench`` prints figures and asserts nothing).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import ahocorasick  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.themes import load_themes  # noqa: E402
from digest.tagging.compile import compile_themes, fold, normalise  # noqa: E402
from digest.tagging.match import tag_articles  # noqa: E402

SOURCES = [ROOT / "tests" / "data" / "themes_labelled.jsonl",
           ROOT / "bench" / "data" / "themes_news.jsonl"]
TARGET_CHARS = 3000


def build_articles(count: int) -> list[tuple[str, str]]:
    """``count`` (title, text) pairs of about 3,000 characters each."""
    items = [json.loads(line) for path in SOURCES if path.exists()
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [item for item in items if item["text"]]
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


def floor_automaton(themes_file: Path) -> object:
    """A plain automaton with every literal key the tagger's automaton holds."""
    theme_set = compile_themes(load_themes(themes_file))
    auto = ahocorasick.Automaton()
    for pattern in theme_set.patterns:
        if pattern.length:
            auto.add_word(fold(pattern.surface), None)
    auto.make_automaton()
    return auto


def main() -> int:
    """Run the benchmark and print the rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-ratio", type=float, default=None)
    args = parser.parse_args()
    themes_file = ROOT / "config" / "themes.yaml"
    themes = compile_themes(load_themes(themes_file))
    auto: ahocorasick.Automaton = floor_automaton(themes_file)
    articles = build_articles(args.articles)
    folded = [(fold(normalise(t)), fold(normalise(x))) for t, x in articles]
    tag_articles(articles[:50], themes)  # warm up
    best_tag = best_floor = float("inf")
    tagged = hits = 0
    for _ in range(args.rounds):
        started = time.process_time()
        results = tag_articles(articles, themes)
        best_tag = min(best_tag, time.process_time() - started)
        tagged = sum(bool(r) for r in results)
        started = time.process_time()
        hits = 0
        for title, text in folded:
            for _hit in auto.iter(title):
                hits += 1
            for _hit in auto.iter(text):
                hits += 1
        best_floor = min(best_floor, time.process_time() - started)
    rate, floor = len(articles) / best_tag, len(articles) / best_floor
    avg = sum(len(t) for _, t in articles) / len(articles)
    ratio = best_tag / best_floor
    print(f"{len(articles)} articles of {avg:.0f} characters, best of {args.rounds} rounds")
    print(f"tagger: {rate:8.0f} articles/s on one core ({tagged} with a theme)")
    print(f"floor:  {floor:8.0f} articles/s (one automaton pass over folded text, "
          f"{hits / len(articles):.0f} hits/article)")
    print(f"ratio:  {ratio:.2f} (target <= 2)")
    return 0 if args.max_ratio is None or ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
