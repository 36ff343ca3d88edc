"""A source's own time zone: a day-only date is that day there, in storage and in export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from config.errors import ConfigError
from config.loader import load_sources
from migwatch.cli import _register, cli
from migwatch.context import AppContext
from migwatch.jobs import collect
from migwatch.sampleweb import SampleWeb
from tests.crawler.webfixture import article_page, write

_register()

LISTING = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<title>{title}</title></head><body><ul class="news">{items}</ul></body></html>"""

JA_BODY = ["入管庁は在留資格「特定技能」の受入れ見込み数を見直す方針を示した。",
           "関係団体からは、受入れ後の生活支援の体制づくりを求める声が上がっている。",
           "政府は年内に新たな方針をまとめ、地方自治体との協議を進める予定だ。"]

SETTINGS = """timezone: Asia/Tokyo
crawler: {download_delay_seconds: 0, timeout_seconds: 5, retries: 0}
network: {allow_private: true}
"""

SOURCES = """sources:
  - key: ny-desk
    name: New York desk
    kind: listing
    url: "{base}/ny/list.html"
    timezone: America/New_York
    fetch_articles: false
    listing: {{item: "ul.news li", date: "time"}}
  - key: tokyo-desk
    name: Tokyo desk
    kind: listing
    url: "{base}/tokyo/list.html"
    fetch_articles: false
    listing: {{item: "ul.news li", date: "time"}}
  - key: kobe-pages
    name: Kobe pages
    kind: listing
    url: "{base}/kobe/list.html"
    timezone: America/Los_Angeles
    listing: {{item: "ul.news li"}}
"""


@pytest.fixture
def web(tmp_path: Path) -> Iterator[SampleWeb]:
    root = tmp_path / "web"
    item = '<li><a href="{href}">{title}</a> <time datetime="2026-06-18">June 18, 2026</time></li>'
    for desk, title in (("ny", "Shelter capacity report released"),
                        ("tokyo", "Resettlement quota review announced")):
        write(root, f"{desk}/list.html", LISTING.format(
            lang="en", title=desk, items=item.format(href=f"/{desk}/story.html", title=title)))
    write(root, "kobe/list.html", LISTING.format(
        lang="ja", title="神戸", items='<li><a href="/kobe/a.html">受入れ見込み数の見直し</a></li>'))
    # The page's only date is a day, written in its text.
    write(root, "kobe/a.html", article_page("受入れ見込み数の見直し", JA_BODY, lang="ja",
                                            dateline="2018年6月18日"))
    with SampleWeb(root) as server:
        yield server


def test_day_only_dates_are_that_day_in_the_sources_zone_in_export(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "migwatch.yaml").write_text(SETTINGS, encoding="utf-8")
    (config / "sources.yaml").write_text(SOURCES.format(base=web.base_url), encoding="utf-8")
    summary = collect(AppContext(config_path=config, db_url=db_url))
    assert {f.source_key: f.status for f in summary.fetches} == {
        "ny-desk": "ok", "tokyo-desk": "ok", "kobe-pages": "ok"}
    runner = CliRunner()
    base = ["--config", str(config), "--db", db_url, "export"]
    result = runner.invoke(cli, base)
    assert result.exit_code == 0, result.output
    published = {row["source_key"]: row["published_at"]
                 for row in map(json.loads, result.output.splitlines())}
    assert published == {
        "ny-desk": "2026-06-18T00:00:00-04:00",  # not 2026-06-18T04:00 UTC nor a Tokyo day
        "tokyo-desk": "2026-06-18T00:00:00+09:00",  # the configured zone, not 06-17 15:00 UTC
        "kobe-pages": "2018-06-18T00:00:00-07:00",  # a page's own dateline, extracted
    }
    result = runner.invoke(cli, [*base, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["source_key"]: r["published_at"] for r in csv.DictReader(io.StringIO(result.output))}
    assert rows == published


def test_a_source_time_zone_that_is_not_iana_is_one_line_in_words(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {key: a, name: A, kind: feed, url: 'https://a.example/rss',"
        " timezone: Tokyo}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_sources(tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert "'Tokyo' is not an IANA time zone such as Asia/Tokyo or Europe/Paris" in message


def test_an_outlet_name_is_trimmed_and_an_empty_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {key: a, name: A, kind: feed, url: 'https://a.example/rss',"
        " outlet: '  Kanto   Shimpo '}\n", encoding="utf-8")
    (source,) = load_sources(tmp_path)
    assert source.outlet == "Kanto Shimpo"
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {key: a, name: A, kind: feed, url: 'https://a.example/rss',"
        " outlet: '   '}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_sources(tmp_path)
    assert "\n" not in str(raised.value) and "outlet" in str(raised.value)
