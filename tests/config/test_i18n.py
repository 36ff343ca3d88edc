"""The shared message catalogue: Japanese from the .po file, English as written."""

from __future__ import annotations

import pytest

from config.i18n import cli_language, gettext, ngettext, normalise_language


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ja", "ja"), ("ja-JP", "ja"), ("ja_JP.UTF-8", "ja"), ("en_GB", "en"), ("fr", "en"), (None, "en")],
)
def test_normalise_language(value: str | None, expected: str) -> None:
    assert normalise_language(value) == expected


def test_cli_language_prefers_migwatch_lang_over_the_locale() -> None:
    assert cli_language({"MIGWATCH_LANG": "ja", "LANG": "en_US.UTF-8"}) == "ja"
    assert cli_language({"LANG": "ja_JP.UTF-8"}) == "ja"
    assert cli_language({"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}) == "ja"
    assert cli_language({}) == "en"


def test_japanese_comes_from_the_catalogue_and_english_is_the_message_itself() -> None:
    assert gettext("ja", "Weekly digest") == "週間ダイジェスト"
    assert gettext("en", "Weekly digest") == "Weekly digest"
    assert gettext("ja", "a message nobody translated") == "a message nobody translated"


def test_plural_forms_and_values() -> None:
    assert ngettext("en", "{count} source", "{count} sources", 1) == "1 source"
    assert ngettext("en", "{count} source", "{count} sources", 3) == "3 sources"


def _cli_messages() -> list[str]:
    """Every literal message the CLI and the loader pass to ``tr`` or ``gettext``."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = [*sorted((root / "migwatch").rglob("*.py")), root / "config" / "loader.py",
             root / "config" / "errors.py"]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            position = {"tr": 0, "gettext": 1}.get(node.func.id)
            if position is None or len(node.args) <= position:
                continue
            message = node.args[position]
            if isinstance(message, ast.Constant) and isinstance(message.value, str):
                found.append(message.value)
    return found


def test_every_cli_message_has_its_japanese() -> None:
    messages = _cli_messages()
    assert len(messages) > 30
    # words passed to tr() through a variable: table headers and the state words
    words = ["source", "state", "last ok", "last new", "fails", "articles", "next check",
             "active", "failing", "paused", "disabled", "never run", "job", "started",
             "finished", "status", "detail", "issue", "sent", "to retry", "given up", "new",
             "seen again", "pages", "note", "write true or false", "must be at least {ge}"]
    missing = [m for m in [*messages, *words] if gettext("ja", m) == m]
    assert missing == []


def test_the_catalogue_translates_each_message_once() -> None:
    """Two sections translating one msgid would silently keep only the last."""
    from collections import Counter

    from babel.messages.pofile import read_po

    from config.i18n import LOCALE_DIR

    path = LOCALE_DIR / "ja" / "LC_MESSAGES" / "migwatch.po"
    with path.open("rb") as handle:
        read_po(handle)  # parses
    ids = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("msgid ") and line != 'msgid ""'  # "" opens the header or a long msgid
    ]
    assert [msgid for msgid, count in Counter(ids).items() if count > 1] == []
