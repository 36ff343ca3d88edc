"""OPML reading and writing: folders and categories, rejected outlines, hostile files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.schema import SourceConfig
from migwatch.opml import MAX_OPML_BYTES, html_url_from_note, note_for, read_opml, write_opml

FEEDS = Path(__file__).parent / "data" / "feeds.opml"
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def feed(name: str, url: str, categories: list[str], note: str | None = None) -> SourceConfig:
    return SourceConfig(key=f"k{abs(hash(url)) % 10**6}", name=name, kind="feed", url=url,
                        categories=categories, note=note)


def test_read_takes_folders_then_category_attribute_as_categories() -> None:
    document = read_opml(FEEDS.read_bytes(), name="feeds.opml")
    assert document.title == "移民・人道デスクの購読リスト"
    assert len(document.feeds) == 30
    by_title = {f.title: f for f in document.feeds}
    assert by_title["Missing Migrants Ledger"].categories == (
        "International organisations", "IOM", "data")
    assert by_title["Global Forum on People on the Move"].categories == (
        "Migration forums", "forum", "policy")
    assert by_title["Regional Consultative Process Digest"].categories == (
        "Migration forums", "forum/asia")
    assert by_title["人道支援資金ニュース"].categories == ("Humanitarian funding", "ja", "un-funding")
    assert by_title["Coastal Rescue Log"].categories == ()
    assert by_title["Displacement Tracking Bulletin"].html_url is None
    assert by_title["ニュース速報 移民・難民"].xml_url == (
        "https://sokuho.example/search/rss?q=%E7%A7%BB%E6%B0%91&hl=ja")


def test_outlines_with_bad_urls_are_rejected_with_their_line() -> None:
    data = b"""<?xml version="1.0"?>
<opml version="1.0"><body>
  <outline text="ok" xmlUrl="https://ok.example/rss"/>
  <outline text="empty" xmlUrl=""/>
  <outline text="ftp" xmlUrl="ftp://files.example/feed.xml"/>
  <outline text="script" xmlUrl="javascript:alert(1)"/>
  <outline text="spaces" xmlUrl="https://bad host.example/rss"/>
  <outline text="no url" type="rss"/>
</body></opml>"""
    document = read_opml(data, name="x.opml")
    assert [f.title for f in document.feeds] == ["ok"]
    assert [(r.line, r.title) for r in document.rejected] == [
        (4, "empty"), (5, "ftp"), (6, "script"), (7, "spaces"), (8, "no url")]
    assert document.rejected[0].reason == "xmlUrl is empty"


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


def test_write_then_read_gives_back_names_urls_and_categories_in_order() -> None:
    sources = [
        feed("移民ニュース", "https://a.example/rss", ["日本", "在留外国人"],
             note_for("https://a.example/")),
        feed("Commas", "https://b.example/rss", ["Policy", "Asia, Pacific", "tail"]),
        feed("Slashes", "https://c.example/rss", ["Forums", "/edge/"]),
        feed("Top level", "https://d.example/rss", []),
        feed("Same folder", "https://e.example/rss", ["日本", "難民"]),
    ]
    data = write_opml(sources, title="t", now=NOW)
    assert b'version="2.0"' in data and b'type="rss"' in data
    document = read_opml(data, name="out.opml")
    # Sources sharing a folder are written together, so compare without the order.
    assert sorted((f.xml_url, f.title, list(f.categories)) for f in document.feeds) == sorted(
        (s.url, s.name, s.categories) for s in sources)
    assert {f.xml_url: f.html_url for f in document.feeds}["https://a.example/rss"] == (
        "https://a.example/")
    assert data.count("text=\"日本\"".encode()) == 1  # one folder for both sources under 日本


def test_site_address_is_found_in_a_note_written_by_hand_too() -> None:
    assert html_url_from_note("Weekly. site: https://w.example/ ") == "https://w.example/"
    assert html_url_from_note("no site here") is None
    assert html_url_from_note(None) is None
