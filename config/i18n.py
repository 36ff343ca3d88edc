"""One message catalogue for every text a person reads: the CLI, the web app, the digest.

Messages are written in English in the code and marked with ``gettext``; the Japanese text
lives in ``config/locale/ja/LC_MESSAGES/migwatch.po``, a standard gettext catalogue that any
translator's tool opens. The ``.po`` file is compiled in memory on first use (Babel), so
there is no build step and no compiled file to keep in step with its source.

The language of the CLI comes from ``MIGWATCH_LANG``, else from the system locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``); the digest and the web app pass the configured
``digest.language``. Anything that is not Japanese reads English.
"""

from __future__ import annotations

import gettext as _gettext
import io
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "migwatch"
LANGUAGES = ("en", "ja")


def normalise_language(code: str | None) -> str:
    """``ja``, ``ja-JP``, ``ja_JP.UTF-8`` → ``ja``; anything we do not translate → ``en``."""
    primary = (code or "").replace("_", "-").split("-")[0].split(".")[0].strip().lower()
    return primary if primary in LANGUAGES else "en"


def cli_language(environ: Mapping[str, str] | None = None) -> str:
    """The language of the CLI's messages: ``MIGWATCH_LANG``, else the system locale."""
    env = os.environ if environ is None else environ
    for name in ("MIGWATCH_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").strip()
        if value and value not in ("C", "POSIX"):
            return normalise_language(value)
    return "en"


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue for ``lang`` (English is the identity)."""
    lang = normalise_language(lang)
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not po_path.is_file():
        return _gettext.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def gettext(lang: str, message: str, **values: object) -> str:
    """``message`` in ``lang``, then ``str.format``-ed with ``values`` if any are given."""
    text = translations(lang).gettext(message)
    return text.format(**values) if values else text


def ngettext(lang: str, singular: str, plural: str, count: int, **values: object) -> str:
    """The singular or plural form of a message for ``count``, formatted with ``count``."""
    text = translations(lang).ngettext(singular, plural, count)
    return text.format(count=count, **values)
