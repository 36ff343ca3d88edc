"""What every command receives: where the configuration and the database are.

Built once from the global options (``--config``, ``--db``, which Click also fills from
``$MIGWATCH_CONFIG`` and ``$MIGWATCH_DB_URL``) and handed to commands on
``click.Context.obj``; nothing reads configuration from a global.

A configuration problem is found before anything runs: the first use of the settings,
the sources or the database validates every configuration file present (``migwatch.yaml``,
``sources.yaml``, ``themes.yaml``) and reports all their problems at once, so no command
starts a run, writes a row or spawns a crawl on a broken configuration.  A database URL
that cannot be one is refused when the options are read (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from config import ConfigError, Settings, SourceConfig, load_settings, load_sources
from config.i18n import cli_language, gettext
from config.loader import SOURCES_FILE, THEMES_FILE, config_dir
from config.themes import load_themes
from db import DEFAULT_DB_URL, create_db_engine, migrate, session_factory


@dataclass
class AppContext:
    """The configuration directory and database URL chosen on the command line."""

    config_path: Path
    db_url: str
    _engine: Engine | None = field(default=None, repr=False)
    is_preflight_done: bool = field(default=False, repr=False)

    @classmethod
    def from_options(cls, config: str | None, db: str | None) -> AppContext:
        """The global options, else ``./migwatch-config`` and a SQLite file under ``./var/``."""
        url = db or DEFAULT_DB_URL
        check_db_url(url)
        return cls(config_path=config_dir(config), db_url=url)

    def preflight(self) -> None:
        """Validate every configuration file present; raise one ConfigError with all problems.

        A missing directory or file is left to the command that needs it (``init``
        writes them, ``extract`` runs without them, the shipped themes stand in).
        """
        if self.is_preflight_done:
            return
        self.is_preflight_done = True
        problems: list[str] = []
        folder = self.config_path
        loaders: list[Callable[[], object]] = [lambda: load_settings(folder)]
        if (folder / SOURCES_FILE).is_file():
            loaders.append(lambda: load_sources(folder))
        if (folder / THEMES_FILE).is_file():
            loaders.append(lambda: load_themes(folder / THEMES_FILE))
        if not folder.is_dir():
            loaders = []
        for load in loaders:
            try:
                load()
            except ConfigError as exc:
                problems.extend(exc.problems)
        if problems:
            self.is_preflight_done = False
            raise ConfigError(problems[0], problems)

    @cached_property
    def settings(self) -> Settings:
        """``migwatch.yaml``, validated (after the whole configuration is)."""
        self.preflight()
        return load_settings(self.config_path)

    @cached_property
    def sources(self) -> list[SourceConfig]:
        """``sources.yaml``, validated (after the whole configuration is)."""
        self.preflight()
        return load_sources(self.config_path)

    @property
    def engine(self) -> Engine:
        """The database engine, migrated to the newest schema on first use."""
        if self._engine is None:
            self.preflight()
            self._engine = create_db_engine(self.db_url)
            migrate(self._engine)
        return self._engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        """A session factory on :attr:`engine`."""
        return session_factory(self.engine)

    @property
    def settings_tz(self) -> tzinfo | None:
        """The configured time zone once the settings were read; None before that."""
        settings = self.__dict__.get("settings")
        return settings.tz if isinstance(settings, Settings) else None

    def reload(self) -> None:
        """Read the YAML files again on next use; keep the old ones if the new are broken."""
        previous: dict[str, object] = {
            name: self.__dict__.pop(name) for name in ("settings", "sources")
            if name in self.__dict__
        }
        self.is_preflight_done = False
        try:
            self.preflight()  # validate now, while the old values can be restored
            self.sources  # noqa: B018
        except ConfigError:
            self.__dict__.update(previous)
            raise

    def close(self) -> None:
        """Release database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def check_db_url(url: str) -> None:
    """Refuse a ``--db`` value that is no SQLite or PostgreSQL URL (a usage error, exit 2)."""
    lang = cli_language()
    example = "sqlite:///var/migwatch.sqlite3, postgresql+psycopg://user@host/db"
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ConfigError(gettext(lang, "--db {url} is not a database URL; use {example}",
                                  url=repr(_shown(url)), example=example)) from None
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(gettext(
            lang, "--db {url}: migwatch stores in SQLite or PostgreSQL, not {backend}; use "
            "{example}", url=repr(_shown(url)), backend=backend, example=example))


def _shown(url: str) -> str:
    """``url`` without its password, even when it does not parse."""
    head, sep, tail = url.partition("@")
    if sep and ":" in head.split("//")[-1]:
        scheme, _, user = head.rpartition("//")
        return f"{scheme}//{user.split(':')[0]}:***@{tail}"
    return url
