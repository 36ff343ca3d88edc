"""OPML reading and writing: folders and categories, rejected outlines, hostile files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.schema import SourceConfig
from migwatch.opml import MAX_OPML_BYTES, read_opml, write_opml

FEEDS = Path(__file__).parent / "data" / "feeds.opml"
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def feed(name: str, url: str, categories: list[str], note: str | None = None) -> SourceConfig:
    return SourceConfig(key=f"k{abs(hash(url)) % 10**6}", name=name, kind="feed", url=url,
                        categories=categories, note=note)


def test_read_takes_folder_paths_and_category_attributes_as_categories() -> None:
    document = read_opml(FEEDS.read_bytes(), name="feeds.opml")
    assert document.title == "移民・人道デスクの購読リスト"
    assert len(document.feeds) == 30
    by_title = {f.title: f for f in document.feeds}
    assert by_title["Missing Migrants Ledger"].categories == (
        "data", "International organisations/IOM")
    assert by_title["Global Forum on People on the Move"].categories == (
        "forum", "policy", "Migration forums")
    assert by_title["Regional Consultative Process Digest"].categories == (
        "forum/asia", "Migration forums")
    assert by_title["Coastal Rescue Log"].categories == ()
    assert by_title["ニュース速報 移民・難民"].xml_url == (
        "https://sokuho.example/search/rss?q=%E7%A7%BB%E6%B0%91&hl=ja")


def test_outlines_with_bad_urls_are_rejected_with_their_title() -> None:
    data = b"""<?xml version="1.0"?>
<opml version="1.0"><body>
  <outline text="ok" xmlUrl="https://ok.example/rss"/>
  <outline text="empty" xmlUrl=""/>
  <outline text="ftp" xmlUrl="ftp://files.example/feed.xml"/>
  <outline text="script" xmlUrl="javascript:alert(1)"/>
  <outline text="spaces" xmlUrl="https://bad host.example/rss"/>
  <outline text="a page" type="link" url="https://page.example/"/>
</body></opml>"""
    document = read_opml(data, name="x.opml")
    assert [f.title for f in document.feeds] == ["ok"]
    assert [r.title for r in document.rejected] == ["ftp", "script", "spaces", "a page"]
    assert document.rejected[-1].reason.startswith("links to a web page or another list")


def test_entity_declarations_are_refused_without_expansion() -> None:
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "hahahahahahahahahaha">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<opml version="2.0"><body><outline text="&c;" xmlUrl="https://x.example/"/></body></opml>"""
    with pytest.raises(ConfigError, match="declares XML entities"):
        read_opml(laughs, name="laughs.opml")
    external = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://x.example/"/></body></opml>"""
    with pytest.raises(ConfigError, match="declares XML entities"):
        read_opml(external, name="external.opml")


def test_huge_and_non_opml_files_are_refused() -> None:
    with pytest.raises(ConfigError, match="larger than 5 MiB"):
        read_opml(b" " * (MAX_OPML_BYTES + 1), name="big.opml")
    with pytest.raises(ConfigError, match="not an OPML file"):
        read_opml(b"<html><body>hello</body></html>", name="page.html")
    with pytest.raises(ConfigError, match="not an OPML file"):
        read_opml(b"name,url\nx,https://x.example/\n", name="list.csv")


def test_write_then_read_gives_back_every_feed_and_category() -> None:
    sources = [
        feed("移民ニュース", "https://a.example/rss", ["日本", "在留外国人"],
             "site: https://a.example/"),
        feed("Commas", "https://b.example/rss", ["Policy", "Asia, Pacific", "tail"]),
        feed("Nested", "https://c.example/rss", ["Forums/Regional"]),
        feed("Top level", "https://d.example/rss", []),
        feed("Same folder", "https://e.example/rss", ["日本", "難民"]),
    ]
    data = write_opml(sources, title="t", now=NOW)
    assert b'version="2.0"' in data and b'type="rss"' in data
    document = read_opml(data, name="out.opml")
    assert sorted((f.xml_url, f.title, sorted(f.categories)) for f in document.feeds) == sorted(
        (s.url, s.name, sorted(s.categories)) for s in sources)
    assert b'htmlUrl="https://a.example/"' in data
    assert data.count("text=\"日本\"".encode()) == 1  # one folder for both sources under 日本


def test_export_marks_disabled_sources_and_keeps_listings_and_sitemaps() -> None:
    sources = [
        feed("On", "https://a.example/rss", []),
        SourceConfig(key="off", name="Off", kind="feed", url="https://b.example/rss",
                     enabled=False),
        SourceConfig(key="map", name="Map", kind="sitemap", url="https://c.example/news.xml"),
    ]
    data = write_opml(sources, title="t", now=NOW).decode()
    assert 'xmlUrl="https://b.example/rss" migwatch:enabled="false"' in data
    assert ('type="link" url="https://c.example/news.xml" migwatch:kind="sitemap"' in data)
    document = read_opml(data.encode(), name="out.opml")
    assert [f.xml_url for f in document.feeds] == ["https://a.example/rss",
                                                  "https://b.example/rss"]
    assert [r.title for r in document.rejected] == ["Map"]


SHAPES = Path(__file__).parent / "data" / "opml"


@pytest.mark.parametrize(("name", "expected"), [
    ("feedly.opml", {
        "https://harbourline.example/migration/feed/": ("Migration", "Funding"),
        "https://zairyu-shien.example/news/index.rdf": ("Migration",),
        "https://potm-forum.example/rss.xml": ("Migration/Forums",),
        "https://andean-mobility.example/feed.atom": ("Migration/Forums/Regional",),
        "https://appeals-gap.example/latest.rss": ("Funding", "Must Read"),
        "https://coastal-rescue.example/log.xml": (),
    }),
    ("netnewswire.opml", {
        "https://fieldnotes-displacement.example/feed.json": ("Blogs",),
        "https://imin-seisaku.example/feed.json": ("Blogs",),
        "https://border-data.example/index.xml": ("Blogs",),
        "https://remittances-review.example/feeds/json": (),
    }),
    ("inoreader.opml", {
        "https://newsroom.assembly.example/topic/migrants/rss.xml": ("UN agencies",),
        "https://reliefboard.example/updates/rss.xml?source=refugee-agency&lang=en":
            ("UN agencies",),
        "https://kokuren-koho.example/news/feed.rdf": ("日本語ニュース",),
        "https://gaikokujin-rodo.example/rss": ("日本語ニュース",),
        "https://search-alerts.example/rss?q=IOM&hl=en": (),
    }),
])
def test_feed_reader_exports_read_and_write_back_without_losing_a_feed_or_category(
    name: str, expected: dict[str, tuple[str, ...]],
) -> None:
    document = read_opml((SHAPES / name).read_bytes(), name=name)
    assert {f.xml_url: f.categories for f in document.feeds} == expected
    assert document.rejected == ()
    sources = [SourceConfig(key=f"s{i}", name=f.title, kind="feed", url=f.xml_url,
                            categories=list(f.categories)) for i, f in enumerate(document.feeds)]
    again = read_opml(write_opml(sources, title="t", now=NOW), name="again.opml")
    assert {f.xml_url: sorted(f.categories) for f in again.feeds} == {
        url: sorted(categories) for url, categories in expected.items()}
    assert {f.title for f in again.feeds} == {f.title for f in document.feeds}
