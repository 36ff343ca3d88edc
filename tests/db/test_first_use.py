"""Two commands started at once on a brand-new database both succeed (migrations locked)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from db import create_db_engine
from tests.conftest import PG_ADMIN_URL
from tests.crawler.webfixture import write_config

PAIRS = 10
COMMANDS = (("status",), ("export", "--format", "jsonl"))


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A factory of URLs of databases that do not exist yet (SQLite) or are empty (PG)."""
    created: list[str] = []
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def new_url() -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / uuid.uuid4().hex / 'migwatch.sqlite3'}"
        name = f"mwfresh_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    yield new_url
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_ten_pairs_of_commands_on_new_databases_all_succeed(
    new_database: object, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config", "http://127.0.0.1:9")
    env = dict(os.environ, COLUMNS="200")
    failures = []
    for attempt in range(PAIRS):
        url = new_database()  # type: ignore[operator]
        children = [
            subprocess.Popen([sys.executable, "-m", "migwatch", "--config", str(config),
                              "--db", url, *command],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for command in COMMANDS
        ]
        for command, child in zip(COMMANDS, children, strict=True):
            _out, err = child.communicate(timeout=120)
            if child.returncode != 0:
                failures.append(f"pair {attempt} {command[0]}: exit {child.returncode}: "
                                f"{err.strip().splitlines()[-1:] }")
        engine = create_db_engine(url)
        assert {"sources", "articles", "deliveries"} <= set(inspect(engine).get_table_names())
        engine.dispose()
    assert failures == []
