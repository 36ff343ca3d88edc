"""The archive folder: each issue's HTML and text, an index page and an Atom feed.

Layout of ``digest.archive_dir`` (or ``--out``)::

    2026-W48.ja.html   the issue page (every story, "+N more" expanded)
    2026-W48.ja.txt    the plain-text body, as mailed
    2026-W48.ja.json   what the index and the feed need to know about the issue
    index.html         every issue, newest first
    feed.atom          the newest issues (digest.feed_entries), one entry per issue and
                       language, id tag:migwatch,2026:digest/<week>/<lang>

Every file is written to a temporary file in the same folder and moved into place with
``os.replace``, so a reader or a crash never sees half a file.  The index and the feed are
rebuilt from the ``.json`` files on every write, so they always list what is on disk; the
feed is cut to the newest weeks because each entry carries a whole issue page.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from config.errors import DeliveryError
from db.times import as_utc
from digest.i18n import translate
from digest.render import digest_title, environment, issue_filename, public_url
from digest.sanitize import plain_text

FEED_ID = "tag:migwatch,2026:digest"
_META = re.compile(r"^(\d{4}-W\d{2})\.([a-z]{2})\.json$")


@dataclass(frozen=True)
class IssueMeta:
    """The facts about one archived issue, kept beside it as JSON."""

    period: str
    language: str
    subject: str
    built_at: str  # ISO 8601, UTC
    is_complete: bool
    article_count: int
    story_count: int


def entry_id(period: str, language: str) -> str:
    """The stable Atom id of an issue."""
    return f"{FEED_ID}/{period}/{language}"


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` through a temporary file and an atomic rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
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
    out_dir: Path, meta: IssueMeta, *, archive_html: str, text: str
) -> tuple[Path, Path]:
    """Write one issue's page, text and metadata; return the page and text paths."""
    html_path = out_dir / issue_filename(meta.period, meta.language, "html")
    text_path = out_dir / issue_filename(meta.period, meta.language, "txt")
    write_atomically(html_path, archive_html)
    write_atomically(text_path, text)
    write_atomically(
        out_dir / issue_filename(meta.period, meta.language, "json"),
        json.dumps(asdict(meta), ensure_ascii=False, indent=2) + "\n",
    )
    return html_path, text_path


def read_issues(out_dir: Path) -> list[IssueMeta]:
    """Every issue in the folder, newest week first (Japanese before English)."""
    issues = []
    for path in out_dir.glob("*.json"):
        if not _META.match(path.name):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            issues.append(IssueMeta(**data))
        except (OSError, ValueError, TypeError):
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
        t=lambda key, **values: translate(language, key, **values),
        title=digest_title(title),
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


def write_feed(
    out_dir: Path, issues: list[IssueMeta], *, title: str, base_url: str, language: str,
    max_entries: int,
) -> Path:
    """Rebuild ``feed.atom`` (RFC 4287): the first ``max_entries`` issues, full page as content.

    ``issues`` come newest week first (``read_issues``); an issue whose page is missing is
    skipped and does not take a place.  An entry's id depends only on its week and language,
    so an entry keeps its id while it is in the feed and when it is rebuilt.
    """
    entries: list[dict[str, str]] = []
    for meta in issues:
        if len(entries) >= max_entries:
            break
        page = out_dir / issue_filename(meta.period, meta.language, "html")
        try:
            content = page.read_text(encoding="utf-8")
        except OSError:
            continue
        entries.append(
            {
                "id": entry_id(meta.period, meta.language),
                "language": meta.language,
                "title": plain_text(meta.subject),
                "updated": meta.built_at,
                "href": _href(base_url, page.name),
                "content": content,
            }
        )
    updated = max((e["updated"] for e in entries), default=atom_time(datetime(1970, 1, 1)))
    feed = environment().get_template("feed.atom").render(
        feed_id=FEED_ID,
        lang=language,
        title=digest_title(title),
        updated=updated,
        self_href=_href(base_url, "feed.atom") if base_url else None,
        index_href=_href(base_url, "index.html"),
        entries=entries,
    )
    path = out_dir / "feed.atom"
    write_atomically(path, feed)
    return path


def atom_time(moment: datetime) -> str:
    """An RFC 3339 UTC timestamp as Atom wants it."""
    return as_utc(moment).replace(microsecond=0).isoformat().replace("+00:00", "Z")
