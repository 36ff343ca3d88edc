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
shingles are shared by unrelated English text).  datasketch gives the permutations and
the LSH band shape for the threshold; the signatures (shingle hashes, permutations,
minima) and the banding run on the whole week at once with numpy.  Each candidate
pair is confirmed on its MinHash estimate before the union, so a lucky band collision
cannot merge two stories.  An article already seen in several sources is one row with
several sightings and therefore already one story.

2. **Event evidence**, which survives translation and rewriting (:mod:`digest.evidence`):
   the figures, shares and dates both articles give and the organisations, places,
   people and countries both name.  Each shared feature adds its weight
   (:data:`EVIDENCE_WEIGHTS`); a feature carried by more than :func:`common_limit`
   articles of the week (IOM in an IOM watch, the year) is background and adds nothing.
   A precise figure (2.4%, 3.95 million) weighs :data:`SPECIFIC_BONUS` more than a round
   one (20%, 250).  Two articles published within :data:`EVIDENCE_WINDOW` of each other
   are linked when their shared evidence weighs at least :data:`EVIDENCE_THRESHOLD` and
   includes two numbers (figures, shares, dates), or one when either article gives at
   most two: two reports of one event give the same numbers; two events of one topic
   name the same organisations, and at most one background figure.  Pairs come from an
   inverted index of the uncommon features, so the cost is the sum of their squared
   frequencies, not the square of the week.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
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
# rows of one LSH bucket each row is paired with (see _candidate_pairs)
BUCKET_REACH = 32
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
SPECIFIC_BONUS = 1.0
_ROUND = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "9", "15", "25", "75"})


def is_specific(value: str) -> bool:
    """Whether a figure is precise enough to single an event out (2.4, 3.95e+06, 113),
    unlike a round one (20, 250, 6e+03) that many stories give."""
    if "-" in value and "e" not in value:  # a date, month-day
        return False
    mantissa = value.split("e")[0].replace(".", "").lstrip("0").rstrip("0")
    return mantissa not in _ROUND and len(mantissa) >= 2


def common_limit(count: int) -> int:
    """How many articles of a week may carry a feature before it is background."""
    return max(20, count // 20)


_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str, *, is_plain: bool = False) -> str:
    """NFKC-fold, case-fold, and reduce punctuation and spacing to single spaces."""
    folded = unicodedata.normalize("NFKC", text if is_plain else plain_text(text)).casefold()
    return _NOISE.sub(" ", folded).strip()


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


_SHINGLE_BASE = np.uint32(1_000_003)


def shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the character shingles of normalised ``text`` (2 for CJK-heavy
    text, else 4), repeats included: a minimum does not care.

    A shingle's hash is the polynomial of its code points, computed for all shingles at
    once on the UTF-32 array of the text (a Python call per shingle was most of the time).
    """
    letters = text.replace(" ", "")
    if not letters:
        return np.empty(0, dtype=np.uint32)
    is_cjk = len(_CJK.findall(letters)) / len(letters) > 0.3
    size = 2 if is_cjk else 4
    if is_cjk:
        # spaces carry no meaning in Japanese and vary between outlets
        text = letters
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    count = max(1, len(points) - size + 1)
    hashes: np.ndarray = np.zeros(count, dtype=np.uint32)
    for offset in range(min(size, len(points))):
        hashes = hashes * _SHINGLE_BASE + points[offset : offset + count]
    return hashes


def shingles(text: str) -> set[int]:
    """The distinct shingle hashes of normalised ``text``."""
    return set(shingle_hashes(text).tolist())


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser: spreads the polynomial hashes over all 32 bits."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    mixed: np.ndarray = values ^ (values >> np.uint32(16))
    return mixed


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    a, b = MinHash(num_perm=NUM_PERM, seed=1).permutations
    return a.astype(np.uint32), b.astype(np.uint32)


_CHUNK_SHINGLES = 65_536


def signatures_of(views: Sequence[np.ndarray]) -> np.ndarray:
    """The MinHash signature of each non-empty view, one row each (uint32).

    datasketch's permutations (``a·h + b`` on 32 bits) applied to the whole week at once,
    a block of views at a time, with one ``minimum.reduceat`` per block.
    """
    a, b = _permutations()
    rows = np.empty((len(views), NUM_PERM), dtype=np.uint32)
    start = 0
    while start < len(views):
        stop, total = start, 0
        while stop < len(views) and (total == 0 or total + len(views[stop]) <= _CHUNK_SHINGLES):
            total += len(views[stop])
            stop += 1
        block = _fmix32(np.concatenate(views[start:stop]))
        # one permutation per row: each reduction runs over contiguous memory (eight
        # times faster than reducing down the columns of the transposed layout)
        permuted = np.multiply.outer(a, block)
        permuted += b[:, None]
        offsets = np.cumsum([0] + [len(v) for v in views[start:stop - 1]])
        rows[start:stop] = np.minimum.reduceat(permuted, offsets, axis=1).T
        start = stop
    return rows


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
    one ``np.unique`` per band and the pairs of its buckets in a few array passes, no
    Python call per article, band or pair.
    """
    found: list[np.ndarray] = []
    count = len(signatures)
    width = signatures.dtype.itemsize * rows
    for band in range(bands):
        block = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
        keys = block.view(np.dtype((np.void, width))).ravel()
        _, bucket_of, sizes = np.unique(keys, return_inverse=True, return_counts=True)
        bucket_of = bucket_of.ravel()
        shared = np.flatnonzero(sizes[bucket_of] > 1)
        if not len(shared):
            continue
        # the rows of each shared bucket side by side, in row order; the pairs of a bucket
        # are its rows taken ``step`` apart, for every step up to the bucket's size
        order = shared[np.argsort(bucket_of[shared], kind="stable")]
        buckets = bucket_of[order]
        # a bucket's rows are paired with their next BUCKET_REACH neighbours only: a week of
        # templated pages (thousands in one bucket) stays linear, and a bucket's members are
        # still chained together, so the groups are those of every pair whenever
        # neighbours confirm each other
        for step in range(1, min(int(sizes.max()), BUCKET_REACH + 1)):
            same = buckets[:-step] == buckets[step:]
            if not same.any():
                break
            found.append(order[:-step][same] * count + order[step:][same])
    if not found:
        return np.empty((0, 2), dtype=np.intp)
    codes = np.unique(np.concatenate(found))
    return np.stack([codes // count, codes % count], axis=1).astype(np.intp)


def _link_similar(views: list[np.ndarray], threshold: float, groups: _Groups) -> None:
    present = [i for i, view in enumerate(views) if len(view)]
    if len(present) < 2:
        return
    signatures = signatures_of([views[i] for i in present])
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
    articles: Sequence[CandidateArticle], texts: Sequence[str], gazetteer: Gazetteer,
    groups: _Groups,
) -> None:
    evidence = [
        gazetteer.evidence(text, _when(article).date())
        for text, article in zip(texts, articles, strict=True)
    ]
    postings: dict[Feature, list[int]] = {}
    for position, features in enumerate(evidence):
        for feature in features:
            postings.setdefault(feature, []).append(position)
    limit = common_limit(len(articles))
    numbers_of = [sum(kind in _HARD_KINDS for kind, _ in features) for features in evidence]
    scores: dict[tuple[int, int], float] = {}
    hard: dict[tuple[int, int], int] = {}
    for feature, members in postings.items():
        if len(members) < 2 or len(members) > limit:
            continue
        weight = EVIDENCE_WEIGHTS.get(feature[0], 0.5)
        if feature[0] in _HARD_KINDS and is_specific(feature[1]):
            weight += SPECIFIC_BONUS
        for pair in itertools.combinations(members, 2):
            scores[pair] = scores.get(pair, 0.0) + weight
            if feature[0] in _HARD_KINDS:
                hard[pair] = hard.get(pair, 0) + 1
    times = [_when(article) for article in articles]
    for (first, second), score in scores.items():
        shared = hard.get((first, second), 0)
        # one shared number is enough only when one of the two gives few numbers: two
        # figure-rich reports that agree on one figure (a crisis's running total) are
        # two events that cite the same background
        enough = shared >= 2 or (shared == 1 and min(numbers_of[first], numbers_of[second]) <= 2)
        if (
            enough
            and score >= EVIDENCE_THRESHOLD
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
    plain_titles = [plain_text(article.title) for article in articles]
    plain_summaries = [plain_text(article.summary) for article in articles]
    titles = [normalise(title, is_plain=True) for title in plain_titles]
    leads = [
        f"{title} {normalise(summary, is_plain=True)[:LEAD_CHARS]}".strip()
        for title, summary in zip(titles, plain_summaries, strict=True)
    ]
    groups = _Groups(len(articles))
    _link_similar([shingle_hashes(title) for title in titles], TITLE_THRESHOLD, groups)
    _link_similar([shingle_hashes(lead) for lead in leads], LEAD_THRESHOLD, groups)
    texts = [f"{t}\n{s}" for t, s in zip(plain_titles, plain_summaries, strict=True)]
    _link_evidence(articles, texts, gazetteer or default_gazetteer(), groups)
    members: dict[int, list[CandidateArticle]] = {}
    for position, article in enumerate(articles):
        members.setdefault(groups.find(position), []).append(article)
    stories = [
        StoryCluster(tuple(sorted(group, key=_lead_key))) for group in members.values()
    ]
    stories.sort(key=lambda story: (story.first_seen_at, story.lead.id))
    return stories
