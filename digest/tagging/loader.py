"""The one theme-set loader: the themes file in use, validated and compiled, cached.

Contract: :func:`load_theme_set` finds the file (an explicit one, else the user's
``themes.yaml`` in the configuration directory, else the shipped default), validates it
(a :class:`~config.errors.ConfigError` names file, line and field) and compiles it.  The
result is cached per file and its modification time and size, so the daemon tags every
tick with one compilation and an edited file is picked up on the next call.  Other parts
(the web app, the organisation gazetteer) read terms and aliases from
``LoadedThemes.config`` or :meth:`~digest.tagging.compile.ThemeSet.aliases`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from config.errors import ConfigError
from config.themes import ThemesFile, load_themes, themes_path
from digest.tagging.compile import ThemeSet, compile_themes


@dataclass(frozen=True)
class LoadedThemes:
    """A themes file as read (``config``) and as compiled (``theme_set``)."""

    path: Path
    config: ThemesFile
    theme_set: ThemeSet


_cache: dict[Path, tuple[tuple[int, int], LoadedThemes]] = {}
_lock = threading.Lock()


def load_theme_set(config_dir: Path, themes_file: Path | None = None) -> LoadedThemes:
    """The themes in use (``themes_file``, the user's, or the shipped one), compiled once."""
    path = themes_file or themes_path(config_dir)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ConfigError(f"{path}: themes file not found; check the path or run "
                          "`migwatch init`") from exc
    key = (stat.st_mtime_ns, stat.st_size)
    resolved = path.resolve()
    with _lock:
        hit = _cache.get(resolved)
        if hit is not None and hit[0] == key:
            return hit[1]
    config = load_themes(path)
    loaded = LoadedThemes(path, config, compile_themes(config))
    with _lock:
        _cache[resolved] = (key, loaded)
    return loaded
