"""Editing sources.yaml as text: comments, spacing, quoting and indentation survive."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from config.schema import SourceConfig
from migwatch.sources_file import (
    NEW_FILE_TEXT,
    append_entries,
    check_sources_text,
    derive_key,
    detect_layout,
    remove_entry,
    save_sources_text,
    set_enabled,
)

SHIPPED = Path(__file__).parents[2] / "config" / "sources.yaml"

COMPACT = """\
sources:
- key: a-feed   # the first one
  name: 'A: feed'
  kind: feed
  url: 'https://a.example/rss'
  categories:
  - one
- key: b-feed
  name: B
  kind: feed
  url: 'https://b.example/rss'
  enabled: yes
"""

ENTRY = {"key": "new-one", "name": "移民: 新着", "kind": "feed",
         "url": "https://new.example/feed.xml", "weight": 1.0, "categories": ["x", "y"]}


def test_append_to_the_shipped_file_changes_no_existing_line() -> None:
    original = SHIPPED.read_text(encoding="utf-8")
    edited = append_entries(original, [ENTRY])
    assert edited.startswith(original.rstrip("\n"))
    added = edited[len(original.rstrip("\n")):]
    assert '\n\n  - key: new-one\n    name: "移民: 新着"\n' in added
    assert '    url: "https://new.example/feed.xml"\n    weight: 1.0\n' in added
    assert "    categories: [x, y]\n" in added
    assert len(check_sources_text(edited, SHIPPED)) == len(check_sources_text(original, SHIPPED)) + 1


def test_append_follows_a_compact_layout_with_block_lists_and_single_quotes() -> None:
    layout = detect_layout(COMPACT)
    assert (layout.offset, layout.sequence, layout.flow_categories) == (0, 2, False)
    assert (layout.url_quote, layout.blank_between) == ("'", False)
    edited = append_entries(COMPACT, [ENTRY])
    assert edited.startswith(COMPACT)
    assert edited[len(COMPACT):] == (
        "- key: new-one\n  name: '移民: 新着'\n  kind: feed\n"
        "  url: 'https://new.example/feed.xml'\n  weight: 1.0\n  categories:\n  - x\n  - y\n"
    )


def test_append_to_a_new_file_replaces_the_empty_list() -> None:
    edited = append_entries(NEW_FILE_TEXT, [ENTRY])
    assert edited.startswith("# Sources watched by migwatch.")
    assert "sources: []" not in edited
    assert [s.key for s in check_sources_text(edited, Path("sources.yaml"))] == ["new-one"]


def test_remove_keeps_a_section_heading_but_drops_the_comment_attached_to_the_entry() -> None:
    original = SHIPPED.read_text(encoding="utf-8")
    edited = remove_entry(original, "reliefweb-iom")
    assert "free-text filter; switch to advanced-search" not in edited
    assert "── Tier 1: polled often" in edited
    assert original.count("\n") - edited.count("\n") == 11  # comment, 9 keys, one blank
    edited = remove_entry(original, "un-news-migrants")
    assert "  # ── Tier 1: polled often (UN News, ReliefWeb, core migration outlets, Japan) " \
        in edited
    assert "\n\n\n" not in edited


def test_removing_the_last_entry_leaves_an_empty_list_that_loads() -> None:
    edited = remove_entry(remove_entry(COMPACT, "a-feed"), "b-feed")
    assert edited == "sources: []\n"
    assert check_sources_text(edited, Path("sources.yaml")) == []


def test_set_enabled_rewrites_the_value_or_adds_a_line_under_the_url() -> None:
    edited = set_enabled(COMPACT, "b-feed", False)
    assert "  enabled: false\n" in edited and "yes" not in edited
    edited = set_enabled(COMPACT, "a-feed", False)
    assert "  url: 'https://a.example/rss'\n  enabled: false\n  categories:\n" in edited
    assert "- key: a-feed   # the first one\n" in edited


def test_unknown_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no source with key 'nope'"):
        remove_entry(COMPACT, "nope")


def test_save_refuses_a_file_that_would_not_load_and_leaves_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(COMPACT, encoding="utf-8")
    broken = COMPACT.replace("kind: feed", "kind: magazine", 1)
    with pytest.raises(ConfigError, match=r"sources\.yaml:4: source a-feed: kind"):
        save_sources_text(path, broken, check_sources_text(COMPACT, path))
    assert path.read_text(encoding="utf-8") == COMPACT
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_save_refuses_an_edit_that_changes_more_than_expected(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(COMPACT, encoding="utf-8")
    expected = check_sources_text(COMPACT, path)
    changed = COMPACT.replace("name: B", "name: Bee")
    with pytest.raises(ConfigError, match="would change more than intended"):
        save_sources_text(path, changed, expected)
    save_sources_text(path, changed, [expected[0], expected[1].model_copy(update={"name": "Bee"})])
    assert "name: Bee" in path.read_text(encoding="utf-8")


def test_derive_key_uses_latin_title_words_else_the_host_and_stays_unique() -> None:
    assert derive_key("https://x.example/", "UN News: Migrants & Refugees", set()) == (
        "un-news-migrants-refugees"
    )
    assert derive_key("https://www.kyosei.example/feed", "共生タイムズ", set()) == "kyosei-example"
    taken = {"kyosei-example", "kyosei-example-2"}
    assert derive_key("https://kyosei.example/a", "共生", taken) == "kyosei-example-3"
    key = derive_key("https://x.example/", "a " * 80, set())
    SourceConfig(key=key, name="n", kind="feed", url="https://x.example/")
