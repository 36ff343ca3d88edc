"""Tagging stored articles: idempotent, batched, re-tags when the rules change."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from config.errors import ConfigError
from config.themes import ThemesFile, load_themes
from db import session_factory
from db.models import Article, ArticleTag, Source
from db.tags import articles_needing_tags, tags_for_articles
from digest.tagging.compile import compile_themes
from digest.tagging.loader import load_theme_set
from digest.tagging.store import TagRunSummary, retag_article, tag_stored_articles

NOW = datetime(2026, 11, 2, 9, 0)
SHIPPED = load_themes(Path(__file__).resolve().parents[2] / "config" / "themes.yaml")


def _seed(engine: Engine, count: int) -> None:
    with session_factory(engine)() as session:
        source = Source(key="s", name="S", kind="rss", url="http://127.0.0.1/f", created_at=NOW)
        session.add(source)
        session.flush()
        for i in range(count):
            relevant = i % 2 == 0
            session.add(Article(
                identity=f"a{i}", content_hash=f"h{i}", first_seen_at=NOW, source_id=source.id,
                title="IOM、資金不足で職員削減" if relevant else "日経平均が続落",
                text="" if relevant else "円高で輸出株が売られた。",
                summary="国際移住機関は米国の拠出停止を受け、人員削減を発表した。" if relevant else "",
            ))
        session.commit()


def test_tagging_is_batched_idempotent_and_uses_the_summary_when_text_is_empty(
    engine: Engine,
) -> None:
    _seed(engine, 7)
    sessions = session_factory(engine)
    themes = compile_themes(SHIPPED)
    assert tag_stored_articles(sessions, themes, batch_size=3) == TagRunSummary(7, 4)
    assert tag_stored_articles(sessions, themes, batch_size=3) == TagRunSummary(0, 0)
    with sessions() as session:
        versions = set(session.scalars(select(Article.tagged_version)).all())
        first_id = session.scalars(select(Article.id).order_by(Article.id)).first()
        assert first_id is not None
        tags = tags_for_articles(session, [first_id])[first_id]
    assert versions == {themes.version}
    assert {t.theme_id for t in tags} == {"iom", "funding"}
    assert all(t.themes_version == themes.version for t in tags)


def test_changing_the_rules_re_tags_and_all_re_tags_everything(engine: Engine) -> None:
    _seed(engine, 4)
    sessions = session_factory(engine)
    tag_stored_articles(sessions, compile_themes(SHIPPED))
    data = SHIPPED.model_dump()
    data["themes"] = [t for t in data["themes"] if t["id"] != "funding"]
    changed = compile_themes(ThemesFile.model_validate(data))
    assert tag_stored_articles(sessions, changed) == TagRunSummary(4, 2)
    with sessions() as session:
        assert "funding" not in set(session.scalars(select(ArticleTag.theme_id)).all())
    assert tag_stored_articles(sessions, changed, retag_all=True) == TagRunSummary(4, 2)


def test_retag_article_replaces_one_articles_tags_with_the_given_rules(engine: Engine) -> None:
    _seed(engine, 2)
    sessions = session_factory(engine)
    themes = compile_themes(SHIPPED)
    tag_stored_articles(sessions, themes)
    data = SHIPPED.model_dump()
    data["themes"] = [t for t in data["themes"] if t["id"] != "funding"]
    without_funding = compile_themes(ThemesFile.model_validate(data))
    with sessions() as session:
        first = articles_needing_tags(session, "none", retag_all=True, limit=1)[0]
        matches = retag_article(session, first, without_funding)
        session.commit()
        stored = tags_for_articles(session, [first.id])[first.id]
    assert [m.theme_id for m in matches] == ["iom"]
    assert {t.theme_id for t in stored} == {"iom"}
    assert {t.themes_version for t in stored} == {without_funding.version}


def test_the_loader_compiles_once_per_file_version_and_names_a_missing_file(
    tmp_path: Path,
) -> None:
    first = load_theme_set(tmp_path)
    assert first.path.name == "themes.yaml" and first.theme_set.ids[0] == "iom"
    assert load_theme_set(tmp_path) is first  # cached
    own = tmp_path / "themes.yaml"
    own.write_text((Path(__file__).resolve().parents[2] / "config" / "themes.yaml")
                   .read_text(encoding="utf-8").replace("threshold: 2.0", "threshold: 2.1", 1),
                   encoding="utf-8")
    second = load_theme_set(tmp_path)
    assert second.path == own and second.theme_set.version != first.theme_set.version
    assert second.config.themes[0].threshold == 2.1
    with pytest.raises(ConfigError, match="themes file not found"):
        load_theme_set(tmp_path, tmp_path / "missing.yaml")
