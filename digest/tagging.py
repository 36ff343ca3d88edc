"""Tag stored articles with the current themes, in committed batches.

Contract: :func:`tag_stored_articles` reads articles whose ``tagged_version`` differs from
the themes' version (or all of them), tags each with the pure
:func:`digest.themes.tag_article`, replaces its stored tags and commits every
``batch_size`` articles.  Running it twice tags nothing the second time; a crash loses at
most the batch in flight, and the next run picks up where this one stopped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from db.tags import ReasonData, TagData, articles_needing_tags, replace_tags
from digest.themes import ThemeMatch, ThemeSet, tag_article

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TagRunSummary:
    """How many articles were tagged, and how many of them got at least one theme."""

    tagged: int
    with_themes: int


def to_tag_data(match: ThemeMatch) -> TagData:
    """A theme match as the storage layer wants it."""
    return TagData(
        theme_id=match.theme_id,
        score=match.score,
        reasons=tuple(ReasonData(r.term, r.field, r.count) for r in match.reasons),
    )


def tag_stored_articles(
    sessions: sessionmaker[Session],
    themes: ThemeSet,
    *,
    retag_all: bool = False,
    batch_size: int = 500,
) -> TagRunSummary:
    """Tag articles not yet tagged with ``themes.version`` (all with ``retag_all``)."""
    tagged = with_themes = 0
    after_id = 0
    while True:
        with sessions() as session:
            batch = articles_needing_tags(
                session, themes.version, retag_all=retag_all, after_id=after_id,
                limit=batch_size,
            )
            if not batch:
                break
            tags = {}
            for article in batch:
                matches = tag_article(article.title, article.text, themes)
                tags[article.id] = [to_tag_data(m) for m in matches]
                with_themes += bool(matches)
            replace_tags(session, tags, themes.version)
            session.commit()
        tagged += len(batch)
        after_id = batch[-1].id
        log.debug("tag batch=%d last_id=%d", len(batch), after_id)
    log.info("tag status=ok tagged=%d with_themes=%d version=%s", tagged, with_themes,
             themes.version)
    return TagRunSummary(tagged=tagged, with_themes=with_themes)
