"""The themes and tag commands, run through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, select

from db import create_db_engine, migrate, session_factory
from db.models import Article, ArticleTag, Source
from migwatch import cli as cli_module

cli_module._register()


def _run(args: list[str], tmp_path: Path, stdin: str | None = None) -> tuple[int, str]:
    runner = CliRunner()
    result = runner.invoke(
        cli_module.cli,
        ["--config", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'db.sqlite3'}", *args],
        input=stdin,
        catch_exceptions=True,
    )
    return result.exit_code, result.output


def test_themes_list_shows_every_theme_in_both_languages(tmp_path: Path) -> None:
    code, out = _run(["themes", "list", "--lang", "ja"], tmp_path)
    assert code == 0
    assert "iom" in out and "labour" in out and "国際移住機関" in out


def test_themes_test_explains_matches_scores_and_exclusions(tmp_path: Path) -> None:
    code, out = _run(["themes", "test", "--lang", "en", "--title", "IOM cuts jobs",
                      "Funding cuts at IOM hit refugees. Police also seized drug trafficking loot."],
                     tmp_path)
    assert code == 0
    assert "iom" in out and "yes" in out and '"IOM" (title)' in out
    assert "excluded" in out and "drug" in out


def test_themes_test_says_when_a_theme_is_only_mentioned_in_passing(tmp_path: Path) -> None:
    body = ("Farmers met in the regional hall on Tuesday.\n\nThey discussed prices and the "
            "weather at length over three hours of debate, with long exchanges on fertiliser "
            "costs, irrigation and rural roads that took most of the afternoon session. The "
            "chair thanked the speakers. Several asked for subsidies.\n\nNear the end a "
            "delegate from the International Organization for Migration (IOM) spoke briefly "
            "about IOM and the International Organization for Migration office.")
    code, out = _run(["themes", "test", "--lang", "en", body], tmp_path)
    assert code == 0
    assert "passing mention" in " ".join(out.split())


def test_classify_adds_themes_and_reasons_to_each_line(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": 1, "title": "IOM駐日事務所", "text": "人身取引被害者の帰国を支援した。"},
                   ensure_ascii=False) + "\n"
        + json.dumps({"id": 2, "title": "Stocks", "text": "Shares rose."}) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    code, _ = _run(["themes", "classify", "--jsonl", str(src), "--out", str(out)], tmp_path)
    assert code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    first, second = (json.loads(line) for line in lines)
    assert "人身取引" in lines[0]  # ensure_ascii=False
    assert set(first["themes"]) == {"iom", "trafficking"}
    assert first["reasons"]["iom"][0] == {"term": "IOM駐日事務所", "field": "title", "count": 1}
    assert second["themes"] == [] and second["reasons"] == {}


def test_a_broken_users_themes_file_exits_2_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "themes.yaml").write_text("themes:\n  - id: x\n    colour: red\n",
                                          encoding="utf-8")
    code, _ = _run(["themes", "list"], tmp_path)
    assert code != 0

    proc = subprocess.run(
        [sys.executable, "-m", "migwatch", "--config", str(tmp_path), "themes", "list"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert f"{tmp_path / 'themes.yaml'}:3: theme x: colour: unknown key" in proc.stderr


def test_tag_command_tags_stored_articles_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    code, _ = _run(["themes", "list"], tmp_path)  # no database needed
    assert code == 0
    engine = create_db_engine(url)
    migrate(engine)
    now = datetime(2026, 11, 2)
    with session_factory(engine)() as session:
        source = Source(key="s", name="S", kind="rss", url="http://127.0.0.1/f", created_at=now)
        session.add(source)
        session.flush()
        session.add(Article(identity="a", content_hash="h", first_seen_at=now, source_id=source.id,
                            title="UNHCR warns of refugee aid cuts", text="Refugees in camps."))
        session.commit()
    engine.dispose()
    code, out = _run(["tag"], tmp_path)
    assert code == 0 and "1" in out
    check = create_engine(url)
    with check.connect() as conn:
        assert "refugees" in set(conn.execute(select(ArticleTag.theme_id)).scalars())
    check.dispose()
    code, out = _run(["tag"], tmp_path)
    assert code == 0


def _store(tmp_path: Path, articles: list[tuple[str, str, str]]) -> list[int]:
    """Store (url, title, text) articles in the test database; their ids."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    migrate(engine)
    now = datetime(2026, 11, 2)
    ids = []
    with session_factory(engine)() as session:
        source = Source(key="s", name="S", kind="rss", url="http://127.0.0.1/f", created_at=now)
        session.add(source)
        session.flush()
        for n, (url, title, text) in enumerate(articles):
            article = Article(identity=url, canonical_url=url, content_hash=f"h{n}",
                              first_seen_at=now, source_id=source.id, title=title, text=text)
            session.add(article)
            session.flush()
            ids.append(article.id)
        session.commit()
    engine.dispose()
    return ids


def test_themes_test_speaks_the_digest_language_by_default(tmp_path: Path) -> None:
    code, out = _run(["themes", "test", "IOMは職員を削減すると発表した。"], tmp_path)
    assert code == 0
    assert "テーマの判定" in out and "得点 / しきい値" in out and "件のテーマに該当" in out
    (tmp_path / "migwatch.yaml").write_text("digest:\n  language: en\n", encoding="utf-8")
    code, out = _run(["themes", "test", "IOM cut staff."], tmp_path)
    assert code == 0 and "Theme test" in out and "テーマ" not in out


def test_themes_test_json_gives_every_theme_with_reasons(tmp_path: Path) -> None:
    code, out = _run(["themes", "test", "--json", "--lang", "en", "--title",
                      "UN migration agency to cut staff as donor contributions fall", ""],
                     tmp_path)
    assert code == 0
    data = json.loads(out)
    assert {"iom", "funding"} <= set(data["matched"])
    funding = next(t for t in data["themes"] if t["theme"] == "funding")
    assert funding["match"] is True
    assert any(r["term"].startswith("funding cut: ") for r in funding["reasons"])
    assert data["themes"][0]["theme"] == "iom"


def test_themes_test_explains_a_stored_article_by_id_or_url(tmp_path: Path) -> None:
    url = "https://news.example.org/iom-cuts"
    (article_id,) = _store(tmp_path, [(url, "IOM to shed staff",
                                       "The UN migration agency said donor money had fallen.")])
    for wanted in (str(article_id), url + "?utm_source=feed"):
        code, out = _run(["themes", "test", "--lang", "en", "--article", wanted], tmp_path)
        assert code == 0, out
        assert "IOM to shed staff" in out and "yes" in out
    code, out = _run(["themes", "test", "--lang", "en", "--article", "999"], tmp_path)
    assert code == 2 and "no stored article" in out


def test_themes_misses_lists_articles_with_evidence_below_the_threshold(tmp_path: Path) -> None:
    _store(tmp_path, [
        ("https://a.example/1", "Market day", "A refugee spoke at the fair."),
        ("https://a.example/2", "Refugees arrive", "Thousands of refugees crossed the border."),
        ("https://a.example/3", "Stocks", "Shares rose."),
    ])
    code, out = _run(["themes", "misses", "--theme", "refugees", "--lang", "en"], tmp_path)
    assert code == 0, out
    assert "Market day" in out and "Refugees arrive" not in out and "Stocks" not in out
    assert "1 article(s)" in out
    code, out = _run(["themes", "misses", "--theme", "refugees", "--since", "2030-01-01",
                      "--lang", "en"], tmp_path)
    assert code == 0 and "0 article(s)" in out
    code, out = _run(["themes", "misses", "--theme", "nope"], tmp_path)
    assert code == 2 and "not a theme" in out
