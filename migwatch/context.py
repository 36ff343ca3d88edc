"""What every command receives: where the configuration and the database are.

Built once from the global options (``--config``, ``--db``, which Click also fills from
``$MIGWATCH_CONFIG`` and ``$MIGWATCH_DB_URL``) and handed to commands on
``click.Context.obj``; nothing reads configuration from a global.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import ConfigError, Settings, SourceConfig, load_settings, load_sources
from config.loader import config_dir
from db import DEFAULT_DB_URL, create_db_engine, migrate, session_factory


@dataclass
class AppContext:
    """The configuration directory and database URL chosen on the command line."""

    config_path: Path
    db_url: str
    _engine: Engine | None = field(default=None, repr=False)

    @classmethod
    def from_options(cls, config: str | None, db: str | None) -> AppContext:
        """The global options, else ``./migwatch-config`` and a SQLite file under ``./var/``."""
        return cls(config_path=config_dir(config), db_url=db or DEFAULT_DB_URL)

    @cached_property
    def settings(self) -> Settings:
        """``migwatch.yaml``, validated."""
        return load_settings(self.config_path)

    @cached_property
    def sources(self) -> list[SourceConfig]:
        """``sources.yaml``, validated."""
        return load_sources(self.config_path)

    @property
    def engine(self) -> Engine:
        """The database engine, migrated to the newest schema on first use."""
        if self._engine is None:
            self._engine = create_db_engine(self.db_url)
            migrate(self._engine)
        return self._engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        """A session factory on :attr:`engine`."""
        return session_factory(self.engine)

    def reload(self) -> None:
        """Read the YAML files again on next use; keep the old ones if the new are broken."""
        previous: dict[str, object] = {
            name: self.__dict__.pop(name) for name in ("settings", "sources")
            if name in self.__dict__
        }
        try:
            self.settings  # noqa: B018 — validate now, while the old values can be restored
            self.sources  # noqa: B018
        except ConfigError:
            self.__dict__.update(previous)
            raise

    def close(self) -> None:
        """Release database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
