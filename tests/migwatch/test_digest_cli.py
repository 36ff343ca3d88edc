"""``migwatch digest`` end to end: files written, mail sent once, exit codes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db import session_factory
from db.models import Article, Sighting, Source
from migwatch.cli import main
from tests.digest.fixtures.setup import RECIPIENTS, seed
from tests.digest.fixtures.smtp import smtp_server
from tests.digest.fixtures.week import NOW

BEN = RECIPIENTS[1]


def _config(tmp_path: Path, port: int) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    recipients = "\n".join(f"    - {address}" for address in RECIPIENTS)
    (folder / "migwatch.yaml").write_text(
        "timezone: Asia/Tokyo\n"
        "digest:\n"
        "  language: ja\n"
        f"  archive_dir: {tmp_path / 'archive'}\n"
        "  max_per_theme: 7\n"
        f"  recipients:\n{recipients}\n"
        "smtp:\n"
        "  host: 127.0.0.1\n"
        f"  port: {port}\n"
        "  starttls: false\n"
        "  ssl: false\n"
        "  sender: digest@migwatch.example.net\n",
        encoding="utf-8",
    )
    return folder


def _run(engine: Engine, config: Path, *args: str, now: datetime = NOW) -> int:
    url = engine.url.render_as_string(hide_password=False)
    argv = ["--config", str(config), "--db", url, "digest", "--now", now.isoformat(), *args]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    code = stopped.value.code
    return code if isinstance(code, int) else 1


def _status(engine: Engine, config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    url = engine.url.render_as_string(hide_password=False)
    with pytest.raises(SystemExit) as stopped:
        main(["--config", str(config), "--db", url, "status"])
    assert stopped.value.code in (0, None)
    return capsys.readouterr().out


def test_digest_writes_the_archive_and_sends_once_per_recipient(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed(engine)
    caplog.set_level(logging.WARNING, logger="digest.deliver")
    with smtp_server(refuse={BEN}) as (server, port):
        config = _config(tmp_path, port)
        assert _run(engine, config, "--send") == 1  # one recipient refused for good
        out = capsys.readouterr().out
        assert "2026-W48: 11 articles, 6 events, 7 outlets" in out
        assert "2026-W48.ja.html" in out and "2026-W48.ja.json" in out and "feed.ja.atom" in out
        assert "given-up" in out and "550" in out
        hint = "migwatch digest --week 2026-W48 --lang ja --send --retry-given-up"
        assert f"given up on 1 recipient: check the address and the smtp settings, then run: {hint}" in out
        status = _status(engine, config, capsys)
        assert "2026-W48 ja" in status
        assert f"2026-W48 ja {BEN} (given-up, 1 attempt): server refused the recipient: 550" in status
        assert f"to try the given-up recipients again: {hint}" in status
        server.refuse.clear()
        assert _run(engine, config, "--send") == 1  # not tried again by itself
        out = capsys.readouterr().out
        assert "already-sent" in out and hint in out
        (warning,) = [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]
        assert warning.startswith(f"gave up mailing 2026-W48 (ja) to {BEN} after 1 attempt")
        assert server.to(BEN) == []
        assert _run(engine, config, "--send", "--retry-given-up") == 0
        assert "sent" in capsys.readouterr().out
        assert _run(engine, config, "--send", "--lang", "en") == 0
        status = _status(engine, config, capsys)
        assert "given-up" not in status and "to try the given-up" not in status
    assert [len(server.to(a)) for a in RECIPIENTS] == [2, 2, 2]  # one ja and one en each
    archive = tmp_path / "archive"
    for name in ("2026-W48.ja.html", "2026-W48.ja.txt", "2026-W48.ja.json", "2026-W48.en.html",
                 "index.html", "feed.ja.atom", "feed.en.atom"):
        assert (archive / name).is_file()


def test_dry_run_writes_eml_files_to_the_outbox(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    config = _config(tmp_path, 1)
    assert _run(engine, config, "--dry-run", "--out", str(tmp_path / "out")) == 0
    assert len(list((tmp_path / "out" / "outbox").glob("*.eml"))) == 3
    assert "dry-run" in capsys.readouterr().out


def test_a_bad_week_is_a_one_line_usage_error(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, 1)
    assert _run(engine, config, "--week", "2026-48") == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: --week '2026-48' is not an ISO week; write it like 2026-W48"


def test_retry_given_up_needs_send(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, 1)
    assert _run(engine, config, "--retry-given-up") == 2
    assert capsys.readouterr().err.strip() == "error: --retry-given-up works only with --send"


def test_the_current_week_can_be_built_and_is_shown_as_in_progress(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, 1)
    assert _run(engine, config, "--week", "2026-W49") == 0
    assert "2026-W49 (in progress)" in capsys.readouterr().out


def test_a_week_that_has_not_started_is_refused_in_one_line(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, 1)
    assert _run(engine, config, "--week", "2026-W50") == 2
    assert capsys.readouterr().err.strip() == (
        "error: --week 2026-W50 has not started yet (it begins 2026-12-07); "
        "the latest week is 2026-W49"
    )


def _seed_this_week_only(engine: Engine, count: int) -> None:
    with session_factory(engine)() as session:
        source = Source(key="first", name="First Feed", kind="feed",
                        url="https://first.example.com/rss", weight=1.0,
                        created_at=datetime(2026, 11, 29, 23, 0), consecutive_failures=0,
                        state="active")
        session.add(source)
        session.flush()
        for n in range(count):
            seen = datetime(2026, 11, 29, 23, 30) + timedelta(minutes=n)
            article = Article(identity=f"first/{n}", url=f"https://first.example.com/{n}",
                              canonical_url=f"https://first.example.com/{n}",
                              content_hash=f"first-{n}", title=f"First article {n}",
                              summary="", text="", language="en", published_at=seen,
                              first_seen_at=seen, source_id=source.id)
            session.add(article)
            session.flush()
            session.add(Sighting(article_id=article.id, source_id=source.id, url=article.url,
                                 title=article.title, seen_at=seen))
        session.commit()


def test_an_empty_last_week_after_a_first_collection_points_at_this_week(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed_this_week_only(engine, 3)
    config = _config(tmp_path, 1)
    assert _run(engine, config) == 0
    out = capsys.readouterr().out
    assert ("2026-W48 has no new articles; this week (2026-W49) already holds 3 articles: "
            "preview it with migwatch digest --week 2026-W49") in out


def test_json_prints_the_issue_files_and_deliveries(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    config = _config(tmp_path, 1)
    assert _run(engine, config, "--json", "--dry-run") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["period"], summary["article_count"], summary["event_count"]) == (
        "2026-W48", 11, 6)
    assert Path(summary["files"]["json"]).name == "2026-W48.ja.json"
    assert [d["status"] for d in summary["deliveries"]] == ["dry-run"] * 3
    assert summary["highlights"][0].startswith("event-")


def test_an_empty_week_is_archived_not_mailed_and_the_ledger_says_why(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(engine)
    later = datetime(2026, 12, 14, 0, 30, tzinfo=UTC)  # the last complete week is W50: empty
    with smtp_server() as (server, port):
        config = _config(tmp_path, port)
        assert _run(engine, config, "--send", now=later) == 0
        out = capsys.readouterr().out
        assert "2026-W50: 0 articles" in out and "skipped" in out
        assert all(server.to(address) == [] for address in RECIPIENTS)
    assert (tmp_path / "archive" / "2026-W50.ja.html").is_file()
    status = _status(engine, config, capsys)
    assert "no new articles in 2026-W50; not mailed (digest.skip_empty)" in status
