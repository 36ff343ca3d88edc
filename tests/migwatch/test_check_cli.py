"""``migwatch check``: real files, real databases, a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from config.errors import ConfigError
from config.loader import DEFAULTS_DIR, THEMES_FILE, load_settings, load_sources
from config.themes import load_themes
from db import create_db_engine, session_factory
from db import store as db_store
from digest.deliver import PASSWORD_ENV
from migwatch.cli import main
from tests.digest.fixtures.smtp import RecordingHandler, free_port, smtp_server

SOURCES = """\
sources:
  - {key: un-news, name: UN News, kind: feed, url: 'https://news.un.org/feed/rss.xml'}
  - {key: iom-japan, name: IOM Japan, kind: feed, url: 'https://japan.iom.int/feed',
     enabled: false}
"""
SHIPPED_THEMES = len(load_themes(DEFAULTS_DIR / THEMES_FILE).themes)


def write_config(folder: Path, *, port: int, archive: Path, recipients: str = "[desk@example.org]",
                 smtp_extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "migwatch.yaml").write_text(
        f"digest:\n  recipients: {recipients}\n  archive_dir: '{archive}'\n"
        f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  starttls: false\n{smtp_extra}",
        encoding="utf-8")
    (folder / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    return folder


def run(config: Path, db: str, *args: str) -> int:
    with pytest.raises(SystemExit) as stopped:
        main(["--config", str(config), "--db", db, "check", *args])
    code = stopped.value.code
    return code if isinstance(code, int) else 1


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def store_articles(db_url: str, count: int) -> None:
    engine = create_db_engine(db_url)
    now = datetime.now(UTC)
    with session_factory(engine)() as session:
        ids = db_store.sync_sources(session, [db_store.SourceSpec(
            key="un-news", name="UN News", kind="feed", url="https://news.un.org/feed/rss.xml",
            language="en", weight=1.0, enabled=True)], now)
        session.commit()
    articles = [
        (ids["un-news"], db_store.NewArticle(
            source_key="un-news", identity=url, canonical_url=url, url=url, guid=None,
            content_hash=f"hash{n}", title=f"Story {n}", summary="", text="Text.",
            language="en", author=None, published_at=None, is_fetched=True,
        ))
        for n in range(count) if (url := f"https://news.un.org/story/{n}")
    ]
    with engine.begin() as conn:
        db_store.store_batch(conn, articles, [], now)
    engine.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/var/migwatch.sqlite3"


def test_all_good_exits_0_with_a_tick_per_check_and_sends_nothing(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store_articles(db_url, 2)
    archive = tmp_path / "archive"
    archive.mkdir()
    with smtp_server() as (handler, port):
        config = write_config(tmp_path / "config", port=port, archive=archive)
        code = run(config, db_url)
    shown = make_url(db_url).render_as_string(hide_password=True)
    assert lines(capsys) == [
        f"configuration folder {config}",
        "✓ migwatch.yaml: valid",
        "✓ sources.yaml: valid, 2 sources, 1 enabled",
        f"✓ themes.yaml: not present: the shipped one, {SHIPPED_THEMES} themes",
        f"✓ database {shown}: reachable, schema up to date, 2 articles",
        f"✓ archive folder {archive}: writable",
        f"✓ mail server 127.0.0.1:{port}: connected (no TLS, no login), 1 recipient, "
        "nothing sent",
        "ready: 6 passed",
    ]
    assert code == 0
    assert handler.received == [] and handler.asked == []
    assert list(archive.iterdir()) == []  # the probe file is gone


def test_a_new_database_is_created_and_migrated_and_a_missing_archive_is_not_left_behind(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "not-yet" / "archive"
    config = write_config(tmp_path / "config", port=free_port(), archive=archive)
    code = run(config, sqlite_db, "--no-smtp")
    out = lines(capsys)
    assert code == 0, out
    assert f"✓ database {sqlite_db}: reachable, schema up to date, 0 articles" in out
    assert f"✓ archive folder {archive}: can be created" in out
    assert "– mail server 127.0.0.1" in out[-2] and out[-2].endswith("not checked (--no-smtp)")
    assert out[-1] == "ready: 5 passed, 1 not checked"
    assert not (tmp_path / "not-yet").exists()
    engine = create_db_engine(sqlite_db)
    assert "articles" in inspect(engine).get_table_names()
    engine.dispose()


def test_a_broken_migwatch_yaml_exits_2_with_every_problem_and_the_other_checks_still_run(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config", port=free_port(), archive=tmp_path / "a")
    settings = config / "migwatch.yaml"
    settings.write_text("timezone: Mars/Olympus\ncolour: blue\n" + settings.read_text())
    with pytest.raises(ConfigError) as loader:
        load_settings(config)
    code = run(config, sqlite_db)
    out = lines(capsys)
    assert code == 2
    assert out[1:5] == [
        "✗ migwatch.yaml: invalid",
        *(f"    {problem}" for problem in loader.value.problems),
        "    → fix the lines above, then run `migwatch check` again",
    ]
    assert f"{settings}:1: timezone:" in out[2] and f"{settings}:2: colour: unknown key" in out[3]
    assert "✓ sources.yaml: valid, 2 sources, 1 enabled" in out
    assert any(line.startswith("✓ database ") for line in out)
    assert "– archive folder and mail: not checked (migwatch.yaml is invalid)" in out
    assert out[-1].startswith("not ready: 1 failed, 3 passed, 1 not checked;")


def test_a_broken_sources_yaml_exits_2_and_the_mail_server_is_still_checked(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with smtp_server() as (_, port):
        config = write_config(tmp_path / "config", port=port, archive=tmp_path / "a")
        sources = config / "sources.yaml"
        sources.write_text(SOURCES.replace("kind: feed", "kind: fed", 1)
                           + "  - {key: un-news, name: Again, kind: feed, url: 'ftp://x'}\n")
        with pytest.raises(ConfigError) as loader:
            load_sources(config)
        code = run(config, sqlite_db)
    out = lines(capsys)
    assert code == 2
    assert len(loader.value.problems) == 2
    assert out[2:6] == [
        "✗ sources.yaml: invalid",
        *(f"    {problem}" for problem in loader.value.problems),
        "    → fix the lines above, then run `migwatch check` again",
    ]
    assert out[3].startswith(f"{'':4}{sources}:2: sources[0].kind:")
    assert any(line.startswith(f"✓ mail server 127.0.0.1:{port}: connected") for line in out)


def test_an_archive_folder_under_a_regular_file_fails_and_creates_nothing(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "archive-parent"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    archive = blocker / "archive"
    config = write_config(tmp_path / "config", port=free_port(), archive=archive)
    code = run(config, sqlite_db, "--no-smtp")
    out = lines(capsys)
    assert code == 1
    at = out.index(f"✗ archive folder {archive}: cannot be created")
    assert out[at + 1:at + 3] == [
        f"    {blocker} is a file, not a folder",
        "    → set digest.archive_dir in migwatch.yaml to a folder migwatch may write in",
    ]
    assert blocker.read_text(encoding="utf-8") == "a file where a folder should be"
    assert out[-1].startswith("not ready: 1 failed, 4 passed, 1 not checked;")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_archive_folder_nobody_can_write_in_fails(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the tests run as root, whom permissions do not stop; /proc takes no new files
    config = write_config(tmp_path / "config", port=free_port(), archive=Path("/proc/self"))
    code = run(config, sqlite_db, "--no-smtp")
    out = lines(capsys)
    assert code == 1
    at = out.index("✗ archive folder /proc/self: not writable")
    assert out[at + 1].startswith("    cannot write a file in it: ")


def test_an_unreachable_mail_server_exits_1_with_a_one_line_reason(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    config = write_config(tmp_path / "config", port=port, archive=tmp_path / "a")
    code = run(config, sqlite_db)
    out = lines(capsys)
    assert code == 1
    assert out[-3:] == [
        f"✗ mail server 127.0.0.1:{port}: not usable",
        f"    cannot reach 127.0.0.1:{port} (Connection refused); check smtp.host and smtp.port",
        "not ready: 1 failed, 5 passed; fix what is marked ✗, then run `migwatch check` again",
    ]


def test_a_username_without_the_password_variable_is_a_failure(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    config = write_config(tmp_path / "config", port=free_port(), archive=tmp_path / "a",
                          smtp_extra="  username: desk\n")
    code = run(config, sqlite_db)
    out = lines(capsys)
    assert code == 1
    assert out[-2] == f"    smtp.username is set but {PASSWORD_ENV} is not; export it first"


@contextmanager
def auth_server(user: str, password: str) -> Iterator[tuple[RecordingHandler, int]]:
    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(), password.encode())
        return AuthResult(success=ok, handled=False)  # False: the server answers 535

    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.mark.parametrize("password", ["right", "wrong"])
def test_the_check_logs_in_as_delivery_does(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, password: str,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, password)
    with auth_server("desk", "right") as (handler, port):
        config = write_config(tmp_path / "config", port=port, archive=tmp_path / "a",
                              smtp_extra="  username: desk\n")
        code = run(config, sqlite_db)
    out = lines(capsys)
    assert handler.received == []
    if password == "right":
        assert code == 0, out
        assert out[-2] == (f"✓ mail server 127.0.0.1:{port}: connected (no TLS, logged in as "
                           "desk), 1 recipient, nothing sent")
    else:
        assert code == 1
        assert out[-3] == f"✗ mail server 127.0.0.1:{port}: not usable"
        assert out[-2].startswith("    login refused (535 ")
        assert out[-2].endswith(f"; check smtp.username and {PASSWORD_ENV}")


def test_no_recipients_is_a_warning_not_a_failure(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config", port=free_port(), archive=tmp_path / "a",
                          recipients="[]")
    code = run(config, sqlite_db)
    out = lines(capsys)
    assert code == 0
    assert out[-3:] == [
        "! mail: digest.recipients is empty",
        "    issues are only written to the archive folder",
        "ready: 5 passed, 1 warning",
    ]


def test_an_unreachable_database_fails_without_showing_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config", port=free_port(), archive=tmp_path / "a")
    url = f"postgresql+psycopg://digest:s3cret@127.0.0.1:{free_port()}/migwatch"
    code = run(config, url, "--no-smtp")
    out = lines(capsys)
    assert code == 1
    shown = url.replace("s3cret", "***")
    at = out.index(f"✗ database {shown}: cannot be used")
    reason = out[at + 1]  # one line, however narrow the terminal
    assert reason.startswith(f"    database {shown} is unreachable: ")
    assert reason.endswith("check --db / MIGWATCH_DB_URL and that the server is running")
    assert "s3cret" not in "\n".join(out)


def test_a_url_the_engine_refuses_is_shown_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config", port=free_port(), archive=tmp_path / "a")
    url = "postgresql+nodriver://digest:s3cret@127.0.0.1/migwatch"
    code = run(config, url, "--no-smtp")
    out = lines(capsys)
    assert code == 1
    shown = url.replace("s3cret", "***")
    at = out.index(f"✗ database {shown}: cannot be used")
    assert out[at + 1].startswith(f"    database URL '{shown}' cannot be used: ")
    assert "s3cret" not in "\n".join(out)
    assert f"✓ archive folder {tmp_path / 'a'}: can be created" in out


def test_a_sqlite_file_whose_folder_cannot_exist_fails_and_the_rest_still_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "var").write_text("not a folder", encoding="utf-8")
    db = f"sqlite:///{tmp_path}/var/migwatch.sqlite3"
    config = write_config(tmp_path / "config", port=free_port(), archive=tmp_path / "a")
    code = run(config, db, "--no-smtp")
    out = lines(capsys)
    assert code == 1
    at = out.index(f"✗ database {db}: cannot be used")
    assert out[at + 1] == (f"    cannot create '{tmp_path}/var' for the database {db}: "
                           "File exists; check --db / MIGWATCH_DB_URL")
    assert not out[at + 2].startswith("    →")  # the reason already says what to do
    assert f"✓ archive folder {tmp_path / 'a'}: can be created" in out


def test_a_broken_themes_yaml_of_the_user_exits_2(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config", port=free_port(), archive=tmp_path / "a")
    (config / THEMES_FILE).write_text("themes:\n  - id: [unclosed\n", encoding="utf-8")
    code = run(config, sqlite_db, "--no-smtp")
    out = lines(capsys)
    assert code == 2
    at = out.index("✗ themes.yaml: invalid")
    assert out[at + 1].startswith(f"    {config / THEMES_FILE}:3: YAML syntax error")


def test_no_enabled_source_is_a_warning(
    tmp_path: Path, sqlite_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config", port=free_port(), archive=tmp_path / "a")
    sources = config / "sources.yaml"
    sources.write_text(SOURCES.replace("rss.xml'}", "rss.xml', enabled: false}"), encoding="utf-8")
    code = run(config, sqlite_db, "--no-smtp")
    out = lines(capsys)
    assert code == 0
    at = out.index("! sources.yaml: valid, 2 sources, 0 enabled")
    assert out[at + 1:at + 3] == [
        "    nothing will be collected",
        "    → add a source (`migwatch sources add URL`) or enable one",
    ]
    assert out[-1] == "ready: 4 passed, 1 warning, 1 not checked"
