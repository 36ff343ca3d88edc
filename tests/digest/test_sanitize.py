"""Untrusted text becomes plain text; only http(s) links survive."""

from __future__ import annotations

import pytest

from digest.sanitize import one_line, plain_text, safe_url, shorten


def test_tags_are_stripped_and_script_bodies_dropped() -> None:
    assert plain_text("<b>IOM</b> budget <script>alert(1)</script>cut") == "IOM budget cut"


def test_escaped_markup_cannot_come_back_as_tags_after_decoding() -> None:
    assert plain_text("&lt;script&gt;alert(1)&lt;/script&gt;News") == "News"
    assert plain_text("&amp;lt;img src=x onerror=alert(1)&amp;gt;ok") == "ok"


def test_entities_and_harmless_symbols_read_as_text() -> None:
    assert plain_text("R&amp;D funds &lt; last year") == "R&D funds < last year"


def test_event_handlers_vanish_with_their_tags() -> None:
    cleaned = plain_text('<p onclick="steal()">Shelters full</p><img onerror=x src=y>')
    assert cleaned == "Shelters full"


def test_paragraph_breaks_become_spaces() -> None:
    assert plain_text("<p>First.</p><p>Second.</p>") == "First. Second."


def test_control_characters_and_bidi_overrides_are_removed() -> None:
    assert plain_text("IOM\x00 \u202egnirts\u202c ok") == "IOM gnirts ok"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox",
        "ftp://example.com/file",
        "//example.com/no-scheme",
        "https://exa mple.com/",
        'https://example.com/"onmouseover="x',
        "https:///no-host",
        "",
        None,
    ],
)
def test_only_absolute_http_links_are_kept(url: str | None) -> None:
    assert safe_url(url) is None


def test_ordinary_news_links_are_kept() -> None:
    assert safe_url("https://www.iom.int/news?id=5#top") == "https://www.iom.int/news?id=5#top"
    assert safe_url("http://例え.jp/記事") == "http://例え.jp/記事"


def test_shorten_cuts_latin_text_at_a_word_and_japanese_anywhere() -> None:
    assert shorten("migration forum in Tokyo opens today", 20) == "migration forum in…"
    assert shorten("国際移住機関が職員を削減すると発表した", 10) == "国際移住機関が職員…"
    assert shorten("short", 20) == "short"


def test_one_line_keeps_server_replies_on_one_short_line() -> None:
    reply = "550 mailbox <b>unavailable</b>\r\nX-Injected: yes " + "x" * 500
    line = one_line(reply, 80)
    assert "\n" not in line and "\r" not in line and len(line) <= 80
    assert "<b>" not in line
