"""Matched words are marked after the text is escaped, never before."""

from __future__ import annotations

from db.search import search_words
from migwatch.web.highlight import highlight, snippet


def test_text_is_escaped_before_words_are_marked() -> None:
    marked = str(highlight('<b onclick="x">IOM</b> & iom', ["iom"]))
    assert marked == ("&lt;b onclick=&#34;x&#34;&gt;<mark>IOM</mark>&lt;/b&gt; &amp; "
                      "<mark>iom</mark>")


def test_a_word_that_looks_like_markup_is_escaped_too() -> None:
    assert str(highlight("a <mark> b", ["<mark>"])) == "a <mark>&lt;mark&gt;</mark> b"


def test_the_snippet_shows_the_first_match_in_japanese_text() -> None:
    text = "前置き。" * 60 + "国際移住機関(IOM)は支援を拡大した。"
    shown = str(snippet(text, ["国際移住機関"]))
    assert shown.startswith("…") and "<mark>国際移住機関</mark>" in shown


def test_query_words_split_on_spaces_and_keep_quoted_phrases() -> None:
    assert search_words('国際移住機関\u3000"funding cuts"  IOM') == (
        "国際移住機関", "funding cuts", "IOM")
    assert search_words('unbalanced "quote') == ("unbalanced", "quote")
