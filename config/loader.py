"""Read YAML configuration safely, keep line numbers, report every problem at once.

Errors are formatted ``file:line: field.path: message`` so a non-programmer can open the
file at the right line.  YAML is read with ruamel's round-trip loader, which builds only
plain mappings, sequences and scalars (no arbitrary objects) and remembers positions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from config.errors import ConfigError
from config.schema import Settings, SourceConfig, SourcesFile

SETTINGS_FILE = "migwatch.yaml"
SOURCES_FILE = "sources.yaml"
THEMES_FILE = "themes.yaml"
DEFAULTS_DIR = Path(__file__).parent

M = TypeVar("M", bound=BaseModel)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file into ruamel's position-aware containers; raise ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found; run `migwatch init` to create it") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as UTF-8 text: {exc}") from exc
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        problem = (exc.problem or str(exc)).strip()
        raise ConfigError(f"{path}:{line}: YAML syntax error: {problem}") from exc


def line_of(root: Any, loc: Sequence[str | int]) -> int:
    """Return the 1-based line of the deepest node of ``loc`` found in ``root``."""
    node = root
    line = 1
    for part in loc:
        if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
            pos = node.lc.key(part)
            line = pos[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            pos = node.lc.item(part)
            line = pos[0] + 1
            node = node[part]
        else:
            break
    return line


def format_loc(loc: Sequence[str | int]) -> str:
    """Render a pydantic location as ``sources[2].listing.item``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def problem_at(path: Path, root: Any, loc: Sequence[str | int], message: str) -> tuple[int, str]:
    """A problem at ``loc``: its line and the text ``file:line: field.path: message``."""
    line = line_of(root, loc)
    return line, f"{path}:{line}: {format_loc(loc)}: {message}"


def validation_problems(
    path: Path, root: Any, exc: ValidationError, *, docs: str = "docs/configuration.md",
    skip: frozenset[str] = frozenset(),
) -> list[tuple[int, str]]:
    """A pydantic ValidationError as :func:`problem_at` lines; ``skip`` names loc parts
    that are no keys (the tags pydantic puts in the location of a tagged union)."""
    problems = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if isinstance(p, str | int) and p not in skip]
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (check the spelling; see {docs})"
        problems.append(problem_at(path, root, loc, msg))
    return problems


def validate_file(path: Path, root: Any, model: type[M]) -> M:
    """Validate a parsed YAML document against ``model``; raise ConfigError with all problems."""
    try:
        return model.model_validate(root if root is not None else {})
    except ValidationError as exc:
        problems = [text for _, text in validation_problems(path, root, exc)]
        raise ConfigError(problems[0], problems) from exc


def config_dir(explicit: str | Path | None) -> Path:
    """The config directory: ``--config``, else ``$MIGWATCH_CONFIG``, else ``./migwatch-config``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("MIGWATCH_CONFIG")
    return Path(env) if env else Path("migwatch-config")


def load_settings(directory: Path) -> Settings:
    """Load ``migwatch.yaml`` from ``directory`` (defaults when the file is absent)."""
    path = directory / SETTINGS_FILE
    if not path.exists():
        if not directory.exists():
            raise ConfigError(
                f"{directory}: configuration directory not found; "
                "run `migwatch init` or pass --config DIR"
            )
        return Settings.model_validate({})
    root = load_yaml(path)
    return validate_file(path, root, Settings)


def load_sources(directory: Path) -> list[SourceConfig]:
    """Load ``sources.yaml``; duplicate keys are reported with their line."""
    path = directory / SOURCES_FILE
    root = load_yaml(path)
    parsed = validate_file(path, root, SourcesFile)
    seen: dict[str, int] = {}
    problems = []
    for index, source in enumerate(parsed.sources):
        line = line_of(root, ["sources", index])
        if source.key in seen:
            problems.append(
                f"{path}:{line}: sources[{index}].key: duplicate key {source.key!r} "
                f"(first used on line {seen[source.key]}); keys must be unique"
            )
        seen.setdefault(source.key, line)
    if problems:
        raise ConfigError(problems[0], problems)
    return parsed.sources
