"""Precision, recall and F1 of the theme rules on labelled JSON Lines files.

Usage::

    .venv/bin/python bench/themes_report.py [FILE...] [--themes themes.yaml] [--errors]
        [--headlines]

Each line of a FILE is ``{"id", "lang", "title", "text", "themes": [ids]}``.  With no FILE,
the labelled set ``tests/data/themes_labelled.jsonl`` is scored.  The report prints, per
language and for all items together, P/R/F1 per theme and micro-averaged over themes;
``--errors`` also lists every false positive with the reasons and every false negative
with its score against the threshold (and whether it was only a passing mention, a side
theme far below the article's main one, or only supporting terms).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.themes import load_themes  # noqa: E402
from digest.tagging.compile import ThemeSet, compile_themes  # noqa: E402
from digest.tagging.explain import explain_article  # noqa: E402
from digest.tagging.match import tag_article  # noqa: E402

DEFAULT_FILE = ROOT / "tests" / "data" / "themes_labelled.jsonl"
DEFAULT_THEMES = ROOT / "config" / "themes.yaml"


@dataclass
class Counts:
    """True positives, false positives and false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    """Counts per (language, theme); language ``all`` holds every item."""

    counts: dict[str, dict[str, Counts]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counts))
    )
    errors: list[str] = field(default_factory=list)
    items: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def micro(self, lang: str) -> Counts:
        """Counts summed over all themes for ``lang``."""
        total = Counts()
        for c in self.counts[lang].values():
            total.tp += c.tp
            total.fp += c.fp
            total.fn += c.fn
        return total


def read_items(paths: Iterable[Path]) -> list[dict[str, object]]:
    """Every JSON object of every file, in order."""
    items = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    items.append(json.loads(line))
    return items


def evaluate(items: Sequence[dict[str, object]], themes: ThemeSet) -> Report:
    """Tag every item and count agreements with its labels."""
    report = Report()
    for item in items:
        lang = str(item.get("lang") or "?")
        expected = set(item.get("themes") or [])  # type: ignore[call-overload]
        matches = tag_article(str(item.get("title") or ""), str(item.get("text") or ""), themes)
        got = {m.theme_id for m in matches}
        report.items[lang] += 1
        report.items["all"] += 1
        for theme_id in themes.ids:
            for bucket in (lang, "all"):
                c = report.counts[bucket][theme_id]
                if theme_id in got and theme_id in expected:
                    c.tp += 1
                elif theme_id in got:
                    c.fp += 1
                elif theme_id in expected:
                    c.fn += 1
        for m in matches:
            if m.theme_id not in expected:
                report.errors.append(
                    f"FP {item.get('id')} {m.theme_id} {m.score}: {m.reason_line('en')}"
                )
        missed = sorted(expected - got)
        if missed:
            why = {e.theme_id: e for e in explain_article(
                str(item.get("title") or ""), str(item.get("text") or ""), themes)}
        for theme_id in missed:
            e = why.get(theme_id)
            note = f" {e.score}/{e.threshold}" if e else ""
            if e and e.passing_mention:
                note += " passing mention"
            if e and e.dominated:
                note += f" side theme (own terms {e.core_score})"
            if e and e.only_supporting:
                note += " only supporting terms"
            report.errors.append(f"FN {item.get('id')} {theme_id}{note}: {item.get('title')}")
    return report


def print_report(report: Report, ids: Sequence[str]) -> None:
    """Print the tables, one per language, then the overall one."""
    langs = [*sorted(k for k in report.items if k != "all"), "all"]
    for lang in langs:
        print(f"\n== {lang} ({report.items[lang]} items) ==")
        print(f"{'theme':<13}{'P':>7}{'R':>7}{'F1':>7}{'tp':>5}{'fp':>5}{'fn':>5}")
        for theme_id in ids:
            c = report.counts[lang][theme_id]
            print(f"{theme_id:<13}{c.precision:>7.3f}{c.recall:>7.3f}{c.f1:>7.3f}"
                  f"{c.tp:>5}{c.fp:>5}{c.fn:>5}")
        m = report.micro(lang)
        print(f"{'micro':<13}{m.precision:>7.3f}{m.recall:>7.3f}{m.f1:>7.3f}"
              f"{m.tp:>5}{m.fp:>5}{m.fn:>5}")


def main(argv: list[str] | None = None) -> int:
    """Score the files given (or the labelled set) and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--themes", type=Path, default=DEFAULT_THEMES)
    parser.add_argument("--errors", action="store_true", help="list every FP and FN")
    parser.add_argument("--headlines", action="store_true",
                        help="also report headline-only items (no text) and the others apart")
    args = parser.parse_args(argv)
    themes = compile_themes(load_themes(args.themes))
    items = read_items(args.files or [DEFAULT_FILE])
    report = evaluate(items, themes)
    print_report(report, themes.ids)
    if args.headlines:
        for name, subset in (("headline only", [i for i in items if not i.get("text")]),
                             ("with a body", [i for i in items if i.get("text")])):
            print(f"\n##### {name}: {len(subset)} items")
            print_report(evaluate(subset, themes), themes.ids)
    if args.errors:
        print()
        for line in report.errors:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
