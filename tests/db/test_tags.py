"""Stored theme tags on SQLite and PostgreSQL: stale articles, replacing tags, reading them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from db import session_factory
from db.models import Article, ArticleTag, Source
from db.tags import (
    ReasonData,
    StoredTag,
    TagData,
    articles_needing_tags,
    count_articles_needing_tags,
    replace_article_tags,
    replace_tags,
    tags_for_articles,
)

NOW = datetime(2026, 11, 2, 9, 0)


def _seed(engine: Engine) -> list[int]:
    with session_factory(engine)() as session:
        source = Source(key="s", name="S", kind="rss", url="http://127.0.0.1/feed",
                        created_at=NOW)
        session.add(source)
        session.flush()
        rows = [
            Article(identity=f"a{i}", content_hash=f"h{i}", title=f"記事{i}",
                    text="本文" if i != 2 else "", summary="要約", first_seen_at=NOW,
                    source_id=source.id, tagged_version="old" if i == 3 else None)
            for i in range(1, 5)
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def test_articles_needing_tags_are_the_untagged_and_stale_ones(engine: Engine) -> None:
    ids = _seed(engine)
    with session_factory(engine)() as session:
        replace_article_tags(session, ids[0], [], "v1")
        session.commit()
        stale = articles_needing_tags(session, "v1")
        assert [a.id for a in stale] == ids[1:]
        assert stale[0].text == "要約"  # empty text falls back to the summary
        assert count_articles_needing_tags(session, "v1") == 3
        assert [a.id for a in articles_needing_tags(session, "v1", retag_all=True)] == ids
        assert [a.id for a in articles_needing_tags(session, "v1", after_id=ids[1], limit=1)] == [
            ids[2]
        ]


def test_replacing_tags_keeps_only_the_new_ones_and_reads_back(engine: Engine) -> None:
    ids = _seed(engine)
    reasons = (ReasonData("IOM", "title", 1), ReasonData("資金不足", "body", 2))
    with session_factory(engine)() as session:
        replace_article_tags(session, ids[0], [TagData("iom", 4.0, reasons),
                                               TagData("funding", 6.0, reasons[1:])], "v1")
        session.commit()
        replace_article_tags(session, ids[0], [TagData("funding", 5.5, reasons[1:])], "v2")
        session.commit()
        assert session.scalars(select(ArticleTag.theme_id)).all() == ["funding"]
        assert session.get(Article, ids[0]).tagged_version == "v2"  # type: ignore[union-attr]
        stored = tags_for_articles(session, [ids[0], ids[1]])
    assert stored == {
        ids[0]: [StoredTag("funding", 5.5, (ReasonData("資金不足", "body", 2),), "v2")],
        ids[1]: [],
    }


def test_tags_of_many_articles_are_replaced_in_one_go(engine: Engine) -> None:
    ids = _seed(engine)
    reason = (ReasonData("IOM", "title", 1),)
    with session_factory(engine)() as session:
        replace_tags(session, {ids[0]: [TagData("iom", 2.0, reason)],
                               ids[1]: [TagData("iom", 1.0, reason),
                                        TagData("funding", 3.0, reason)]}, "v1")
        session.commit()
        replace_tags(session, {ids[1]: [TagData("labour", 1.5, reason)], ids[2]: []}, "v2")
        session.commit()
        stored = tags_for_articles(session, ids[:3])
        versions = dict(session.execute(select(Article.id, Article.tagged_version)).all())
    assert [(t.theme_id, t.themes_version) for t in stored[ids[0]]] == [("iom", "v1")]
    assert [(t.theme_id, t.themes_version) for t in stored[ids[1]]] == [("labour", "v2")]
    assert stored[ids[2]] == []
    assert [versions[i] for i in ids] == ["v1", "v2", "v2", None]
