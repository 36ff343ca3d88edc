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

from config.errors import ConfigError, did_you_mean
from config.i18n import cli_language, gettext
from config.schema import Settings, SourceConfig, SourcesFile

SETTINGS_FILE = "migwatch.yaml"
SOURCES_FILE = "sources.yaml"
THEMES_FILE = "themes.yaml"
DEFAULTS_DIR = Path(__file__).parent

M = TypeVar("M", bound=BaseModel)


def tr(message: str, **values: object) -> str:
    """``message`` in the language of the CLI (``MIGWATCH_LANG`` or the system locale)."""
    return gettext(cli_language(), message, **values)


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
        line, words = yaml_problem(text, exc)
        raise ConfigError(f"{path}:{line}: {words}") from exc


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _last_unclosed(lines: Sequence[str]) -> tuple[int, str] | None:
    """The line (1-based) and bracket of the last ``[`` or ``{`` left open, if any."""
    stack: list[tuple[int, str]] = []
    for number, text in enumerate(lines, start=1):
        for char in text.split(" #")[0]:
            if char in "[{":
                stack.append((number, char))
            elif char in "]}" and stack:
                stack.pop()
    return stack[-1] if stack else None


def yaml_problem(text: str, exc: MarkedYAMLError) -> tuple[int, str]:
    """A YAML parser error in words a non-programmer can act on, with its 1-based line.

    The parser's own wording (``expected <block end>, but found '<block mapping start>'``)
    names its internal states; each shape a person actually writes gets a sentence here.
    """
    mark, context_mark = exc.problem_mark, exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    opened = context_mark.line + 1 if context_mark is not None else line
    problem = (exc.problem or str(exc)).strip()
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in problem or "\t" in here[: _indent(here) + 1]:
        return line, tr("line {line} starts with a tab; indent with spaces, not tabs",
                       line=line)
    if problem.startswith("found duplicate key"):
        key = problem.split('"')[1] if '"' in problem else "?"
        return line, tr("{key} is written twice in the same block; keep one", key=repr(key))
    column = mark.column if mark is not None else 0
    # "key: value: more" puts the mark on the second colon; a deeper indent, on the first
    is_colon_in_value = ": " in here[:column]
    if problem.startswith("expected <block end>") or (
        problem == "mapping values are not allowed here" and not is_colon_in_value
    ):
        return line, tr("line {line} is indented differently from the one above; line up "
                       "keys of the same block, and use spaces, not tabs", line=line)
    if problem == "mapping values are not allowed here":
        return line, tr("a value holds ': '; put the whole value in quotes, "
                       "like title: \"Note: read this\"")
    if "quoted scalar" in (exc.context or ""):
        return opened, tr("a quote opened on line {line} is never closed; add the closing "
                         "quote", line=opened)
    unclosed = _last_unclosed(lines[:line]) if "<stream end>" in problem else None
    if "flow sequence" in (exc.context or "") or (unclosed and unclosed[1] == "["):
        where = unclosed[0] if unclosed else opened
        return where, tr("a list opened with '[' on line {line} is not closed with ']'",
                        line=where)
    if "flow mapping" in (exc.context or "") or (unclosed and unclosed[1] == "{"):
        where = unclosed[0] if unclosed else opened
        return where, tr("a block opened with '{{' on line {line} is not closed with '}}'",
                        line=where)
    if "<stream end>" in problem:
        return line, tr("the file ends in the middle of a value; check the last lines")
    if problem.startswith("could not find expected ':'"):
        return opened, tr("line {line} has no ':' after its key; write it as key: value",
                         line=opened)
    if problem.startswith("found undefined alias"):
        return line, tr("line {line} uses '*' at the start of a value; put the value in "
                       "quotes", line=line)
    return line, tr("line {line} cannot be read as YAML ({problem}); check its indentation "
                   "and quotes", line=line, problem=problem)


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


def _item_name(item: Any) -> str | None:
    """The ``key`` (a source) or ``id`` (a theme) a list item is known by, if it has one."""
    if isinstance(item, dict):
        for field in ("key", "id"):
            value = item.get(field)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def format_loc(loc: Sequence[str | int], root: Any = None) -> str:
    """Render a pydantic location for a person: ``source un-news: listing.item``.

    A list item is named by its ``key`` or ``id`` (``source un-news``, ``theme funding``)
    when ``root`` holds one, else by its position counted from 1 (``source #54``).
    """
    words: list[str] = []
    dotted = ""
    node = root
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            container = dotted.rsplit(".", 1)[-1] if dotted else "item"
            singular = (container[:-3] + "y" if container.endswith("ies")
                        else container.removesuffix("s"))
            name = _item_name(item)
            parent = dotted.rsplit(".", 1)[0] if "." in dotted else ""
            words = [*words, *([parent] if parent else [])]
            words.append(f"{singular} {name}" if name else f"{singular} #{part + 1}")
            dotted = ""
            node = item
        else:
            dotted = f"{dotted}.{part}" if dotted else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    if dotted:
        words.append(dotted)
    return ": ".join(words) or "(top level)"


def problem_at(path: Path, root: Any, loc: Sequence[str | int], message: str) -> tuple[int, str]:
    """A problem at ``loc``: its line and the text ``file:line: field.path: message``."""
    line = line_of(root, loc)
    return line, f"{path}:{line}: {format_loc(loc, root)}: {message}"


def _fields_at(model: type[BaseModel] | None, loc: Sequence[str | int]) -> list[str]:
    """The keys the model allows at ``loc`` (the location of an unknown key)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = next((arg for arg in _flatten(field.annotation)
                        if isinstance(arg, type) and issubclass(arg, BaseModel)), None)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _flatten(annotation: Any) -> list[Any]:
    args = getattr(annotation, "__args__", None)
    if not args:
        return [annotation]
    return [inner for arg in args for inner in _flatten(arg)]


def _quoted_choices(expected: str) -> str:
    return expected.replace("'", "").replace(" or ", ", ")


def in_words(err: Any) -> str:
    """One pydantic error as what to write instead, in plain words."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    value = err.get("input")
    field = next((p for p in reversed(err["loc"]) if isinstance(p, str)), "")
    if kind == "missing":
        return tr("missing; add a line '{field}: …'", field=field) if field else tr("missing")
    if kind == "literal_error":
        choices = _quoted_choices(str(ctx.get("expected", "")))
        hint = did_you_mean(str(value), [c.strip() for c in choices.split(",")])
        return tr("{value} is not allowed; write one of: {choices}",
                 value=repr(value), choices=choices) + hint
    if kind == "string_pattern_mismatch":
        if field == "key":
            return tr("{value} cannot be a key; use lower-case letters, digits, '-', '_' or "
                     "'.' (at most 64, starting with a letter or digit), like un-news",
                     value=repr(value))
        return tr("{value} is not in the expected form", value=repr(value))
    block = "write a block of 'key: value' lines, indented under this one"
    words = {
        "string_type": "write text here (in quotes if it looks like a number or true/false)",
        "bool_type": "write true or false", "bool_parsing": "write true or false",
        "int_type": "write a whole number", "int_parsing": "write a whole number",
        "int_from_float": "write a whole number",
        "float_type": "write a number", "float_parsing": "write a number",
        "list_type": "write a list, like [one, two]",
        "dict_type": block, "model_type": block, "model_attributes_type": block,
    }
    if kind in words:
        return tr(words[kind])
    bounds = {"greater_than": "must be more than {gt}",
              "greater_than_equal": "must be at least {ge}",
              "less_than": "must be less than {lt}", "less_than_equal": "must be at most {le}",
              "too_short": "must be at least {min_length} long",
              "too_long": "must be at most {max_length} long"}
    if kind in bounds:
        limits = {k: (f"{v:g}" if isinstance(v, float) else v) for k, v in ctx.items()}
        return tr(bounds[kind], **limits)
    return str(err["msg"])


def validation_problems(
    path: Path, root: Any, exc: ValidationError, *, docs: str = "docs/configuration.md",
    skip: frozenset[str] = frozenset(), model: type[BaseModel] | None = None,
) -> list[tuple[int, str]]:
    """A pydantic ValidationError as :func:`problem_at` lines; ``skip`` names loc parts
    that are no keys (the tags pydantic puts in the location of a tagged union); ``model``
    lets an unknown key be answered with the closest known one."""
    problems = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if isinstance(p, str | int) and p not in skip]
        msg = in_words(err)
        if err["type"] == "extra_forbidden":
            unknown = str(loc[-1]) if loc else ""
            hint = did_you_mean(unknown, _fields_at(model, loc))
            msg = tr("unknown key") + (hint or tr(" (check the spelling; see {docs})", docs=docs))
        problems.append(problem_at(path, root, loc, msg))
    return problems


def validate_file(path: Path, root: Any, model: type[M]) -> M:
    """Validate a parsed YAML document against ``model``; raise ConfigError with all problems."""
    try:
        return model.model_validate(root if root is not None else {})
    except ValidationError as exc:
        problems = [text for _, text in validation_problems(path, root, exc, model=model)]
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
                f"{path}:{line}: source {source.key}: key: {source.key!r} is used twice "
                f"(first on line {seen[source.key]}); give each source its own key"
            )
        seen.setdefault(source.key, line)
    if problems:
        raise ConfigError(problems[0], problems)
    return parsed.sources
