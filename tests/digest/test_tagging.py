"""Tagging stored articles: idempotent, batched, re-tags when the rules change."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select

from config.themes import ThemesFile, load_themes
from db import session_factory
from db.models import Article, ArticleTag, Source
from db.tags import tags_for_articles
from digest.tagging.compile import compile_themes
from digest.tagging.store import TagRunSummary, tag_stored_articles

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
