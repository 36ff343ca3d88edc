"""What a new user meets in the first hour: each wall is one plain line and the right exit code.

Every test runs the real command in a child process, as a user would, and checks the exit
code, that the message is one line without a traceback, and that it names what was asked.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from migwatch.sampleweb import SampleWeb
from tests.crawler.webfixture import build_site, write_config


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "COLUMNS": "250", "MIGWATCH_LANG": "en", **(env or {})}
    return subprocess.run([sys.executable, "-m", "migwatch", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env=environ)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_typo_in_migwatch_yaml_stops_collect_before_it_runs_and_records_nothing(
    tmp_path: Path, db_url: str,
) -> None:
    config = write_config(tmp_path / "c", "http://127.0.0.1:9")
    (config / "migwatch.yaml").write_text("crawler:\n  download_delay_second: 2\n",
                                          encoding="utf-8")
    result = run("--config", str(config), "--db", db_url, "collect")
    assert result.returncode == 2
    assert one_line(result) == (
        f"error: {config}/migwatch.yaml:2: crawler.download_delay_second: unknown key; "
        "did you mean 'download_delay_seconds'?")
    assert result.stdout == ""  # no table, no "run collect again"
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == 0
    engine.dispose()


@pytest.mark.parametrize("command", [
    ["status"], ["export"], ["tag"], ["sources", "list"], ["run"], ["digest"],
    ["themes", "list"], ["collect", "--source", "wire-en"],
])
def test_every_command_refuses_a_broken_configuration_with_exit_2(
    tmp_path: Path, command: list[str],
) -> None:
    config = write_config(tmp_path / "c", "http://127.0.0.1:9")
    (config / "sources.yaml").write_text(
        "sources:\n  - {key: wire-en, name: W, kind: feed, url: 'https://e.org/f',"
        " language: Japanese}\n", encoding="utf-8")
    result = run("--config", str(config), "--db", f"sqlite:///{tmp_path}/d.sqlite3", *command)
    assert result.returncode == 2, result.stderr
    assert one_line(result) == (f"error: {config}/sources.yaml:2: source wire-en: language: "
                                "'Japanese' is a language name; use ja")
    assert not (tmp_path / "d.sqlite3").exists()  # nothing created, nothing recorded


def test_a_yaml_syntax_error_is_said_in_words(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c", "http://127.0.0.1:9")
    (config / "migwatch.yaml").write_text("crawler:\n  timeout_seconds: 5\n\tretries: 0\n",
                                          encoding="utf-8")
    result = run("--config", str(config), "--db", f"sqlite:///{tmp_path}/d.sqlite3", "status")
    assert result.returncode == 2
    assert one_line(result) == (f"error: {config}/migwatch.yaml:3: line 3 starts with a tab; "
                                "indent with spaces, not tabs")


@pytest.mark.parametrize(("url", "words"), [
    ("mysql://me:secret@db.example/news", "migwatch stores in SQLite or PostgreSQL, not mysql"),
    ("var/migwatch.sqlite3", "is not a database URL"),
])
def test_a_bad_db_url_is_a_usage_error(tmp_path: Path, url: str, words: str) -> None:
    result = run("--config", str(tmp_path), "--db", url, "status")
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("error: --db ") and words in line and "secret" not in line


def test_an_unknown_source_key_gets_the_closest_one(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c", "http://127.0.0.1:9")
    db = f"sqlite:///{tmp_path}/d.sqlite3"
    collect = run("--config", str(config), "--db", db, "collect", "--source", "wire-eng")
    assert collect.returncode == 2
    assert one_line(collect) == "error: unknown source key(s): wire-eng; did you mean 'wire-en'?"
    disable = run("--config", str(config), "--db", db, "sources", "disable", "paper-jp")
    assert disable.returncode == 2
    assert one_line(disable).endswith("no source with key 'paper-jp' in "
                                      f"{config}/sources.yaml; did you mean 'paper-ja'?")



def test_an_unknown_theme_id_gets_the_closest_one(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c", "http://127.0.0.1:9")
    db = f"sqlite:///{tmp_path}/d.sqlite3"
    for command in (["themes", "misses", "--theme", "refugee"], ["search", "IOM", "--theme", "refugee"]):
        result = run("--config", str(config), "--db", db, *command)
        assert result.returncode == 2, result.stderr
        assert "'refugee' is not a theme; did you mean 'refugees'?" in result.stderr
        assert "Traceback" not in result.stderr


def test_quiet_and_verbose_together_are_a_usage_error(tmp_path: Path) -> None:
    result = run("-q", "-v", "--config", str(tmp_path), "status")
    assert result.returncode == 2
    assert "choose -q (quiet) or -v (verbose), not both" in result.stderr


def test_export_into_a_closed_pipe_is_success(tmp_path: Path) -> None:
    build_site(tmp_path / "web")
    with SampleWeb(tmp_path / "web") as web:
        config = write_config(tmp_path / "config", web.base_url)
        db = f"sqlite:///{tmp_path}/d.sqlite3"
        assert run("--config", str(config), "--db", db, "collect").returncode == 0
    environ = dict(os.environ, MIGWATCH_LANG="en")
    command = (f"{sys.executable} -m migwatch --config {config} --db {db} export | head -c 10;"
               " echo; echo \"exit=${PIPESTATUS[0]}\"")
    # many copies of the rows, so the writer is still writing when head has gone
    with create_engine(db).begin() as conn:
        conn.execute(text("UPDATE articles SET text = text || :pad"), {"pad": "x" * 200_000})
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                            timeout=120, env=environ)
    assert result.stdout.strip().endswith("exit=0"), result
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert result.stderr == ""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(shutil.which("tmux") is None,
                    reason="needs tmux: apt-get install tmux (.ci/prepare installs it)")
def test_collect_at_80_columns_with_the_network_down_says_so_once(tmp_path: Path) -> None:
    build_site(tmp_path / "web")
    with SampleWeb(tmp_path / "web") as web:
        down = "".join(
            f'  - {{key: offline-{i}, name: Offline {i}, kind: feed, '
            f'url: "http://127.0.0.1:{_closed_port()}/news/feed-{i}.rss"}}\n'
            for i in range(8))
        config = tmp_path / "migwatch-config"  # "config" in the cwd would shadow our package
        write_config(config, web.base_url, extra_sources=down)
        sources = (config / "sources.yaml").read_text(encoding="utf-8")
        # one source that works, eight that cannot connect
        kept = [line for line in sources.splitlines(keepends=True)
                if "wire-en" in line or "offline-" in line or line.startswith("sources")]
        (config / "sources.yaml").write_text("".join(kept), encoding="utf-8")
        socket_name = f"mw-{uuid.uuid4().hex[:8]}"
        tmux = ["tmux", "-L", socket_name]
        command = (f"cd {tmp_path} && MIGWATCH_LANG=en {sys.executable} -m migwatch "
                   f"--config {config} --db sqlite:///{tmp_path}/d.sqlite3 collect; "
                   f"echo exit=$?; tmux -L {socket_name} wait-for -S collected")
        subprocess.run([*tmux, "-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "60",
                        "-s", "first-hour", "bash", "--norc", "--noprofile"], check=True,
                       timeout=30, env=dict(os.environ, TERM="xterm-256color"))
        try:
            subprocess.run([*tmux, "send-keys", "-t", "first-hour", command, "Enter"],
                           check=True, timeout=30)
            subprocess.run([*tmux, "wait-for", "collected"], check=True, timeout=180)
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", "first-hour"],
                                    check=True, timeout=30, capture_output=True,
                                    text=True).stdout
        finally:
            subprocess.run([*tmux, "kill-server"], check=False, timeout=30)
    lines = [line.rstrip() for line in screen.splitlines()]
    assert "exit=1" in lines, screen
    assert "Traceback" not in screen
    network = [line for line in lines if "network looks unreachable" in line]
    assert network == ["the network looks unreachable (8 of 9 sources); check it, then "
                       "collect again"], screen
    for i in range(8):  # each failing source is one row, not a wrapped message
        (row,) = [line for line in lines if f"offline-{i}" in line]
        assert "unreachable" in row and "error" in row
    assert not any("refused the connection" in line for line in lines)
    assert any("wire-en" in line and "ok" in line for line in lines), screen


NEWS_PAGE = """<!DOCTYPE html>
<html lang="ja-JP"><head><meta charset="utf-8"><title>多文化共生ニュース</title>
<link rel="alternate" type="application/rss+xml" title="新着" href="/tabunka/feed.rss">
</head><body><h1>多文化共生ニュース</h1><p>自治体の外国人相談窓口の話題をまとめています。</p></body></html>
"""
NEWS_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>多文化共生ニュース 新着</title><link>{base}/tabunka/</link>
<description>新着</description>
<item><title>相談窓口に通訳タブレットを導入</title><link>{base}/tabunka/a1.html</link>
<pubDate>Tue, 01 Dec 2026 09:00:00 +0900</pubDate></item>
</channel></rss>
"""


@pytest.fixture
def web_with_a_japanese_page(tmp_path: Path) -> Iterator[SampleWeb]:
    from migwatch.sampleweb import status

    (tmp_path / "site").mkdir()
    with SampleWeb(tmp_path / "site") as web:
        web.route("/tabunka/", status(200, NEWS_PAGE.encode(),
                                      {"Content-Type": "text/html; charset=utf-8"}))
        web.route("/tabunka/feed.rss", status(
            200, NEWS_FEED.replace("{base}", web.base_url).encode(),
            {"Content-Type": "application/rss+xml"}))
        yield web


def _config(tmp_path: Path, *, allow_private: bool) -> Path:
    config = tmp_path / "migwatch-config"
    config.mkdir()
    (config / "migwatch.yaml").write_text(
        f"network:\n  allow_private: {str(allow_private).lower()}\n", encoding="utf-8")
    (config / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    return config


def test_sources_add_of_a_private_address_says_where_to_allow_it(
    tmp_path: Path, web_with_a_japanese_page: SampleWeb,
) -> None:
    config = _config(tmp_path, allow_private=False)
    result = run("--config", str(config), "sources", "add",
                 web_with_a_japanese_page.url("/tabunka/"), "--yes")
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("error: refused: 127.0.0.1 is a private/loopback address; ")
    assert line.endswith(f"write 'network: {{allow_private: true}}' in {config}/migwatch.yaml "
                         "(only for a source you trust)")
    check = run("--config", str(config), "sources", "check",
                web_with_a_japanese_page.url("/tabunka/feed.rss"))
    assert check.returncode == 2 and one_line(check) == line


def test_sources_add_takes_the_pages_language(
    tmp_path: Path, web_with_a_japanese_page: SampleWeb,
) -> None:
    from config.loader import load_sources

    config = _config(tmp_path, allow_private=True)
    result = run("--config", str(config), "sources", "add",
                 web_with_a_japanese_page.url("/tabunka/"), "--yes")
    assert result.returncode == 0, result.stderr
    (added,) = load_sources(config)
    assert added.url == web_with_a_japanese_page.url("/tabunka/feed.rss")
    assert added.language == "ja"  # from <html lang="ja-JP">; the feed names none


def test_sources_add_without_a_scheme_tries_https(tmp_path: Path) -> None:
    config = _config(tmp_path, allow_private=True)
    port = _closed_port()
    result = run("--config", str(config), "sources", "add", f"127.0.0.1:{port}/news", "--yes")
    assert f"trying https://127.0.0.1:{port}/news" in result.stdout
    assert "is not an http:// or https:// address" not in result.stderr
    assert result.returncode == 1 and one_line(result).startswith(
        f"error: cannot reach https://127.0.0.1:{port}/news")


@pytest.mark.parametrize("env", [{"MIGWATCH_LANG": "ja"},
                                 {"MIGWATCH_LANG": "", "LC_ALL": "", "LANG": "ja_JP.UTF-8"}])
def test_messages_are_in_japanese_for_a_japanese_user(tmp_path: Path,
                                                      env: dict[str, str]) -> None:
    config = write_config(tmp_path / "c", "http://127.0.0.1:9")
    (config / "migwatch.yaml").write_text("crawler:\n  download_delay_second: 2\n",
                                          encoding="utf-8")
    result = run("--config", str(config), "--db", f"sqlite:///{tmp_path}/d.sqlite3", "status",
                 env=env)
    assert result.returncode == 2
    assert one_line(result) == (
        f"エラー: {config}/migwatch.yaml:2: crawler.download_delay_second: 不明なキーです。"
        "'download_delay_seconds' の誤りではありませんか？")


def test_a_404_from_a_source_is_a_warning_in_the_log(tmp_path: Path) -> None:
    from migwatch.sampleweb import status

    build_site(tmp_path / "web")
    with SampleWeb(tmp_path / "web") as web:
        web.route("/gone.rss", status(404, b"not here"))
        config = write_config(tmp_path / "migwatch-config", web.base_url,
                              extra_sources=f'  - {{key: gone, name: Gone, kind: feed, '
                                            f'url: "{web.base_url}/gone.rss"}}\n')
        result = run("--config", str(config), "--db", f"sqlite:///{tmp_path}/d.sqlite3", "run")
    assert result.returncode == 1, result.stderr
    (line,) = [ln for ln in result.stderr.splitlines() if "source=gone" in ln]
    assert " WARNING crawler.collect: source=gone status=error " in line and "HTTP 404" in line
    assert " ERROR " not in result.stderr and "Traceback" not in result.stderr


def test_run_logs_a_network_that_is_down_once(tmp_path: Path) -> None:
    config = tmp_path / "migwatch-config"
    down = "".join(f'  - {{key: offline-{i}, name: Offline {i}, kind: feed, '
                   f'url: "http://127.0.0.1:{_closed_port()}/feed.rss"}}\n' for i in range(4))
    config.mkdir()
    (config / "migwatch.yaml").write_text(
        "crawler: {download_delay_seconds: 0, timeout_seconds: 5, retries: 0}\n"
        "network: {allow_private: true}\n", encoding="utf-8")
    (config / "sources.yaml").write_text("sources:\n" + down, encoding="utf-8")
    result = run("--config", str(config), "--db", f"sqlite:///{tmp_path}/d.sqlite3", "run")
    assert result.returncode == 1
    warnings = [ln for ln in result.stderr.splitlines() if " WARNING " in ln]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].endswith("collect status=offline the network looks unreachable: 4 of 4 "
                                "sources could not reach their host")
