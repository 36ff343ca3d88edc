"""Article search over many stored articles, on SQLite and PostgreSQL.

Usage: ``.venv/bin/python bench/search.py [--articles N] [--chars C] [--db URL]``.
Articles are built from the labelled set (Japanese and English) by joining items until
each is about ``--chars`` characters, stored through the migrated schema (so the search
index is kept by the same triggers / indexes a user's database has), then each query of
:data:`QUERIES` runs ``--repeat`` times as the web app runs it (count + first page of 25,
ranked).  Prints the median and worst time per query, and each as a ratio to a floor
measured in the same run (the newest-first page without words).  Without ``--db`` it
uses a fresh SQLite file; for PostgreSQL pass an empty database's URL.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from db import create_db_engine, migrate, session_factory  # noqa: E402
from db.models import Article, Source  # noqa: E402
from db.search import ArticleQuery, search_articles, search_words  # noqa: E402

LABELLED = ROOT / "tests" / "data" / "themes_labelled.jsonl"
QUERIES = (
    "国際移住機関", "人身取引", "難民", "技能実習 受け入れ", "分担金の支払い",
    "IOM", "trafficking", "funding cuts", "International Organization for Migration",
    "UN", "存在しない語句です", "nonexistentword",
    "ZZ",  # a short word that is nowhere: LIKE reads every row
    "人身取引 funding 技能実習",  # words of different items: a few hundred, ranked
)
BATCH = 2000


def build_rows(count: int, chars: int, source_id: int) -> list[dict[str, object]]:
    """``count`` article rows of about ``chars`` characters, newest last."""
    items = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    start = datetime(2026, 1, 1)
    rows = []
    index = 0
    for number in range(count):
        title = items[index % len(items)]["title"]
        parts: list[str] = []
        while sum(len(p) for p in parts) < chars:
            parts.append(items[index % len(items)]["text"])
            index += 1
        index += 7  # vary the mix from one article to the next
        rows.append({
            "identity": f"https://bench.example/{number}", "canonical_url":
            f"https://bench.example/{number}", "url": f"https://bench.example/{number}",
            "content_hash": f"{number:064d}", "title": title, "summary": "",
            "text": "\n\n".join(parts)[:chars], "language": "ja" if any(
                "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in title)
            else "en", "first_seen_at": start + timedelta(seconds=number * 30),
            "published_at": start + timedelta(seconds=number * 30), "source_id": source_id,
            "is_fetched": True,
        })
    return rows


def fill(url: str, count: int, chars: int) -> float:
    """Store ``count`` articles in the database at ``url``; the seconds it took."""
    engine = create_db_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    began = time.perf_counter()
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(Article)):
            raise SystemExit(f"{url}: the database is not empty; give an empty one")
        source = Source(key="bench", name="Bench", kind="feed", url="https://bench.example/",
                        language=None, weight=1.0, enabled=True, state="active",
                        failure_score=0.0, consecutive_failures=0,
                        created_at=datetime.now(UTC).replace(tzinfo=None))
        session.add(source)
        session.flush()
        rows = build_rows(count, chars, source.id)
        for offset in range(0, len(rows), BATCH):
            session.execute(insert(Article), rows[offset:offset + BATCH])
        session.commit()
        if engine.dialect.name == "postgresql":
            session.execute(select(func.now()))
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.exec_driver_sql("COMMIT")
            connection.exec_driver_sql("ANALYZE articles")
    engine.dispose()
    return time.perf_counter() - began


def measure(url: str, repeat: int) -> None:
    """Run every query ``repeat`` times and print the figures."""
    engine = create_db_engine(url)
    sessions = session_factory(engine)

    def timed(query: ArticleQuery) -> tuple[list[float], str]:
        times = []
        total = ""
        with sessions() as session:
            search_articles(session, query)  # warm the cache once
            for _ in range(repeat):
                began = time.perf_counter()
                page = search_articles(session, query)
                total = f"{page.total}{'+' if page.is_more else ''}"
                times.append((time.perf_counter() - began) * 1000)
        return times, total

    floor_times, _shown = timed(ArticleQuery(limit=25))
    floor = statistics.median(floor_times)
    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Article))
    print(f"{engine.dialect.name}: {stored} articles; floor (newest-first page, no words) "
          f"{floor:.1f} ms median")
    print(f"{'query':42} {'matches':>8} {'median ms':>10} {'worst ms':>9} {'× floor':>8}")
    worst_all = 0.0
    for text in QUERIES:
        times, total = timed(ArticleQuery(words=search_words(text), limit=25))
        median, worst = statistics.median(times), max(times)
        worst_all = max(worst_all, worst)
        print(f"{text:42} {total:>8} {median:>10.1f} {worst:>9.1f} {median / floor:>8.1f}")
    print(f"worst of all queries: {worst_all:.1f} ms (target < 200 ms)")
    engine.dispose()


def main() -> int:
    """Fill a database, then time the queries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--chars", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--reuse", action="store_true",
                        help="--db already holds a filled bench database: only measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="migwatch-bench-") as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        if not args.reuse:
            seconds = fill(url, args.articles, args.chars)
            print(f"stored {args.articles} articles of ~{args.chars} characters in "
                  f"{seconds:.0f} s")
        measure(url, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
