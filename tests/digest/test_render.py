"""A built issue: one entry per story with all its outlets, the reasons, the bars, the
source-health section, both languages, and nothing unsafe from the feeds."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine

from db import session_factory
from digest.deliver import send_digest
from digest.rank import rank_digest
from digest.render import MAIL_BUDGET_BYTES, render_digest
from tests.digest.fixtures.setup import build, seed, settings_for
from tests.digest.fixtures.stories import MONDAY, candidate, single
from tests.digest.fixtures.week import NOW, THEMES

UNSAFE = ("<script", "javascript:", "data:text", "onerror", "onclick", "<iframe", "alert(")


def _entries(html: str) -> list[str]:
    return [cell[: cell.index("</td>")] for cell in html.split('<td id="event-')[1:]]


def test_an_event_in_english_and_japanese_appears_once_with_all_its_outlets(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    built = build(engine, tmp_path, language="en")
    wire = [entry for entry in _entries(built.html) if "250" in entry]
    assert len(wire) == 1
    (entry,) = wire
    for outlet in ("Nichiei Wire", "Harbor Times", "Global Aid Review", "Coast Daily",
                   "東京イブニングポスト", "関西新報"):
        assert outlet in entry
    assert "+1 more" in entry  # the seventh outlet: six names are enough for a mail
    assert "7 outlets · Japanese and English" in entry
    assert "IOM to cut more than 250 headquarters jobs" in entry  # the English headline


def test_the_japanese_issue_leads_with_the_japanese_headline_of_the_event(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    text = build(engine, tmp_path, language="ja").text
    headlines = [line for line in text.splitlines() if line.startswith("* ")]
    assert sum("250" in line for line in headlines) == 1
    assert any("本部職員250人超" in line for line in headlines)
    line = next(line for line in text.splitlines() if "7媒体・日英：" in line)
    assert "東京イブニングポスト" in line and "Nichiei Wire" in line


def test_each_entry_says_why_it_is_there_and_where_else_it_belongs(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    en = build(engine, tmp_path, language="en").text
    ja = build(engine, tmp_path, language="ja").text
    assert "(matched IOM, 国際移住機関; also Funding crisis)" in en
    assert "(matched 国際フォーラム; also Integration)" in en
    assert "(キーワード：国際フォーラム／共生社会と統合にも関連)" in ja


def test_an_event_is_named_under_also_relevant_in_one_other_theme_only(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    text = build(engine, tmp_path, language="en").text
    mentions = [line for line in text.splitlines() if line.startswith("  - ")]
    assert len(mentions) == len(set(mentions))


def test_highlights_come_first_and_the_subject_names_the_lead_event(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    ja = build(engine, tmp_path, language="ja")
    en = build(engine, tmp_path, language="en")
    assert ja.subject == "[migwatch] 2026-W48：IOM、資金不足で本部職員250人超を削減へ 米国の拠出減で ほか5件"
    assert en.subject == ("[migwatch] 2026-W48: IOM to cut more than 250 headquarters jobs "
                          "as US funding falls and 5 more events")
    for built, heading in ((ja, "今週のポイント"), (en, "This week")):
        html = built.html
        assert html.index('id="preheader"') < html.index('id="highlights"') < html.index(
            'id="summary"') < html.index('id="theme-')
        assert f">{heading}</div>" in html
        assert built.preheader and built.preheader in html
        assert "UN warns of $1.1bn shortfall" in built.preheader
    assert "前週から大きく動いたテーマ：資金危機 +7" in ja.html


def test_quiet_themes_share_one_line(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    ja = build(engine, tmp_path, language="ja")
    assert "動きなし：健康と結核検診、移住の要因、家族の呼び寄せ、労働移住" in ja.html
    assert 'id="theme-health"' not in ja.html
    assert "0 / 0" not in ja.html


def test_japanese_dates_and_counts_read_naturally(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    ja = build(engine, tmp_path, language="ja")
    assert "2026年11月23日〜29日" in ja.html
    assert "新着記事 11件（前週 3件）" in ja.text
    assert "前週比" in ja.html and "(+7)" in ja.html


def test_english_summaries_keep_their_length_in_the_japanese_issue(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    ja = build(engine, tmp_path, language="ja").text
    assert "Member states' unpaid dues leave the regular budget short; relocations and job " \
        "cuts are on the table." in ja


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
    assert "Broken Feed Daily" in health and "could not be fetched (4 times in a row)" in health
    # operator detail stays in `migwatch status`
    assert "HTTP 503" not in health and "retry" not in health
    assert "Quiet Quarterly" in health and "Nothing new for more than 14 days" in health
    assert "取得できませんでした（4回連続）" in ja.html and "14日以上新着のない情報源" in ja.html


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
    assert '<html lang="ja">' in ja.html and "新着記事" in ja.html and "情報源の状態" in ja.html
    assert '<html lang="en">' in en.html and "New articles" in en.html


def test_a_week_in_progress_is_marked_as_such(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    built = build(engine, tmp_path, language="en", week="2026-W49")
    assert not built.is_complete
    assert built.subject.endswith("(in progress)")
    assert "This week is not over yet" in built.html


def test_stories_beyond_the_budget_link_to_the_archive_page() -> None:
    stories = [single(candidate(i, f"Budget story number {i} on {topic}",
                                tags=(("funding", float(i)),)))
               for i, topic in enumerate(["ports", "visas", "schools"], start=1)]
    ranked = rank_digest(
        stories, THEMES, period="2026-W48", language="en", start=MONDAY,
        end=MONDAY + timedelta(days=7), now=NOW, max_per_theme=1, previous_counts={},
        previous_article_count=0, health=[], silent_after=timedelta(days=14),
    )
    settings = settings_for(max_per_theme=1).digest
    rendered = render_digest(ranked, settings, tz=UTC, now=NOW)
    assert ('href="https://digest.example.org/archive/2026-W48.en.html#more-funding"'
            in rendered.html)
    assert "Budget story number 1" not in rendered.html
    assert 'id="more-funding"' in rendered.archive_html
    assert "Budget story number 1" in rendered.archive_html


def test_a_huge_week_keeps_the_mail_under_the_budget_and_the_archive_whole() -> None:
    words = ["ports", "visas", "schools", "clinics", "budgets", "courts", "camps", "towns"]
    stories = [
        single(candidate(i, f"{words[i % 8]} report {i} " + "long headline text " * 6,
                         summary="A summary that runs on for a while. " * 8,
                         tags=((THEMES[i % len(THEMES)].id, 5.0),)))
        for i in range(1, 600)
    ]
    ranked = rank_digest(
        stories, THEMES, period="2026-W48", language="en", start=MONDAY,
        end=MONDAY + timedelta(days=7), now=NOW, max_per_theme=30, previous_counts={},
        previous_article_count=0, health=[], silent_after=timedelta(days=14),
    )
    rendered = render_digest(ranked, settings_for(max_per_theme=30).digest, tz=UTC, now=NOW)
    assert len(rendered.html.encode()) < MAIL_BUDGET_BYTES
    assert 'id="source-health"' in rendered.html or 'id="health"' in rendered.html
    assert rendered.archive_html.count('<td id="event-') == 599


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
