"""The digest's interface text in Japanese and English: one small catalogue.

Messages are ``str.format`` templates; :func:`translate` falls back to English for a
language that is not in the catalogue, and to the key itself for a missing message (so a
gap shows in review instead of crashing a Monday run).
"""

from __future__ import annotations

from datetime import datetime

CATALOGUE: dict[str, dict[str, str]] = {
    "weekly_digest": {"ja": "週間ダイジェスト", "en": "Weekly digest"},
    "subject": {
        "ja": "[{title}] {period} 週間ダイジェスト: 新着{articles}件・{stories}ストーリー",
        "en": "[{title}] Weekly digest {period}: {articles} new articles, {stories} stories",
    },
    "in_progress": {"ja": "(途中経過)", "en": "(in progress)"},
    "in_progress_note": {
        "ja": "この週はまだ終わっていません。{now}時点の内容です。",
        "en": "This week is not over yet; this is the state at {now}.",
    },
    "period_range": {"ja": "{start} 〜 {end}", "en": "{start} to {end}"},
    "summary": {"ja": "今週の数字", "en": "This week in numbers"},
    "new_articles": {"ja": "新着記事", "en": "New articles"},
    "stories": {"ja": "ストーリー", "en": "Stories"},
    "sources": {"ja": "情報源", "en": "Sources"},
    "previous_week": {"ja": "前週 {count}", "en": "last week {count}"},
    "theme_counts": {"ja": "テーマ別の記事数(前週比)", "en": "Articles per theme (vs last week)"},
    "this_week": {"ja": "今週", "en": "this week"},
    "last_week": {"ja": "前週", "en": "last week"},
    "no_stories": {
        "ja": "この週に該当する記事はありませんでした。",
        "en": "No articles matched any theme this week.",
    },
    "outlets": {"ja": "掲載", "en": "Outlets"},
    "outlet_count": {"ja": "{count}媒体", "en": "{count} outlets"},
    "outlet_count_one": {"ja": "1媒体", "en": "1 outlet"},
    "why": {"ja": "選定理由", "en": "Why"},
    "matched_terms": {"ja": "一致した語: {terms}", "en": "matched: {terms}"},
    "also_in": {"ja": "他のテーマ: {themes}", "en": "also in: {themes}"},
    "mentions": {"ja": "このテーマにも関連", "en": "Also relevant here"},
    "shown_in": {"ja": "→ {theme}", "en": "→ {theme}"},
    "more": {"ja": "ほか{count}件", "en": "+{count} more"},
    "more_in_archive": {
        "ja": "ほか{count}件(アーカイブに掲載)",
        "en": "+{count} more in the archive",
    },
    "more_heading": {"ja": "ほか{count}件", "en": "{count} more"},
    "health": {"ja": "情報源の状態", "en": "Source health"},
    "health_ok": {
        "ja": "すべての情報源が正常に動いています。",
        "en": "All sources are working.",
    },
    "failing": {"ja": "エラーが続いている情報源", "en": "Failing sources"},
    "failures": {"ja": "連続失敗 {count}回", "en": "{count} failures in a row"},
    "paused": {"ja": "一時停止中", "en": "paused"},
    "silent": {"ja": "{days}日以上新着のない情報源", "en": "Silent for more than {days} days"},
    "last_new": {"ja": "最後の新着 {date}", "en": "last new article {date}"},
    "never": {"ja": "新着なし", "en": "never"},
    "untitled": {"ja": "(無題)", "en": "(untitled)"},
    "language": {"ja": "言語", "en": "Language"},
    "footer": {
        "ja": "{title} が自動で作成しました。アーカイブ: {archive}",
        "en": "Made automatically by {title}. Archive: {archive}",
    },
    "footer_plain": {
        "ja": "{title} が自動で作成しました。",
        "en": "Made automatically by {title}.",
    },
    "archive": {"ja": "アーカイブ", "en": "Archive"},
    "index_title": {"ja": "{title} ダイジェスト一覧", "en": "{title} digest archive"},
    "index_empty": {"ja": "まだ号はありません。", "en": "No issues yet."},
    "feed": {"ja": "Atomフィード", "en": "Atom feed"},
}

_LANGUAGE_NAMES = {
    "ja": {"ja": "日本語", "en": "英語"},
    "en": {"ja": "Japanese", "en": "English"},
}


def translate(lang: str, key: str, **values: object) -> str:
    """The message ``key`` in ``lang``, formatted with ``values``."""
    if values.get("count") == 1 and f"{key}_one" in CATALOGUE:
        key = f"{key}_one"
    entry = CATALOGUE.get(key)
    if entry is None:
        return key
    template = entry.get(lang) or entry["en"]
    return template.format(**values)


def language_name(code: str | None, lang: str) -> str:
    """A human name for a content language code, in the digest's language."""
    if not code:
        return "?"
    names = _LANGUAGE_NAMES.get(lang, _LANGUAGE_NAMES["en"])
    return names.get(code.split("-")[0].lower(), code)


def format_date(moment: datetime, lang: str) -> str:
    """A date as readers of ``lang`` write it (``2026年11月23日`` / ``23 Nov 2026``)."""
    if lang == "ja":
        return f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{moment.day} {moment:%b} {moment.year}"


def format_short_date(moment: datetime, lang: str) -> str:
    """A date without the year (``11/23`` / ``23 Nov``)."""
    if lang == "ja":
        return f"{moment.month}/{moment.day}"
    return f"{moment.day} {moment:%b}"
