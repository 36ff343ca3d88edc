"""Story clustering: near-duplicate articles of one week become one story.

Contract: ``cluster_stories(articles)`` takes the week's candidates and returns stories
that partition them (every article in exactly one story), in a stable order.  It is pure:
no clock, no database, no network.

Two articles share a story when the MinHash estimate of the Jaccard similarity of their
character shingles passes a threshold, on either of two views:

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
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import zlib
from collections.abc import Sequence

import numpy as np
from datasketch import MinHash, MinHashLSH

from digest.model import CandidateArticle, StoryCluster
from digest.sanitize import plain_text

NUM_PERM = 64
LEAD_CHARS = 160
# similarity thresholds (estimated Jaccard) for the two views
TITLE_THRESHOLD = 0.4
LEAD_THRESHOLD = 0.4


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


def _lead_key(article: CandidateArticle) -> tuple[int, float, object, int]:
    weight = max((s.source_weight for s in article.sightings), default=0.0)
    return (-len(article.sightings), -weight, article.first_seen_at, article.id)


def cluster_stories(articles: Sequence[CandidateArticle]) -> list[StoryCluster]:
    """Group near-duplicate articles into stories, earliest story first."""
    titles = [normalise(article.title) for article in articles]
    leads = [
        f"{title} {normalise(article.summary)[:LEAD_CHARS]}".strip()
        for title, article in zip(titles, articles, strict=True)
    ]
    groups = _Groups(len(articles))
    _link_similar([shingles(title) for title in titles], TITLE_THRESHOLD, groups)
    _link_similar([shingles(lead) for lead in leads], LEAD_THRESHOLD, groups)
    members: dict[int, list[CandidateArticle]] = {}
    for position, article in enumerate(articles):
        members.setdefault(groups.find(position), []).append(article)
    stories = [
        StoryCluster(tuple(sorted(group, key=_lead_key))) for group in members.values()
    ]
    stories.sort(key=lambda story: (story.first_seen_at, story.lead.id))
    return stories
