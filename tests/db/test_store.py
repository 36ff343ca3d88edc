"""Batched storage of what a crawl found, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from db import session_factory
from db import store as db_store
from db.models import Article, Sighting

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _sources(engine: Engine) -> dict[str, int]:
    with session_factory(engine)() as session:
        ids = db_store.sync_sources(session, [
            db_store.SourceSpec(key=key, name=key, kind="feed", url=f"https://{key}.example/rss",
                                language="en", weight=1.0, enabled=True)
            for key in ("wire", "paper")], NOW)
        session.commit()
    return ids


def _article(url: str, guid: str | None = None) -> db_store.NewArticle:
    return db_store.NewArticle(
        source_key="wire", identity=url, canonical_url=url, url=url, guid=guid,
        content_hash=f"h-{url}", title=f"Title of {url}", summary="", text="Text.",
        language="en", author=None, published_at=NOW, is_fetched=True)


def test_a_batch_stores_each_article_once_with_one_sighting_per_source(engine: Engine) -> None:
    ids = _sources(engine)
    wire, paper = ids["wire"], ids["paper"]
    guid = "urn:uuid:5f0c6a3e-0a52-4c59-9d7e-2d7f3a1b9e10"
    with engine.begin() as conn:
        first = db_store.store_batch(conn, [
            (wire, _article("https://a.example/1", guid)),
            (wire, _article("https://a.example/2")),
            (paper, _article("https://a.example/2")),  # the same article, another source
        ], [db_store.SeenEntry(paper, "https://a.example/9", None, "not stored")], NOW)
    assert first.new == {wire: 2}
    assert first.seen == {paper: 1}
    assert [s.identity for s in first.unresolved] == ["https://a.example/9"]
    with engine.begin() as conn:
        second = db_store.store_batch(conn, [
            (paper, _article("https://b.example/other-url-same-guid", guid)),
            (wire, _article("https://a.example/1")),
        ], [db_store.SeenEntry(paper, "https://a.example/1", None, "seen")], NOW)
    assert second.new == {}
    assert second.seen == {paper: 2, wire: 1}
    with engine.connect() as conn:
        articles = conn.scalar(select(func.count()).select_from(Article))
        sightings = conn.execute(select(Sighting.article_id, Sighting.source_id)).all()
        known = db_store.known_identities(conn, ["https://a.example/1", "https://x.example/"])
    assert articles == 2
    assert len(sightings) == len(set(sightings)) == 4
    assert known == {"https://a.example/1"}
    with session_factory(engine)() as session:
        by_source = db_store.known_identities_by_source(session, [wire, paper])
    assert by_source[wire] == {"https://a.example/1", "https://a.example/2"}
    assert by_source[paper] == {"https://a.example/1", "https://a.example/2"}
