"""Edit the user's ``sources.yaml`` without disturbing anything the user wrote.

Contract: every edit is made on the text, line by line, at positions that ruamel's
round-trip loader reports, so comments, blank lines, quoting and the order of the file
stay byte for byte as they were outside the lines that change.  New entries are rendered
by ruamel in block style with the indentation the list already uses (flow-style
``categories: [...]`` when the file writes them so).  :func:`save_sources_text` loads the
new text with :func:`config.loader.load_sources` and compares it with the sources the
caller expects; a file that would not load, or that would differ in anything else, is
never written.  The write is atomic (temporary file in the same folder, ``os.replace``).

A comment block directly above an entry (no blank line between) belongs to that entry and
goes with it on ``remove``; a comment separated by a blank line (a section heading) stays.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from config.errors import ConfigError
from config.loader import SOURCES_FILE, load_sources, yaml_problem
from config.schema import SourceConfig
from crawler.urls import canonicalize_url, url_domain

NEW_FILE_TEXT = (
    "# Sources watched by migwatch. Edit by hand or with `migwatch sources add|remove`;\n"
    "# see docs/sources.md.\n"
    "sources: []\n"
)
_SOURCES_LINE = re.compile(r"^sources:\s*(\[\s*\]|null|~)?\s*(#.*)?$")
_KEY_CHARS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Layout:
    """How the list is indented and quoted, learnt from the file."""

    offset: int = 2  # columns before the dash
    sequence: int = 4  # columns before an entry's keys
    mapping: int = 2  # indentation of nested blocks such as ``listing:``
    flow_categories: bool = True
    url_quote: str = '"'  # '"', "'" or '' for plain
    quote: str = '"'  # quote used when a value needs one
    blank_between: bool = True


@dataclass(frozen=True)
class _Span:
    key: str
    first: int  # first line owned (attached comments included), 0-based
    dash: int  # line of the "-"
    last: int  # last line owned


def _load(text: str, *, quotes: bool = False) -> Any:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = quotes
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        line, words = yaml_problem(text, exc)
        raise ConfigError(f"{SOURCES_FILE}:{line}: {words}; fix it first") from exc
    except YAMLError as exc:
        raise ConfigError(f"{SOURCES_FILE}: cannot be read as YAML; fix it first") from exc


def _entries(root: Any) -> CommentedSeq | None:
    entries = root.get("sources") if isinstance(root, CommentedMap) else None
    return entries if isinstance(entries, CommentedSeq) else None


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _spans(lines: list[str], seq: CommentedSeq) -> list[_Span]:
    dashes = []
    for index in range(len(seq)):
        line = seq.lc.item(index)[0]
        while line > 0 and not lines[line].lstrip().startswith("-"):
            line -= 1
        dashes.append(line)
    spans: list[_Span] = []
    previous_last = _sources_line(lines)
    for index, dash in enumerate(dashes):
        end = dashes[index + 1] - 1 if index + 1 < len(dashes) else len(lines) - 1
        while end > dash and _is_comment_or_blank(lines[end]):
            end -= 1
        column = _indent(lines[dash])
        # Comments indented deeper than the dash, right under the entry, are its own.
        while end + 1 < len(lines) and lines[end + 1].strip().startswith("#") and (
            _indent(lines[end + 1]) > column
        ):
            end += 1
        first = dash
        while first - 1 > previous_last and lines[first - 1].strip().startswith("#"):
            first -= 1
        item = seq[index]
        key = str(item.get("key", "")) if isinstance(item, Mapping) else ""
        spans.append(_Span(key=key, first=first, dash=dash, last=end))
        previous_last = end
    return spans


def _sources_line(lines: list[str]) -> int:
    for number, line in enumerate(lines):
        if line.startswith("sources:"):
            return number
    return -1


def _split(text: str) -> tuple[list[str], str]:
    newline = "\r\n" if "\r\n" in text else "\n"
    return text.splitlines(), newline


def _join(lines: list[str], newline: str) -> str:
    return newline.join(lines) + newline


def detect_layout(text: str) -> Layout:
    """Learn indentation, quoting and spacing from the entries already in the file."""
    lines, _ = _split(text)
    seq = _entries(_load(text, quotes=True))
    if seq is None or not seq:
        return Layout()
    spans = _spans(lines, seq)
    dash_line = lines[spans[0].dash]
    offset = _indent(dash_line)
    sequence = seq.lc.item(0)[1]
    mapping = 2
    url_styles: Counter[str] = Counter()
    quotes: Counter[str] = Counter()
    flow_categories = True
    for item in seq:
        if not isinstance(item, CommentedMap):
            continue
        for value in item.values():
            if isinstance(value, DoubleQuotedScalarString | SingleQuotedScalarString):
                quotes['"' if isinstance(value, DoubleQuotedScalarString) else "'"] += 1
        url = item.get("url")
        url_styles['"' if isinstance(url, DoubleQuotedScalarString) else
                   "'" if isinstance(url, SingleQuotedScalarString) else ""] += 1
        categories = item.get("categories")
        if isinstance(categories, CommentedSeq) and categories:
            flow_categories = bool(categories.fa.flow_style())
        listing = item.get("listing")
        if isinstance(listing, CommentedMap) and listing:
            mapping = listing.lc.key(next(iter(listing)))[1] - item.lc.key("listing")[1]
    blanks = [not lines[s.first - 1].strip() for s in spans[1:] if s.first > 0]
    return Layout(
        offset=offset,
        sequence=sequence,
        mapping=max(mapping, 1),
        flow_categories=flow_categories,
        url_quote=url_styles.most_common(1)[0][0] if url_styles else '"',
        quote=quotes.most_common(1)[0][0] if quotes else '"',
        blank_between=sum(blanks) * 2 >= len(blanks) if blanks else True,
    )


def _needs_quotes(value: str) -> bool:
    out = io.StringIO()
    YAML().dump(value, out)
    return out.getvalue()[:1] in ("'", '"')


def _styled(value: str, quote: str) -> Any:
    if quote == '"':
        return DoubleQuotedScalarString(value)
    if quote == "'":
        return SingleQuotedScalarString(value)
    return value


def render_entries(entries: Sequence[Mapping[str, Any]], layout: Layout) -> list[str]:
    """The lines of new entries, in block style, indented like the file's list."""
    items = []
    for entry in entries:
        node = CommentedMap()
        for name, value in entry.items():
            if name == "url" and isinstance(value, str):
                node[name] = _styled(value, layout.url_quote)
            elif isinstance(value, str):
                node[name] = _styled(value, layout.quote) if _needs_quotes(value) else value
            elif isinstance(value, list):
                seq = CommentedSeq(value)
                if layout.flow_categories:
                    seq.fa.set_flow_style()
                node[name] = seq
            else:
                node[name] = value
        items.append(node)
    yaml = YAML(typ="rt")
    yaml.indent(mapping=layout.mapping, sequence=layout.sequence, offset=layout.offset)
    yaml.width = 4096  # never fold a long URL or note onto a second line
    out = io.StringIO()
    yaml.dump({"sources": items}, out)
    rendered = out.getvalue().splitlines()[1:]
    if not layout.blank_between:
        return rendered
    starts = [i for i, line in enumerate(rendered) if line.lstrip().startswith("- ")]
    for index in reversed(starts[1:]):
        rendered.insert(index, "")
    return rendered


def append_entries(text: str, entries: Sequence[Mapping[str, Any]]) -> str:
    """``text`` with ``entries`` added at the end of the list."""
    lines, newline = _split(text)
    layout = detect_layout(text)
    new_lines = render_entries(entries, layout)
    seq = _entries(_load(text))
    if seq:
        last = _spans(lines, seq)[-1].last
        block = ([""] if layout.blank_between else []) + new_lines
        return _join(lines[: last + 1] + block + lines[last + 1 :], newline)
    at = _sources_line(lines)
    if at < 0:
        return _join([*lines, "sources:", *new_lines], newline)
    match = _SOURCES_LINE.match(lines[at])
    if match is None:
        raise ConfigError(f"{SOURCES_FILE}: line {at + 1}: 'sources:' must start a list")
    comment = f"  {match.group(2)}" if match.group(2) else ""
    return _join([*lines[:at], "sources:" + comment, *new_lines, *lines[at + 1 :]], newline)


def _span_of(lines: list[str], seq: CommentedSeq | None, key: str) -> _Span:
    for span in _spans(lines, seq) if seq else []:
        if span.key == key:
            return span
    raise ConfigError(f"no source with key {key!r} in {SOURCES_FILE}; see `migwatch sources list`")


def remove_entry(text: str, key: str) -> str:
    """``text`` without the entry ``key`` and the comment directly above it."""
    lines, newline = _split(text)
    seq = _entries(_load(text))
    span = _span_of(lines, seq, key)
    before = lines[: span.first]
    after = lines[span.last + 1 :]
    if after and not after[0].strip() and (not before or not before[-1].strip()):
        after = after[1:]  # two blank lines would meet where the entry was
    if seq is not None and len(seq) == 1:
        at = _sources_line(before)
        comment = lines[at].partition("#")[2]
        before[at] = "sources: []" + (f"  #{comment}" if comment else "")
    return _join(before + after, newline)


def set_enabled(text: str, key: str, enabled: bool) -> str:
    """``text`` with ``enabled:`` of entry ``key`` set (the line is added if absent)."""
    lines, newline = _split(text)
    seq = _entries(_load(text))
    _span_of(lines, seq, key)
    assert seq is not None
    item = next(i for i in seq if isinstance(i, CommentedMap) and str(i.get("key")) == key)
    word = "true" if enabled else "false"
    if "enabled" in item:
        line, column = item.lc.value("enabled")
        old = lines[line]
        token = re.match(r"[^\s#,}]+", old[column:])
        width = token.end() if token else 0
        lines[line] = old[:column] + word + old[column + width :]
        return _join(lines, newline)
    names = list(item)
    for name in ("url", "kind", "key"):
        if name not in names or names.index(name) + 1 >= len(names):
            continue
        line, column = item.lc.key(name)
        following = item.lc.key(names[names.index(name) + 1])[0]
        if following == line + 1:  # a one-line value: the new key fits right under it
            lines.insert(line + 1, " " * column + f"enabled: {word}")
            return _join(lines, newline)
    raise ConfigError(f"cannot place 'enabled:' in source {key!r}; add it by hand")


def read_sources_text(path: Path) -> str:
    """The text of ``sources.yaml``, or a starter text if the file does not exist yet."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return NEW_FILE_TEXT
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as UTF-8 text: {exc}") from exc


def check_sources_text(text: str, path: Path) -> list[SourceConfig]:
    """Load ``text`` exactly as ``migwatch`` would load ``path``; raise ConfigError."""
    with tempfile.TemporaryDirectory(prefix="migwatch-check-") as folder:
        (Path(folder) / SOURCES_FILE).write_bytes(text.encode("utf-8"))
        try:
            return load_sources(Path(folder))
        except ConfigError as exc:
            problems = [p.replace(str(Path(folder) / SOURCES_FILE), str(path))
                        for p in exc.problems]
            raise ConfigError(problems[0], problems) from exc


def save_sources_text(path: Path, text: str, expected: Sequence[SourceConfig]) -> None:
    """Write ``text`` atomically if it loads and holds exactly ``expected``."""
    loaded = check_sources_text(text, path)
    if [s.model_dump() for s in loaded] != [s.model_dump() for s in expected]:
        raise ConfigError(f"{path}: the edit would change more than intended; "
                          "file left as it was, edit it by hand")
    write_config_file(path, text)


def write_config_file(path: Path, text: str) -> None:
    """Replace a user's YAML file by ``text`` atomically, keeping the file's mode."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the rename makes them live
        temporary.chmod(mode)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def derive_key(url: str, title: str, taken: set[str]) -> str:
    """A key from the title's Latin words (else the host), unique among ``taken``."""
    words = _KEY_CHARS.sub(" ", title.lower()).split()
    base = ""
    for word in words:
        if len(base) + len(word) + 1 > 40:
            break
        base = f"{base}-{word}" if base else word
    if len(base) < 3:
        base = _KEY_CHARS.sub("-", url_domain(url)).strip("-")[:40] or "source"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}-{number}", number + 1
    return key


def find_by_url(url: str, sources: Sequence[SourceConfig]) -> SourceConfig | None:
    """The source whose address is ``url`` once both are canonical, if any."""
    wanted = canonicalize_url(url) or url
    for source in sources:
        if (canonicalize_url(source.url) or source.url) == wanted:
            return source
    return None
