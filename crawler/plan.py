"""The crawl plan: everything the crawl child needs, decided once in the parent.

The parent resolves the sources to crawl, their stored state (validators, URL) and the
identities each source has shown before; the child receives the plan as one JSON line
on its stdin and never reads the YAML files or the sources table itself.  The database
URL is not part of the plan: it travels in the child's environment, never in argv.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python

from config.schema import Settings, SourceConfig
from db.store import SourceState

DB_URL_ENV = "MIGWATCH_DB_URL"


@dataclass(frozen=True)
class SourcePlan:
    """A source to crawl: its configuration, its stored state, what it showed before."""

    config: SourceConfig
    state: SourceState
    known: frozenset[str]


@dataclass(frozen=True)
class CrawlPlan:
    """One crawl: the run it belongs to, the settings and the sources."""

    run_id: int
    settings: Settings
    sources: tuple[SourcePlan, ...]

    def to_json(self) -> str:
        """One line of JSON."""
        return json.dumps({
            "run_id": self.run_id,
            "settings": _jsonable(self.settings.model_dump(exclude={"smtp"})),
            "sources": [
                {"config": _jsonable(s.config.model_dump()), "state": _state_json(s.state),
                 "known": sorted(s.known)}
                for s in self.sources
            ],
        }, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> CrawlPlan:
        """Read a plan written by :meth:`to_json`."""
        data = json.loads(line)
        return cls(
            run_id=int(data["run_id"]),
            settings=Settings.model_validate(data["settings"]),
            sources=tuple(
                SourcePlan(SourceConfig.model_validate(s["config"]), _state_of(s["state"]),
                           frozenset(s["known"]))
                for s in data["sources"]
            ),
        )


def _jsonable(value: Any) -> Any:
    # Durations as seconds: the schema reads numbers as seconds, not ISO 8601.
    return to_jsonable_python(value, timedelta_mode="float")


_STATE_TIMES = ("retry_after_until", "next_check_at")


def _state_json(state: SourceState) -> dict[str, Any]:
    data = dict(state.__dict__)
    for name in _STATE_TIMES:
        moment = data[name]
        data[name] = moment.isoformat() if moment is not None else None
    return data


def _state_of(data: dict[str, Any]) -> SourceState:
    values = dict(data)
    for name in _STATE_TIMES:
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    return SourceState(**values)
