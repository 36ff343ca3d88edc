"""Settings for migwatch: the schema (pydantic), the YAML loader and the shipped defaults.

This package imports nothing else of ours; every other stage receives a ``Settings``
object explicitly.
"""

from config.errors import ConfigError, MigwatchError
from config.loader import load_settings, load_sources, load_yaml
from config.schema import Settings, SourceConfig

__all__ = [
    "ConfigError",
    "MigwatchError",
    "Settings",
    "SourceConfig",
    "load_settings",
    "load_sources",
    "load_yaml",
]
