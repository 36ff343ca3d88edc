"""Event clustering: the week's articles about one event become one story.

Contract: ``cluster_stories(articles, gazetteer)`` takes the week's candidates and returns
events that partition them (every article in exactly one), in a stable order.  It is
pure: no clock, no database, no network.

Two articles share an event when either test links them:

1. **Near-duplicate text**, which catches wire copies and edited headlines in one
   language: the MinHash estimate of the Jaccard similarity of their character shingles
   passes a threshold, on either of two views:

* the headline alone (catches the same headline with different lead paragraphs), and
* the headline with the start of the summary (catches wire copies whose headline an
  outlet edited but whose lead paragraph it kept).

Text is NFKC-folded and case-folded first, so full-width ``ＩＯＭ`` and ``IOM`` agree.
Shingles are characters, not words, because Japanese has no spaces: two-character
shingles for text that is mostly CJK, four-character ones otherwise (short Latin
shingles are shared by unrelated English text).  datasketch computes the MinHash
signatures and the LSH band shape for the threshold; the banding itself runs on the
whole signature matrix with numpy.  Each candidate pair is confirmed on its MinHash
estimate before the union, so a lucky band collision cannot merge two stories.  An
article already seen in several sources is one row with several sightings and therefore
already one story.

2. **Event evidence**, which survives translation and rewriting (:mod:`digest.evidence`):
   the figures, shares and dates both articles give and the organisations, places,
   people and countries both name.  Each shared feature adds its weight
   (:data:`EVIDENCE_WEIGHTS`); a feature carried by more than :func:`common_limit`
   articles of the week (IOM in an IOM watch, the year) is background and adds nothing.
   Two articles published within :data:`EVIDENCE_WINDOW` of each other are linked when
   their shared evidence weighs at least :data:`EVIDENCE_THRESHOLD` and includes at least
   one figure or date: two reports of one event give the same numbers, two events of one
   topic name the same organisations but not the same numbers.  Pairs come from an
   inverted index of the uncommon features, so the cost is the sum of their squared
   frequencies, not the square of the week.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache

import numpy as np
from datasketch import MinHash, MinHashLSH

from db.times import utc_naive
from digest.evidence import Feature, Gazetteer, build_gazetteer
from digest.model import CandidateArticle, StoryCluster
from digest.sanitize import plain_text

NUM_PERM = 64
LEAD_CHARS = 160
# similarity thresholds (estimated Jaccard) for the two views
TITLE_THRESHOLD = 0.4
LEAD_THRESHOLD = 0.4


EVIDENCE_WEIGHTS = {
    "fig": 2.0, "pct": 2.0, "date": 1.5, "org": 1.0, "person": 1.5, "place": 1.0,
    "country": 0.5, "term": 0.5,
}
EVIDENCE_THRESHOLD = 3.5
EVIDENCE_WINDOW = timedelta(days=4)
_HARD_KINDS = frozenset({"fig", "pct", "date"})


def common_limit(count: int) -> int:
    """How many articles of a week may carry a feature before it is background."""
    return max(6, count // 33)


_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """NFKC-fold, case-fold, and reduce punctuation and spacing to single spaces."""
    folded = unicodedata.normalize("NFKC", plain_text(text)).casefold()
    return _NOISE.sub(" ", folded).strip()


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def shingles(text: str) -> set[bytes]:
    """Character shingles of normalised ``text`` (2 for CJK-heavy text, else 4)."""
    letters = text.replace(" ", "")
    if not letters:
        return set()
    is_cjk = len(_CJK.findall(letters)) / len(letters) > 0.3
    size = 2 if is_cjk else 4
    if is_cjk:
        # spaces carry no meaning in Japanese and vary between outlets
        text = letters
    if len(text) <= size:
        return {text.encode()}
    return {text[i : i + size].encode() for i in range(len(text) - size + 1)}


class _Groups:
    """Union-find over article positions."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def _band_shape(threshold: float) -> tuple[int, int]:
    """Bands and rows per band that datasketch chooses for ``threshold`` (equal weights)."""
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    return lsh.b, lsh.r


def _candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Pairs of rows that agree on every value of at least one band, as a (k, 2) array.

    The banding of datasketch's MinHashLSH, done on the whole signature matrix at once:
    one ``np.unique`` per band instead of a Python call per article and band.
    """
    found: set[tuple[int, int]] = set()
    width = signatures.dtype.itemsize * rows
    for band in range(bands):
        block = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
        keys = block.view(np.dtype((np.void, width))).ravel()
        _, bucket_of, sizes = np.unique(keys, return_inverse=True, return_counts=True)
        shared = np.flatnonzero(sizes[bucket_of] > 1)
        buckets: dict[int, list[int]] = {}
        for position in shared.tolist():
            buckets.setdefault(int(bucket_of[position]), []).append(position)
        for members in buckets.values():
            found.update(itertools.combinations(members, 2))
    return np.array(sorted(found), dtype=np.intp).reshape(-1, 2)


def _link_similar(views: list[set[bytes]], threshold: float, groups: _Groups) -> None:
    present = [i for i, view in enumerate(views) if view]
    if len(present) < 2:
        return
    # crc32 is plenty for shingle hashing here and, unlike SHA-1, costs almost nothing
    hashes = MinHash.bulk(
        [list(views[i]) for i in present], num_perm=NUM_PERM, hashfunc=zlib.crc32
    )
    signatures = np.vstack([minhash.hashvalues for minhash in hashes])
    pairs = _candidate_pairs(signatures, *_band_shape(threshold))
    if not len(pairs):
        return
    # confirm each candidate on its estimate (what MinHash.jaccard computes), so a lucky
    # band collision cannot merge two stories
    agree = (signatures[pairs[:, 0]] == signatures[pairs[:, 1]]).mean(axis=1)
    for first, second in pairs[agree >= threshold].tolist():
        groups.union(present[first], present[second])


def _when(article: CandidateArticle) -> datetime:
    return utc_naive(article.published_at) if article.published_at else article.first_seen_at


def _link_evidence(
    articles: Sequence[CandidateArticle], gazetteer: Gazetteer, groups: _Groups
) -> None:
    evidence = [
        gazetteer.evidence(f"{plain_text(a.title)}\n{plain_text(a.summary)}") for a in articles
    ]
    postings: dict[Feature, list[int]] = {}
    for position, features in enumerate(evidence):
        for feature in features:
            postings.setdefault(feature, []).append(position)
    limit = common_limit(len(articles))
    scores: dict[tuple[int, int], float] = {}
    hard: set[tuple[int, int]] = set()
    for feature, members in postings.items():
        if len(members) < 2 or len(members) > limit:
            continue
        weight = EVIDENCE_WEIGHTS.get(feature[0], 0.5)
        for pair in itertools.combinations(members, 2):
            scores[pair] = scores.get(pair, 0.0) + weight
            if feature[0] in _HARD_KINDS:
                hard.add(pair)
    times = [_when(article) for article in articles]
    for (first, second), score in scores.items():
        if (
            score >= EVIDENCE_THRESHOLD
            and (first, second) in hard
            and abs(times[first] - times[second]) <= EVIDENCE_WINDOW
        ):
            groups.union(first, second)


@cache
def default_gazetteer() -> Gazetteer:
    """The shipped gazetteer and the countries, without theme aliases."""
    return build_gazetteer()


def _lead_key(article: CandidateArticle) -> tuple[int, float, object, int]:
    weight = max((s.source_weight for s in article.sightings), default=0.0)
    return (-len(article.sightings), -weight, article.first_seen_at, article.id)


def cluster_stories(
    articles: Sequence[CandidateArticle], gazetteer: Gazetteer | None = None
) -> list[StoryCluster]:
    """Group the articles of one event into a story, earliest event first."""
    titles = [normalise(article.title) for article in articles]
    leads = [
        f"{title} {normalise(article.summary)[:LEAD_CHARS]}".strip()
        for title, article in zip(titles, articles, strict=True)
    ]
    groups = _Groups(len(articles))
    _link_similar([shingles(title) for title in titles], TITLE_THRESHOLD, groups)
    _link_similar([shingles(lead) for lead in leads], LEAD_THRESHOLD, groups)
    _link_evidence(articles, gazetteer or default_gazetteer(), groups)
    members: dict[int, list[CandidateArticle]] = {}
    for position, article in enumerate(articles):
        members.setdefault(groups.find(position), []).append(article)
    stories = [
        StoryCluster(tuple(sorted(group, key=_lead_key))) for group in members.values()
    ]
    stories.sort(key=lambda story: (story.first_seen_at, story.lead.id))
    return stories
