"""Benchmark: migwatch on PostgreSQL with a million articles over two years.

Run ``.venv/bin/python bench/pg_scale.py [--articles 1000000] [--admin-url URL] [--keep]``.

Creates a database of its own (``mwscale_<pid>_<random>``) on the server of ``--admin-url``
(default ``$MIGWATCH_TEST_PG_URL`` or ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``),
migrates it, and fills it: several hundred sources; articles over two years grouped into
stories (about 3.3 articles each, near-identical headlines in English or Japanese, a few
hours apart); one sighting per article and a second one for a fifth of them; one or two
theme tags each.  Articles go in with COPY, sightings and tags with ``INSERT … SELECT`` over
``generate_series``-style scans, so a million rows load in about a minute.

Then it prints, each against a floor measured in the same run:

* the week's digest (query, cluster, rank, render, archive) against the bare read of the
  week's rows;
* ``migwatch export --since`` peak memory for one month and for a year of articles
  against the peak of an export that writes nothing;
* ``migwatch status`` time against ``migwatch --version``;
* ``EXPLAIN ANALYZE`` of the queries the indexes are for.

The database is dropped at the end unless ``--keep`` is given; ``--database NAME`` measures
one a ``--keep`` run filled (neither loaded again nor dropped), ``--digest-only`` times the
digest alone and ``--profile`` adds where one build spends its time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from config.schema import Settings
from db import create_db_engine, migrate, session_factory
from db.digests import count_articles, count_by_theme, load_candidates
from db.queries import source_health
from digest.build import build_digest, collector_paused, gazetteer_for
from digest.cluster import cluster_stories
from digest.document import issue_document
from digest.model import ThemeInfo
from digest.periods import iso_week_bounds, previous_week
from digest.rank import rank_digest
from digest.render import render_digest

NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # Monday 09:30 in Tokyo
SPAN = timedelta(days=730)
WEEK = "2026-W48"
THEME_IDS = ["iom", "integration", "forums", "trafficking", "education", "refugees", "health",
             "drivers", "funding", "family", "labour"]
THEMES = [ThemeInfo(t, f"テーマ {t}", f"Theme {t}") for t in THEME_IDS]
SYLLABLES = ["ka", "ri", "mo", "to", "sa", "ne", "lu", "pa", "vi", "do", "ge", "fo", "zu", "bre",
             "tan", "mel", "kor", "sin", "val", "dro"]


class Headlines:
    """Invented headlines: a few thousand made-up words, or runs of common kanji and kana."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = ["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(4000)]
        self.chars = [chr(c) for c in range(0x4E00, 0x4E00 + 1500)] + [
            chr(c) for c in range(0x30A2, 0x30F3)]

    def story(self) -> tuple[str, str]:
        """A headline and its language."""
        rng = self.rng
        if rng.random() < 0.4:
            return "".join(rng.choices(self.chars, k=rng.randint(18, 30))), "ja"
        return " ".join(rng.choices(self.words, k=rng.randint(7, 12))).capitalize(), "en"

    def variant(self, title: str, language: str) -> str:
        """The same story as another outlet titles it."""
        rng = self.rng
        if language == "ja":
            return title + rng.choice(["", "（続報）", "と発表", ""])
        words = title.split()
        words[rng.randrange(len(words))] = rng.choice(self.words)
        return " ".join(words)


def pg_url(admin_url: str, database: str) -> str:
    """``admin_url`` pointing at ``database``."""
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def article_rows(count: int, sources: int, rng: random.Random) -> Iterator[tuple[object, ...]]:
    """``count`` article rows, stories in time order, ids roughly in first-seen order."""
    headlines = Headlines(rng)
    start = NOW.replace(tzinfo=None) - SPAN
    step = SPAN.total_seconds() / (count / 3.33)
    moment = 0.0
    article_id = 0
    while article_id < count:
        moment += rng.expovariate(1 / step)
        title, language = headlines.story()
        summary = f"{title}. {headlines.story()[0]}"
        body = f"{summary} {headlines.story()[0]} {headlines.story()[0]}"
        for member in range(min(rng.choice([1, 1, 2, 3, 3, 4, 5, 7]), count - article_id)):
            article_id += 1
            seen = start + timedelta(seconds=moment + rng.uniform(0, 36 * 3600) * (member > 0))
            source = rng.randrange(sources) + 1
            url = f"https://news{source}.example.org/{seen:%Y/%m}/{article_id}"
            yield (article_id, url, url, url, f"h{article_id}",
                   title if member == 0 else headlines.variant(title, language), summary, body,
                   language, seen - timedelta(hours=rng.uniform(0, 20)), seen, source, True,
                   "bench")


def populate(engine: Engine, articles: int, sources: int) -> dict[str, float]:
    """Fill the database; the seconds each table took."""
    rng = random.Random(11)
    timings: dict[str, float] = {}
    began = time.perf_counter()
    created = (NOW - SPAN).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO sources (id, key, name, kind, url, language, weight, enabled, state,
                                 failure_score, consecutive_failures, created_at,
                                 last_checked_at, last_success_at, last_new_article_at,
                                 next_check_at)
            SELECT g, 'desk-' || g, 'Newsdesk ' || g, 'feed',
                   'https://news' || g || '.example.org/feed.rss',
                   CASE WHEN g % 5 < 2 THEN 'ja' ELSE 'en' END,
                   (ARRAY[0.8, 1.0, 1.5])[1 + g % 3], true,
                   CASE WHEN g % 97 = 0 THEN 'paused' ELSE 'active' END,
                   CASE WHEN g % 13 = 0 THEN 2.5 ELSE 0 END, (g % 13 = 0)::int * 3, :created,
                   :now, :now, :now - (g % 20) * interval '1 day', :now + interval '1 hour'
            FROM generate_series(1, :n) AS g
        """), {"n": sources, "created": created, "now": NOW.replace(tzinfo=None)})
        conn.execute(text("SELECT setval('sources_id_seq', :n)"), {"n": sources})
    timings["sources"] = time.perf_counter() - began

    began = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(  # type: ignore[attr-defined]
            "COPY articles (id, identity, canonical_url, url, content_hash, title, summary, "
            "text, language, published_at, first_seen_at, source_id, is_fetched, "
            "tagged_version) FROM STDIN"
        ) as copy:
            for row in article_rows(articles, sources, rng):
                copy.write_row(row)
        cursor.execute("SELECT setval('articles_id_seq', %s)", (articles,))
        raw.commit()
    finally:
        raw.close()
    timings["articles (COPY)"] = time.perf_counter() - began

    began = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO sightings (article_id, source_id, url, title, seen_at)
            SELECT id, source_id, url, title, first_seen_at FROM articles
            UNION ALL
            SELECT id, 1 + (source_id + id % 7) % :n, url || '?via=wire', title,
                   first_seen_at + interval '2 hours'
            FROM articles WHERE id % 5 = 0
        """), {"n": sources})
    timings["sightings"] = time.perf_counter() - began

    began = time.perf_counter()
    with engine.begin() as conn:
        # Same headline start, same themes: a story's articles share their tags.
        conn.execute(text("""
            INSERT INTO article_tags (article_id, theme_id, score, reasons, themes_version)
            SELECT id, (CAST(:themes AS text[]))[1 + t.k], 2 + (id % 70) / 10.0,
                   json_build_array(json_build_object('term', (CAST(:themes AS text[]))[1 + t.k],
                                                      'field', 'title', 'count', 1)),
                   'bench'
            FROM (SELECT id, abs(hashtext(left(title, 12))) AS h FROM articles) AS a
            CROSS JOIN LATERAL (
                SELECT a.h % 11 AS k
                UNION ALL
                SELECT (a.h % 11 + 1 + (a.h / 11) % 10) % 11 WHERE a.h % 2 = 0
            ) AS t
        """), {"themes": THEME_IDS})
    timings["article_tags"] = time.perf_counter() - began

    began = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    timings["vacuum analyze"] = time.perf_counter() - began
    return timings


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per table."""
    with engine.connect() as conn:
        return {name: int(conn.scalar(text(f"SELECT count(*) FROM {name}")) or 0)
                for name in ("sources", "articles", "sightings", "article_tags")}


def time_digest(engine: Engine, archive: Path, runs: int = 3) -> tuple[list[float], int, int]:
    """Seconds of ``build_digest`` for the week, ``runs`` times; article and story counts."""
    settings = Settings.model_validate({"digest": {"archive_dir": str(archive)}})
    sessions = session_factory(engine)
    seconds = []
    built = None
    for _ in range(runs):
        began = time.perf_counter()
        built = build_digest(sessions, settings, THEMES, week=WEEK, language="ja", now=NOW)
        seconds.append(time.perf_counter() - began)
    assert built is not None
    return seconds, built.article_count, built.story_count


def digest_breakdown(engine: Engine) -> dict[str, float]:
    """Seconds of each stage of the week's digest, as ``build_digest`` runs them (collector
    paused): the queries, clustering, ranking, rendering, the archive document."""
    settings = Settings.model_validate({})
    start, end = iso_week_bounds(WEEK, settings.tz)
    before_start, before_end = iso_week_bounds(previous_week(WEEK, settings.tz), settings.tz)
    steps: dict[str, float] = {}
    with collector_paused(), session_factory(engine)() as session:
        began = time.perf_counter()
        candidates = load_candidates(session, start, end)
        steps["load_candidates"] = time.perf_counter() - began
        began = time.perf_counter()
        previous = count_by_theme(session, before_start, before_end)
        previous_total = count_articles(session, before_start, before_end)
        steps["last week's counts"] = time.perf_counter() - began
        began = time.perf_counter()
        health = source_health(session, with_counts=False)
        steps["source_health"] = time.perf_counter() - began
        began = time.perf_counter()
        stories = cluster_stories(candidates, gazetteer_for(THEMES))
        steps["cluster_stories"] = time.perf_counter() - began
        began = time.perf_counter()
        ranked = rank_digest(
            stories, THEMES, period=WEEK, language="ja", start=start, end=end, now=NOW,
            max_per_theme=settings.digest.max_per_theme, previous_counts=previous,
            previous_article_count=previous_total, health=health,
            silent_after=settings.digest.silent_after)
        steps["rank"] = time.perf_counter() - began
        began = time.perf_counter()
        rendered = render_digest(ranked, settings.digest, tz=settings.tz, now=NOW)
        steps["render"] = time.perf_counter() - began
        began = time.perf_counter()
        issue_document(ranked, subject=rendered.subject, preheader=rendered.preheader,
                       built_at=NOW, tz=settings.tz, url=None)
        steps["document"] = time.perf_counter() - began
    return steps


def time_floor(engine: Engine) -> float:
    """The bare read of the week's articles, sightings and tags (no ORM, no work on them)."""
    week = (datetime(2026, 11, 22, 15, 0), datetime(2026, 11, 29, 15, 0))
    began = time.perf_counter()
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(text(
            "SELECT id, title, summary, url FROM articles "
            "WHERE first_seen_at >= :a AND first_seen_at < :b"), {"a": week[0], "b": week[1]})]
        conn.execute(text("SELECT article_id, source_id, url, title FROM sightings "
                          "WHERE article_id = ANY(:ids)"), {"ids": ids}).all()
        conn.execute(text("SELECT article_id, theme_id, score, reasons FROM article_tags "
                          "WHERE article_id = ANY(:ids)"), {"ids": ids}).all()
    return time.perf_counter() - began


# The child reports its own high-water mark: getrusage's ru_maxrss of a forked child
# starts from the parent's size at the fork (this script holds hundreds of MiB by then).
PEAK_REPORTER = """
import atexit, runpy, sys
def report():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            sys.stderr.write('peak-kib ' + line.split()[1] + chr(10))
atexit.register(report)
sys.argv = ['migwatch', *sys.argv[1:]]
runpy.run_module('migwatch', run_name='__main__', alter_sys=True)
"""


def migwatch(db_url: str, config: Path, *args: str) -> tuple[float, int]:
    """Run the CLI; its wall seconds and peak RSS in KiB."""
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", PEAK_REPORTER, "--config", str(config), "--db", db_url, *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"migwatch {' '.join(args)} failed: {result.stderr}")
    peaks = [int(line.split()[1]) for line in result.stderr.splitlines()
             if line.startswith("peak-kib ")]
    return seconds, peaks[-1] if peaks else 0


def explain(engine: Engine, label: str, sql: str, params: dict[str, object],
            without: str | None = None) -> None:
    """Print the plan of ``EXPLAIN ANALYZE`` for one query; with ``without``, also the plan
    once that index is dropped (in a transaction rolled back: DDL is transactional)."""
    _explain(engine, label, sql, params)
    if without is not None:
        _explain(engine, f"{label}, without {without}", sql, params, drop=without)


def _explain(engine: Engine, label: str, sql: str, params: dict[str, object],
             drop: str | None = None) -> None:
    with engine.connect() as conn:
        if drop is not None:
            conn.execute(text(f"DROP INDEX {drop}"))
        plan = [row[0] for row in conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"), params)]
        conn.rollback()
    print(f"\n-- {label}")
    for line in plan:
        if "Buffers" not in line and "Planning:" not in line:
            print(f"   {line}")


def main() -> None:
    """Create, fill, measure, drop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=400)
    parser.add_argument("--admin-url", default=os.environ.get(
        "MIGWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true", help="leave the database for a look")
    parser.add_argument("--profile", action="store_true",
                        help="print where one digest build spends its time")
    parser.add_argument("--database", help="measure a database an earlier --keep run filled "
                        "(not loaded again, not dropped)")
    parser.add_argument("--digest-only", action="store_true",
                        help="time the digest only (no export, status or plans)")
    args = parser.parse_args()
    name = args.database or f"mwscale_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    keep = args.keep or bool(args.database)
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    if not args.database:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = pg_url(args.admin_url, name)
    engine = create_db_engine(db_url)
    workdir = tempfile.TemporaryDirectory()
    try:
        if not args.database:
            migrate(engine)
            timings = populate(engine, args.articles, args.sources)
            print("load: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        counts = table_counts(engine)
        print(f"database {name}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
              flush=True)
        with engine.connect() as conn:
            size = conn.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
        print(f"size on disk: {size}")

        config = Path(workdir.name) / "config"
        config.mkdir()
        (config / "migwatch.yaml").write_text("timezone: Asia/Tokyo\n", encoding="utf-8")
        (config / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
        seconds, article_count, story_count = time_digest(engine, Path(workdir.name) / "archive")
        floor = min(time_floor(engine) for _ in range(3))
        digest = statistics.median(seconds)
        print(f"\ndigest {WEEK}: {article_count:,} articles, {story_count:,} stories; "
              f"runs {', '.join(f'{s:.2f}' for s in seconds)} s")
        print(f"ratio digest/floor = {digest / floor:.2f} (median {digest:.2f} s, "
              f"bare read of the week {floor:.3f} s)")
        steps = digest_breakdown(engine)
        print("  of which: " + ", ".join(f"{k} {v:.3f} s" for k, v in steps.items()))
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            time_digest(engine, Path(workdir.name) / "archive", runs=1)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        if args.digest_only:
            return

        empty_s, empty_kib = migwatch(db_url, config, "export", "--since", "2030-01-01")
        month_s, month_kib = migwatch(db_url, config, "export", "--since", "2026-10-30")
        year_s, year_kib = migwatch(db_url, config, "export", "--since", "2025-11-30")
        print(f"\nexport peak RSS: nothing {empty_kib / 1024:.0f} MiB ({empty_s:.1f} s), "
              f"a month {month_kib / 1024:.0f} MiB ({month_s:.1f} s), "
              f"a year {year_kib / 1024:.0f} MiB ({year_s:.1f} s)")
        print(f"ratio export year/month peak = {year_kib / month_kib:.2f}; "
              f"year/nothing = {year_kib / empty_kib:.2f}")

        version_s, _ = migwatch(db_url, config, "--version")
        status_s, _ = migwatch(db_url, config, "status")
        with session_factory(engine)() as session:
            began = time.perf_counter()
            source_health(session)
            health_s = time.perf_counter() - began
        print(f"\nstatus {status_s:.2f} s (migwatch --version {version_s:.2f} s: "
              f"ratio {status_s / version_s:.2f}); source health query {health_s * 1000:.0f} ms")

        week = {"a": datetime(2026, 11, 22, 15, 0), "b": datetime(2026, 11, 29, 15, 0),
                "old": datetime(2026, 11, 15, 15, 0)}
        explain(engine, "digest week window (load_candidates)",
                "SELECT a.id, a.title, s.key FROM articles a JOIN sources s ON s.id = a.source_id"
                " WHERE a.first_seen_at >= :a AND a.first_seen_at < :b AND"
                " (a.published_at IS NULL OR a.published_at >= :old)"
                " ORDER BY a.first_seen_at, a.id", week, without="ix_articles_first_seen_id")
        explain(engine, "export --since, first page (a month)",
                "SELECT id, title FROM articles WHERE first_seen_at >= :a"
                " ORDER BY first_seen_at, id LIMIT 1000", week, without="ix_articles_first_seen_id")
        explain(engine, "export --since, one page after the first",
                "SELECT id, title FROM articles WHERE (first_seen_at, id) > (:a, 0)"
                " ORDER BY first_seen_at, id LIMIT 1000", week, without="ix_articles_first_seen_id")
        explain(engine, "sightings of the week (load_candidates)",
                "SELECT article_id, source_id FROM sightings WHERE article_id IN"
                " (SELECT id FROM articles WHERE first_seen_at >= :a AND first_seen_at < :b)",
                week)
        explain(engine, "source health counts (status, digest)",
                "SELECT source_id, count(*) FROM sightings GROUP BY source_id", {},
                without="ix_sightings_source_id")
    finally:
        workdir.cleanup()
        engine.dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"\ndropped {name}")
        admin.dispose()


if __name__ == "__main__":
    main()
