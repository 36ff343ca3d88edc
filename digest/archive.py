"""The archive folder: each issue's HTML, text and JSON, an index page and a feed per language.

Layout of ``digest.archive_dir`` (or ``--out``)::

    2026-W48.ja.html   the issue page (every event, "+N more" expanded)
    2026-W48.ja.txt    the plain-text body, as mailed
    2026-W48.ja.json   the machine-readable issue (digest.document, docs/digest.md)
    index.html         every issue, newest first
    feed.ja.atom       the newest finished Japanese issues (digest.feed_entries), one entry
    feed.en.atom       per week, id tag:migwatch,2026:digest/<week>/<lang>

Every file is written to a temporary file in the same folder and moved into place with
``os.replace``, so a reader or a crash never sees half a file; it ends up readable as the
umask allows (0644 by default), since a web server in front of the archive must read it.
The index and the feeds are rebuilt from the ``.json`` files on every write, so they
always list what is on disk.  A feed holds finished weeks only: an in-progress preview is
never an entry, so a feed reader sees each week once, in its final form.  An entry's
content is a slim page made from the JSON (headings and links, no mail chrome).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from config.errors import DeliveryError
from config.i18n import LANGUAGES, gettext
from db.times import as_utc
from digest.render import digest_title, environment, issue_filename, public_url
from digest.sanitize import plain_text, safe_url

FEED_ID = "tag:migwatch,2026:digest"
_META = re.compile(r"^(\d{4}-W\d{2})\.([a-z]{2})\.json$")


def _current_umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_current_umask()


@dataclass(frozen=True)
class IssueMeta:
    """What the index and the feeds need to know about one archived issue."""

    period: str
    language: str
    subject: str
    built_at: str  # ISO 8601, UTC
    is_complete: bool
    article_count: int
    story_count: int
    is_empty: bool = False


def entry_id(period: str, language: str) -> str:
    """The stable Atom id of a finished issue."""
    return f"{FEED_ID}/{period}/{language}"


def feed_filename(language: str) -> str:
    """``feed.ja.atom`` / ``feed.en.atom``."""
    return f"feed.{language}.atom"


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` through a temporary file and an atomic rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            # mkstemp makes the file 0600; the archive is meant to be served
            os.fchmod(handle, FILE_MODE)
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(content)
                stream.flush()
                os.fsync(stream.fileno())
            Path(temp).replace(path)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(temp).unlink()
            raise
    except OSError as exc:
        raise DeliveryError(
            f"cannot write {path}: {exc.strerror or exc}; check digest.archive_dir / --out"
        ) from exc


def write_issue(
    out_dir: Path, document: dict[str, Any], *, archive_html: str, text: str
) -> tuple[Path, Path, Path]:
    """Write one issue's page, text and JSON; return their paths."""
    period, language = document["period"], document["language"]
    html_path = out_dir / issue_filename(period, language, "html")
    text_path = out_dir / issue_filename(period, language, "txt")
    json_path = out_dir / issue_filename(period, language, "json")
    write_atomically(html_path, archive_html)
    write_atomically(text_path, text)
    write_atomically(json_path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    return html_path, text_path, json_path


def _meta(data: Any) -> IssueMeta:
    if not isinstance(data, dict):
        raise TypeError("not an issue")
    return IssueMeta(
        period=str(data["period"]), language=str(data["language"]),
        subject=str(data["subject"]), built_at=str(data["built_at"]),
        is_complete=bool(data["is_complete"]), article_count=int(data["article_count"]),
        story_count=int(data["story_count"]), is_empty=bool(data.get("is_empty", False)),
    )


def read_document(out_dir: Path, meta: IssueMeta) -> dict[str, Any] | None:
    """The machine-readable issue behind ``meta``; None when it is not one (an old file)."""
    path = out_dir / issue_filename(meta.period, meta.language, "json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") else None


def read_issues(out_dir: Path) -> list[IssueMeta]:
    """Every issue in the folder, newest week first (Japanese before English)."""
    issues = []
    for path in out_dir.glob("*.json"):
        if not _META.match(path.name):
            continue
        try:
            issues.append(_meta(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError, KeyError):
            # a foreign or damaged file does not take the whole archive down
            continue
    issues.sort(key=lambda m: (m.period, m.language == "ja"), reverse=True)
    return issues


def _href(base_url: str, name: str) -> str:
    return public_url(base_url, name) or name


def write_index(out_dir: Path, issues: list[IssueMeta], *, title: str, language: str) -> Path:
    """Rebuild ``index.html``."""
    page = environment().get_template("index.html").render(
        lang=language,
        t=lambda message, **values: gettext(language, message, **values),
        title=digest_title(title),
        feeds=[
            {"href": feed_filename(code),
             "language": gettext(language, {"ja": "Japanese", "en": "English"}[code])}
            for code in LANGUAGES
            if any(m.language == code for m in issues)
        ],
        issues=[
            {
                "href": issue_filename(m.period, m.language, "html"),
                "period": m.period,
                "language": m.language,
                "subject": plain_text(m.subject),
            }
            for m in issues
        ],
    )
    path = out_dir / "index.html"
    write_atomically(path, page)
    return path


def entry_content(document: dict[str, Any]) -> str:
    """The slim HTML of a feed entry: the highlights and each theme's events, as links."""
    lang = str(document.get("language", "en"))
    events = {e["id"]: e for e in document.get("events", []) if isinstance(e, dict)}

    def view(event_id: str) -> dict[str, Any] | None:
        event = events.get(event_id)
        if event is None:
            return None
        return {
            "title": plain_text(event.get("title")) or gettext(lang, "(untitled)"),
            "href": safe_url(event.get("url")),
            "outlets": gettext(lang, ", ").join(
                plain_text(o.get("name")) for o in event.get("outlets", [])
            ),
        }

    themes = [
        {"label": plain_text(theme.get("label")),
         "events": [v for v in map(view, theme.get("events", [])) if v]}
        for theme in document.get("themes", [])
    ]
    return environment().get_template("feed_entry.html").render(
        t=lambda message, **values: gettext(lang, message, **values),
        highlights=[v for v in map(view, document.get("highlights", [])) if v],
        themes=[theme for theme in themes if theme["events"]],
        page_href=document.get("url"),
    )


def write_feeds(
    out_dir: Path, issues: list[IssueMeta], *, title: str, base_url: str, max_entries: int,
    languages: tuple[str, ...] = LANGUAGES,
) -> dict[str, Path]:
    """Rebuild ``feed.<lang>.atom`` (RFC 4287) for each language; return their paths."""
    return {
        lang: write_feed(out_dir, issues, title=title, base_url=base_url, language=lang,
                         max_entries=max_entries)
        for lang in languages
    }


def write_feed(
    out_dir: Path, issues: list[IssueMeta], *, title: str, base_url: str, language: str,
    max_entries: int,
) -> Path:
    """Rebuild ``feed.<language>.atom``: its newest ``max_entries`` finished issues.

    ``issues`` come newest week first (``read_issues``).  An issue in progress, an empty
    week, and an issue whose page is missing are not entries and take no place.
    """
    entries: list[dict[str, str]] = []
    for meta in issues:
        if len(entries) >= max_entries:
            break
        if meta.language != language or not meta.is_complete or meta.is_empty:
            continue
        page = out_dir / issue_filename(meta.period, meta.language, "html")
        if not page.is_file():
            continue
        document = read_document(out_dir, meta)
        entries.append(
            {
                "id": entry_id(meta.period, meta.language),
                "language": meta.language,
                "title": plain_text(meta.subject),
                "updated": meta.built_at,
                "href": _href(base_url, page.name),
                "content": entry_content(document) if document else "",
            }
        )
    updated = max((e["updated"] for e in entries), default=atom_time(datetime(1970, 1, 1)))
    name = feed_filename(language)
    feed = environment().get_template("feed.atom").render(
        feed_id=f"{FEED_ID}/{language}",
        lang=language,
        title=f"{digest_title(title)} ({gettext(language, 'Weekly digest')})",
        updated=updated,
        self_href=_href(base_url, name) if base_url else None,
        index_href=_href(base_url, "index.html"),
        entries=entries,
    )
    path = out_dir / name
    write_atomically(path, feed)
    return path


def atom_time(moment: datetime) -> str:
    """An RFC 3339 UTC timestamp as Atom wants it."""
    return as_utc(moment).replace(microsecond=0).isoformat().replace("+00:00", "Z")
