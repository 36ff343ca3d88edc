"""Add an example to a theme in the user's ``themes.yaml`` without disturbing the rest.

Contract: :func:`add_example` inserts one line (and, when the theme has none yet, the
``examples:`` / ``match:`` / ``no_match:`` keys above it) at the positions ruamel's
round-trip loader reports; every other byte of the file, comments and line breaks
included, stays as it was.  The new text is validated with :func:`config.themes.load_themes`
before it replaces the file (atomically); a text that would not load is never written.
When the configuration directory has no ``themes.yaml`` yet, the shipped one is copied
there first, so the user's edits always land in the user's file.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from config.errors import ConfigError
from config.loader import DEFAULTS_DIR, THEMES_FILE
from config.themes import load_themes
from migwatch.sources_file import write_config_file

ExampleKind = Literal["match", "no_match"]


def user_themes_path(config_dir: Path) -> Path:
    """The user's ``themes.yaml``, copied from the shipped one if there is none yet."""
    path = config_dir / THEMES_FILE
    if not path.exists():
        config_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes((DEFAULTS_DIR / THEMES_FILE).read_bytes())
    return path


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """The index after the last line of the block that starts at ``start`` (comments and
    blank lines at its end left outside)."""
    end = start + 1
    last = start
    while end < len(lines):
        stripped = lines[end].strip()
        if stripped and not stripped.startswith("#"):
            if _indent(lines[end]) <= indent:
                break
            last = end
        end += 1
    return last + 1


def _find_theme(root: Any, theme_id: str) -> CommentedMap:
    themes = root.get("themes") if isinstance(root, CommentedMap) else None
    if isinstance(themes, CommentedSeq):
        for item in themes:
            if isinstance(item, CommentedMap) and item.get("id") == theme_id:
                return item
    raise ConfigError(f"no theme with id {theme_id!r} in themes.yaml")


def insert_example(text: str, theme_id: str, kind: ExampleKind, example: str) -> str:
    """``text`` with ``example`` added to the theme's ``examples.<kind>`` list."""
    try:
        root = YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise ConfigError(f"themes.yaml cannot be read: {exc}") from exc
    theme = _find_theme(root, theme_id)
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if text.endswith("\r\n") else "\n"
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    quoted = json.dumps(example, ensure_ascii=False)  # a JSON string is a YAML scalar
    key_col = theme.lc.key("id")[1]
    examples = theme.get("examples")
    if isinstance(examples, CommentedMap):
        items = examples.get(kind)
        if isinstance(items, CommentedSeq) and len(items) and not items.fa.flow_style():
            line, col = items.lc.item(len(items) - 1)
            at = _block_end(lines, line, col - 2)
            new = [f"{' ' * (col - 2)}- {quoted}{newline}"]
        elif items is None or (isinstance(items, CommentedSeq) and not len(items)):
            sub_col = examples.lc.key(next(iter(examples)))[1] if examples else key_col + 2
            ex_line = theme.lc.key("examples")[0]
            at = _block_end(lines, ex_line, key_col)
            if items is not None:  # `kind: []`: replace that line
                at = examples.lc.key(kind)[0]
                del lines[at]
            new = [f"{' ' * sub_col}{kind}:{newline}", f"{' ' * (sub_col + 2)}- {quoted}{newline}"]
        else:
            raise ConfigError(f"themes.yaml: theme {theme_id}: examples.{kind} is written "
                              "as [..]; write it as a list of '- ' lines to add examples here")
    elif examples is None:
        first_key = next(iter(theme))
        start = theme.lc.key(first_key)[0]
        at = _block_end(lines, start, key_col - 2)
        new = [f"{' ' * key_col}examples:{newline}", f"{' ' * (key_col + 2)}{kind}:{newline}",
               f"{' ' * (key_col + 4)}- {quoted}{newline}"]
    else:
        raise ConfigError(f"themes.yaml: theme {theme_id}: examples must be a mapping")
    lines[at:at] = new
    return "".join(lines)


def add_example(path: Path, theme_id: str, kind: ExampleKind, example: str) -> bool:
    """Add ``example`` to ``theme_id``'s ``kind`` examples in ``path``; False if it was there."""
    text = path.read_text(encoding="utf-8")
    current = load_themes(path).theme(theme_id).examples
    if example in (current.match if kind == "match" else current.no_match):
        return False
    new_text = insert_example(text, theme_id, kind, example)
    with tempfile.TemporaryDirectory(prefix="migwatch-themes-") as folder:
        check = Path(folder) / THEMES_FILE
        check.write_text(new_text, encoding="utf-8")
        examples = load_themes(check).theme(theme_id).examples
        if example not in (examples.match if kind == "match" else examples.no_match):
            raise ConfigError(f"{path}: the example could not be placed; file left as it was")
    write_config_file(path, new_text)
    return True
