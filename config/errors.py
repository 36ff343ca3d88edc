"""The one error tree of migwatch.

::

    MigwatchError
     ├── ConfigError       a YAML file, a setting or a CLI argument is wrong (exit 2)
     ├── FetchError        a source could not be downloaded (HTTP, network, refused address)
     ├── ParseError        a download was not the feed, sitemap or listing it should be
     ├── ExtractError      an article page gave no usable text
     ├── StorageError      the database refused or is unreachable
     ├── DeliveryError     a digest could not be written or mailed
     └── AlreadyRunningError  another ``migwatch serve`` holds this database (exit 2)

Library errors are translated into these at the seam where they occur, with
``raise ... from exc``.  "Not modified" is a value, never an error.  Every message is one
line that names the thing and says what to do; the CLI prints it without a traceback.

This module is a leaf (it imports nothing of ours), so ``db/`` may import it too.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MigwatchError(Exception):
    """Base of every error migwatch reports to a user."""

    exit_code = 1


class ConfigError(MigwatchError):
    """A configuration file, setting or argument is invalid; ``problems`` lists each one."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__(message)


class FetchError(MigwatchError):
    """A source or page could not be downloaded."""


class ParseError(MigwatchError):
    """Downloaded bytes were not a usable feed, sitemap or listing page."""


class ExtractError(MigwatchError):
    """An article page yielded no usable main text."""


class StorageError(MigwatchError):
    """The database could not be reached, migrated or written."""


class DeliveryError(MigwatchError):
    """A digest could not be written to the archive or sent by mail."""


class AlreadyRunningError(MigwatchError):
    """Another scheduler already runs against this database."""

    exit_code = 2


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'feed'?"`` when ``word`` is close to one of ``choices``, else ``""``.

    Meant to be appended to a message, as Click does for a misspelt command.
    """
    from config.i18n import cli_language, gettext  # a leaf still: i18n imports nothing of ours

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        return ""
    return gettext(cli_language(), "; did you mean {choice}?", choice=repr(close[0]))
