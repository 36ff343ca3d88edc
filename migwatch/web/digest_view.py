"""What the digest makes of a week, for the article list and the article page.

"In the digest" means shown in that week's issue (its stories and their "+N more"),
computed by the digest's own ranking (:func:`digest.build.rank_week`) so the web app and
the mail never disagree; "its story" is the story the digest's clustering puts the
article in.  Both read the week's candidates once per call; nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.digests import load_candidates
from digest.periods import iso_week_bounds, week_of
from migwatch.context import AppContext


@dataclass(frozen=True)
class StoryMember:
    """Another article of the same story."""

    id: int
    title: str
    source_name: str


def digest_article_ids(app: AppContext, week: str, language: str, now: datetime) -> frozenset[int]:
    """Ids of the articles shown in ``week``'s issue in ``language``."""
    from digest.build import load_theme_infos, rank_week  # heavy: numpy, datasketch
    ranked = rank_week(app.sessions, app.settings, load_theme_infos(app.config_path),
                       period=week, language=language, now=now)
    ids: set[int] = set()
    for section in ranked.sections:
        for placed in (*section.stories, *section.more):
            ids.update(article.id for article in placed.story.articles)
    return frozenset(ids)


def story_of(app: AppContext, article_id: int,
             first_seen_at: datetime) -> tuple[str, list[StoryMember]]:
    """The article's week and the other articles of its story that week."""
    from digest.cluster import cluster_stories  # heavy: numpy, datasketch
    tz = app.settings.tz
    week = week_of(first_seen_at, tz)
    start, end = iso_week_bounds(week, tz)
    with app.sessions() as session:
        candidates = load_candidates(session, start, end)
    for story in cluster_stories(candidates):
        ids = [a.id for a in story.articles]
        if article_id in ids:
            return week, [
                StoryMember(a.id, a.title, a.sightings[0].source_name if a.sightings else "")
                for a in story.articles if a.id != article_id
            ]
    return week, []
