"""A built issue: one entry per story with all its outlets, the reasons, the bars, the
source-health section, both languages, and nothing unsafe from the feeds."""

from __future__ import annotations

import re
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine

from db import session_factory
from digest.deliver import send_digest
from tests.digest.fixtures.setup import build, seed, settings_for

UNSAFE = ("<script", "javascript:", "data:text", "onerror", "onclick", "<iframe", "alert(")


def test_a_story_from_five_outlets_appears_once_with_all_five(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    built = build(engine, tmp_path, language="en")
    entries = [cell[: cell.index("</td>")] for cell in built.html.split('<td id="story-')[1:]]
    wire = [entry for entry in entries if re.search("250 (headquarters|HQ) jobs", entry)]
    assert len(wire) == 1
    (entry,) = wire
    for outlet in ("Nichiei Wire", "Harbor Times", "Asia Migration Monitor",
                   "Global Aid Review", "Coast Daily"):
        assert outlet in entry
    assert "5 outlets" in entry


def test_the_japanese_edited_headlines_are_one_story_with_both_outlets(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    text = build(engine, tmp_path, language="ja").text
    headlines = [line for line in text.splitlines() if line.startswith("* ")]
    assert sum("本部職員250人超" in line for line in headlines) == 1
    line = next(line for line in text.splitlines() if "2媒体" in line)
    assert "東京イブニングポスト" in line and "関西新報" in line


def test_each_entry_says_why_it_is_there_and_where_else_it_belongs(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    text = build(engine, tmp_path, language="en").text
    assert "Why: matched: IOM · also in: Funding crisis" in text
    assert "Why: matched: 国際フォーラム · also in: Integration" in text


def test_backfill_and_other_weeks_stay_out(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    built = build(engine, tmp_path, language="en")
    for absent in ("opens a new office", "following week", "Earlier IOM briefing"):
        assert absent not in built.html and absent not in built.text
    assert built.article_count == 11
    assert "New articles: 11 (last week 3)" in built.text


def test_the_closing_section_names_broken_and_silent_sources(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    ja = build(engine, tmp_path, language="ja")
    en = build(engine, tmp_path, language="en")
    health = en.html[en.html.index('id="health"'):]
    assert "Broken Feed Daily" in health and "4 failures in a row" in health
    assert "HTTP 503 Service Unavailable" in health and "<b>retry" not in health
    assert "Quiet Quarterly" in health and "Silent for more than 14 days" in health
    assert "連続失敗 4回" in ja.html and "14日以上新着のない情報源" in ja.html


def test_bars_are_table_cells_with_widths_and_colours_not_images(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    html = build(engine, tmp_path, language="ja").html
    summary = html[html.index('id="summary"'): html.index('id="theme-')]
    assert re.search(r'<td width="\d+%" height="8" style="width:\d+%;height:8px;'
                     r'background-color:#1d4ed8', summary)
    assert "<img" not in html and "url(" not in html and "<script" not in html
    assert not re.search(r'(src|href)="//', html)


def test_the_ui_speaks_the_configured_language(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    ja = build(engine, tmp_path, language="ja")
    en = build(engine, tmp_path, language="en")
    assert ja.subject == "[migwatch] 2026-W48 週間ダイジェスト: 新着11件・7ストーリー"
    assert en.subject == "[migwatch] Weekly digest 2026-W48: 11 new articles, 7 stories"
    assert '<html lang="ja">' in ja.html and "今週の数字" in ja.html and "情報源の状態" in ja.html
    assert '<html lang="en">' in en.html and "This week in numbers" in en.html


def test_a_week_in_progress_is_marked_as_such(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    built = build(engine, tmp_path, language="en", week="2026-W49")
    assert not built.is_complete
    assert built.subject.endswith("(in progress)")
    assert "This week is not over yet" in built.html


def test_stories_beyond_the_budget_link_to_the_archive_page(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    built = build(engine, tmp_path, language="en", settings=settings_for(max_per_theme=1))
    assert ('href="https://digest.example.org/archive/2026-W48.en.html#more-iom"'
            in built.html)
    archive = built.html_path.read_text(encoding="utf-8")
    assert 'id="more-iom"' in archive and "本部職員250人超" in archive


def _parts(message: EmailMessage) -> list[str]:
    return [
        part.get_content() for part in message.walk() if part.get_content_maintype() == "text"
    ]


def test_scripts_handlers_and_foreign_links_reach_no_output(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    built = build(engine, tmp_path, language="en")
    assert "Migrants stranded at border crossing" in built.html
    assert "Aid groups say shelters are full." in built.text
    report = send_digest(
        session_factory(engine), settings_for(), built, now=built.built_at,
        dry_run_dir=tmp_path / "outbox",
    )
    outputs = {
        "mail html": built.html,
        "text": built.text,
        "archive": built.html_path.read_text(encoding="utf-8"),
        "atom": built.feed_path.read_text(encoding="utf-8"),
        "index": built.index_path.read_text(encoding="utf-8"),
    }
    for outcome in report.outcomes:
        assert outcome.path is not None
        message = message_from_string(outcome.path.read_text(encoding="utf-8"),
                                      policy=policy.default)
        assert isinstance(message, EmailMessage)
        for number, part in enumerate(_parts(message)):
            outputs[f"eml {outcome.recipient} part {number}"] = part
    assert len(outputs) == 5 + 2 * 3
    for name, content in outputs.items():
        lowered = content.lower()
        for needle in UNSAFE:
            # the Atom content is escaped once more: look through that layer too
            assert needle not in lowered, f"{needle!r} in {name}"
            assert needle.replace("<", "&lt;") not in lowered, f"{needle!r} in {name}"
