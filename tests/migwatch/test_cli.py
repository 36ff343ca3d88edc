"""The command line: help everywhere, one-line errors, exit codes, init, export, status."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from migwatch import sampleweb
from migwatch.cli import _register, cli
from migwatch.sampleweb import SampleWeb
from tests.crawler.webfixture import build_site, write_config

_register()


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path", list(all_commands(cli)), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command: click.Command = cli
    for part in path:
        assert isinstance(command, click.Group)
        command = command.commands[part]
    assert command.help, f"{' '.join(path)} has no help text"


def test_help_leaves_the_heavy_stages_unimported() -> None:
    heavy = ["datasketch", "numpy", "scipy", "trafilatura", "feedparser", "parsel",
             "charset_normalizer", "apscheduler.schedulers"]
    code = ("import sys, migwatch.cli as c; c._register(); "
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.split() == []


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="250")  # tables on one line each, whatever the terminal
    return subprocess.run([sys.executable, "-m", "migwatch", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env=env)


def test_a_bad_config_exits_2_with_one_line_per_problem_and_no_traceback(
    tmp_path: Path,
) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {key: x, name: X, kind: feed, url: 'gopher://x'}\n", encoding="utf-8")
    result = run("--config", str(tmp_path), "--db", f"sqlite:///{tmp_path}/db.sqlite3",
                 "collect")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path}/sources.yaml:2: source x: url: must be an http:// "
        "or https:// address"
    ]


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path), "--db",
                 "postgresql+psycopg://nobody@127.0.0.1:1/none", "status")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "unreachable" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_source_key_is_a_usage_error(tmp_path: Path) -> None:
    write_config(tmp_path / "c", "http://127.0.0.1:9")
    result = run("--config", str(tmp_path / "c"), "--db", f"sqlite:///{tmp_path}/d.sqlite3",
                 "collect", "--source", "nope")
    assert result.returncode == 2
    assert "unknown source key(s): nope" in result.stderr


def test_init_writes_a_starter_config_and_a_database(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "cfg"), "--db", f"sqlite:///{tmp_path}/d.sqlite3",
                 "init")
    assert result.returncode == 0, result.stderr
    for name in ("migwatch.yaml", "sources.yaml", "themes.yaml"):
        assert (tmp_path / "cfg" / name).is_file()
    assert (tmp_path / "d.sqlite3").is_file()
    again = run("--config", str(tmp_path / "cfg"), "--db", f"sqlite:///{tmp_path}/d.sqlite3",
                "init")
    assert "kept" in again.stdout


@pytest.fixture
def collected(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, str, SampleWeb]]:
    build_site(tmp_path / "web")
    with SampleWeb(tmp_path / "web") as web:
        config = write_config(tmp_path / "config", web.base_url,
                              extra_sources=f'  - {{key: down, name: Down, kind: feed, '
                                            f'url: "{web.base_url}/down.rss"}}\n')
        web.route("/down.rss", sampleweb.status(503))
        result = run("--config", str(config), "--db", db_url, "collect")
        assert result.returncode == 1, result.stderr  # one source failed, the rest stored
        assert "wire-en" in result.stdout and "HTTP 503" in result.stdout
        yield config, db_url, web


def test_export_jsonl_has_one_row_per_article_with_all_sightings(
    collected: tuple[Path, str, SampleWeb],
) -> None:
    config, db_url, _web = collected
    result = run("--config", str(config), "--db", db_url, "export", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 11
    a2 = next(r for r in rows if r["canonical_url"].endswith("/en/a2.html"))
    assert sorted(a2["sightings"]) == ["news-sitemap", "wire-en"]
    assert a2["title"] and a2["text"] and a2["language"] == "en"
    assert a2["published_at"] == "2026-11-25T19:30:00+09:00"  # 10:30 UTC, in the zone
    assert set(rows[0]) >= {"canonical_url", "title", "text", "language", "published_at",
                            "first_seen_at", "source_key", "sightings"}


def test_export_csv_and_since_filter(collected: tuple[Path, str, SampleWeb]) -> None:
    config, db_url, _ = collected
    result = run("--config", str(config), "--db", db_url, "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 11 and rows[0]["source_key"]
    future = run("--config", str(config), "--db", db_url, "export", "--since", "2999-01-01")
    assert future.returncode == 0 and future.stdout == ""
    bad = run("--config", str(config), "--db", db_url, "export", "--since", "yesterday")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_export_csv_to_a_file_opens_in_excel_with_theme_labels(
    collected: tuple[Path, str, SampleWeb], tmp_path: Path,
) -> None:
    config, db_url, _ = collected
    assert run("--config", str(config), "--db", db_url, "tag").returncode == 0
    out = tmp_path / "articles.csv"
    result = run("--config", str(config), "--db", db_url, "export", "--format", "csv",
                 "--out", str(out))
    assert result.returncode == 0, result.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel on Japanese Windows reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    tagged = [r for r in rows if r["themes"]]
    assert tagged, "the fixture articles are about IOM and must carry a theme"
    for row in tagged:
        assert len(row["theme_labels"].split(" / ")) == len(row["themes"].split())
        assert row["theme_labels"] != row["themes"]  # labels, not the ids again


def test_status_shows_the_failing_source_and_its_error(
    collected: tuple[Path, str, SampleWeb],
) -> None:
    config, db_url, _ = collected
    result = run("--config", str(config), "--db", db_url, "status")
    assert result.returncode == 0, result.stderr
    row = next(ln for ln in result.stdout.splitlines() if ln.strip().startswith("down "))
    assert "failing" in row
    assert "down (failing): HTTP 503 from" in result.stdout
