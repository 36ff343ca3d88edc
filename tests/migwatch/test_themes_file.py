"""Adding examples to the user's themes.yaml: one line in, every other byte kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.loader import DEFAULTS_DIR, THEMES_FILE
from config.themes import load_themes
from migwatch.themes_file import add_example, insert_example, user_themes_path

SMALL = """\
# my themes
themes:
  - id: aid
    label: {ja: 援助, en: Aid}
    description: {ja: 援助の話題, en: Aid news}
    terms: [援助, aid cuts]
    # a comment that must stay

  - id: forums
    label: {ja: 会議, en: Forums}
    description: {ja: 会議の話題, en: Forum news}
    terms: [GFMD]
    examples:
      match:
        - "GFMD opened in Geneva."   # kept with its comment
"""


def _diff(old: str, new: str) -> list[str]:
    """The added lines, in order; every old line must still be there, in its order."""
    new_lines = new.splitlines()
    position = 0
    added = []
    for line in old.splitlines():
        while new_lines[position] != line:
            added.append(new_lines[position])
            position += 1
        position += 1
    return added + new_lines[position:]


def test_an_example_is_one_new_line_in_the_shipped_file(tmp_path: Path) -> None:
    path = tmp_path / THEMES_FILE
    shutil.copyfile(DEFAULTS_DIR / THEMES_FILE, path)
    before = path.read_text(encoding="utf-8")
    example = 'IOMは「移住」の報告書を出した。 "quoted" text'
    assert add_example(path, "iom", "match", example)
    after = path.read_text(encoding="utf-8")
    assert _diff(before, after) == ['        - "IOMは「移住」の報告書を出した。 \\"quoted\\" text"']
    assert example in load_themes(path).theme("iom").examples.match
    assert not add_example(path, "iom", "match", example)  # already there: nothing written
    assert path.read_text(encoding="utf-8") == after


def test_a_theme_without_examples_gets_the_keys_and_keeps_its_comment() -> None:
    new = insert_example(SMALL, "aid", "no_match", "Aid workers' strike ends")
    assert _diff(SMALL, new) == ["    examples:", "      no_match:",
                                 '        - "Aid workers\' strike ends"']
    assert new.index("no_match") < new.index("# a comment that must stay")
    other = insert_example(SMALL, "forums", "no_match", "World Economic Forum")
    assert _diff(SMALL, other) == ["      no_match:", '        - "World Economic Forum"']


def test_an_unknown_theme_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no theme with id 'nope'"):
        insert_example(SMALL, "nope", "match", "x")


def test_the_users_file_is_created_from_the_shipped_one(tmp_path: Path) -> None:
    path = user_themes_path(tmp_path / "config")
    assert path.read_bytes() == (DEFAULTS_DIR / THEMES_FILE).read_bytes()
