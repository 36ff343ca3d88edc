"""Theme tags of stored articles: which need tagging, replacing them, reading them back.

Contract: callers get and give plain frozen dataclasses (:class:`ArticleForTagging`,
:class:`TagData`, :class:`StoredTag`); ORM rows never leave this module.  Replacing an
article's tags and setting ``Article.tagged_version`` happen in the caller's transaction,
so a batch commits or rolls back whole and a crash loses nothing already committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from db.engine import storage_errors
from db.models import Article, ArticleTag


@dataclass(frozen=True)
class ArticleForTagging:
    """What tagging needs of a stored article: its id, title and text (or summary)."""

    id: int
    title: str
    text: str


@dataclass(frozen=True)
class ReasonData:
    """One reason of a tag: the term, the field it was found in, how often."""

    term: str
    field: str
    count: int


@dataclass(frozen=True)
class TagData:
    """A tag to store for one article."""

    theme_id: str
    score: float
    reasons: tuple[ReasonData, ...]


@dataclass(frozen=True)
class StoredTag:
    """A stored tag, with the themes version it was computed with."""

    theme_id: str
    score: float
    reasons: tuple[ReasonData, ...]
    themes_version: str


def _stale(version: str, retag_all: bool) -> object:
    if retag_all:
        return True
    return or_(Article.tagged_version.is_(None), Article.tagged_version != version)


def articles_needing_tags(
    session: Session, version: str, *, retag_all: bool = False, after_id: int = 0,
    limit: int = 500,
) -> list[ArticleForTagging]:
    """Articles not tagged with ``version`` (all with ``retag_all``), by id after ``after_id``."""
    query = (
        select(Article.id, Article.title, Article.text, Article.summary)
        .where(Article.id > after_id, _stale(version, retag_all))  # type: ignore[arg-type]
        .order_by(Article.id)
        .limit(limit)
    )
    with storage_errors("cannot read articles to tag"):
        rows = session.execute(query).all()
    return [
        ArticleForTagging(id=row.id, title=row.title or "", text=row.text or row.summary or "")
        for row in rows
    ]


def count_articles_needing_tags(session: Session, version: str, *, retag_all: bool = False) -> int:
    """How many articles :func:`articles_needing_tags` would return in all."""
    query = select(func.count(Article.id)).where(_stale(version, retag_all))  # type: ignore[arg-type]
    return int(session.execute(query).scalar_one())


def _reasons_json(reasons: Iterable[ReasonData]) -> list[dict[str, object]]:
    return [{"term": r.term, "field": r.field, "count": r.count} for r in reasons]


def _reasons_from_json(value: object) -> tuple[ReasonData, ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for item in value:
        if isinstance(item, dict):
            out.append(ReasonData(str(item.get("term", "")), str(item.get("field", "")),
                                  int(item.get("count", 1))))
    return tuple(out)


def replace_tags(
    session: Session, tags_by_article: Mapping[int, Sequence[TagData]], themes_version: str
) -> None:
    """Replace every tag of many articles and mark them tagged with the version, in bulk:
    one DELETE, one multi-row INSERT and one UPDATE per 500 articles."""
    ids = list(tags_by_article)
    rows = [
        {"article_id": article_id, "theme_id": tag.theme_id, "score": float(tag.score),
         "reasons": _reasons_json(tag.reasons), "themes_version": themes_version}
        for article_id, tags in tags_by_article.items() for tag in tags
    ]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        session.execute(delete(ArticleTag).where(ArticleTag.article_id.in_(chunk)))
    if rows:
        session.execute(insert(ArticleTag), rows)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        session.execute(
            update(Article).where(Article.id.in_(chunk)).values(tagged_version=themes_version))


def replace_article_tags(
    session: Session, article_id: int, tags: Sequence[TagData], themes_version: str
) -> None:
    """Replace every tag of one article with ``tags`` and mark it tagged with the version."""
    replace_tags(session, {article_id: tags}, themes_version)


def tags_for_articles(session: Session, ids: Iterable[int]) -> dict[int, list[StoredTag]]:
    """Stored tags per article id, highest score first; ids without tags map to []."""
    wanted = sorted(set(ids))
    out: dict[int, list[StoredTag]] = {article_id: [] for article_id in wanted}
    for start in range(0, len(wanted), 500):  # keep IN lists short for both dialects
        chunk = wanted[start:start + 500]
        rows = session.scalars(
            select(ArticleTag)
            .where(ArticleTag.article_id.in_(chunk))
            .order_by(ArticleTag.article_id, ArticleTag.score.desc(), ArticleTag.theme_id)
        ).all()
        for row in rows:
            out[row.article_id].append(
                StoredTag(row.theme_id, row.score, _reasons_from_json(row.reasons),
                          row.themes_version)
            )
    return out
