"""Combos: concepts of a theme that meet in one window count like a term.

Contract: :func:`combo_hits` gives, for one combo and one field, the hit ``(slot, reason,
start, end)`` of the first window (one sentence, or at most ``within`` characters) that
holds a word of every concept, none inside the theme's exclusions, when the combo's
``with`` concepts are somewhere in the article; the reason names the words found.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from digest.tagging.compile import Combo
from digest.tagging.scan import Hit, Scanned, inside


def _window(combo: Combo, scanned: Scanned, lists: list[list[Hit]], field_index: int,
            shared: bool) -> list[Hit] | None:
    """One hit of each concept inside one window, or None (``shared``: the lists are whole)."""
    if not combo.within:  # one sentence: look sentences up instead of searching between hits
        if shared:
            maps = [scanned.by_sentence(c, field_index) for c in combo.concepts]
        else:
            ends = scanned.sentence_ends(field_index)
            maps = [{bisect_right(ends, h[2]): h for h in reversed(hits)} for hits in lists]
        common = set(maps[0]).intersection(*maps[1:])
        if not common:
            return None
        sentence = min(common)
        return [m[sentence] for m in maps]
    within = combo.within
    rest = lists[1:]
    for anchor in lists[0]:
        a_start, a_end = anchor[2], anchor[3]
        found = [anchor]
        for others in rest:
            # Hits come in order of their end: skip to the first that ends near enough, stop
            # at the first that ends too far on.
            near = None
            for index in range(bisect_left(others, a_end - within, key=_end), len(others)):
                hit = others[index]
                if hit[3] - a_start > within:
                    break
                if max(a_end, hit[3]) - min(a_start, hit[2]) <= within:
                    near = hit
                    break
            if near is None:
                break
            found.append(near)
        else:
            return found
    return None


def _end(hit: Hit) -> int:
    return hit[3]


def combo_hits(combo: Combo, scanned: Scanned, spans: tuple[list[Hit], list[Hit]],
                field_index: int) -> list[Hit]:
    """A hit ``(slot, reason, start, end)`` where every concept of ``combo`` shares a window."""
    concepts = scanned.layout["concepts"]
    buckets = scanned.buckets
    for needed in combo.anywhere:
        bucket = 2 * (concepts + needed)
        title_hits, body_hits = buckets[bucket], buckets[bucket + 1]
        if not title_hits and not body_hits:
            return []
        if (spans[0] or spans[1]) and not any(
            not inside(spans[f], h[2], h[3])
            for f, hits in ((0, title_hits), (1, body_hits)) for h in hits
        ):
            return []
    lists = [buckets[2 * (concepts + c) + field_index] for c in combo.concepts]
    if not all(lists):
        return []
    words = _window(combo, scanned, lists, field_index, shared=True)
    field_spans = spans[field_index]
    if words is not None and field_spans and any(
        inside(field_spans, w[2], w[3]) for w in words
    ):
        # A word of the window is inside an exclusion: look again without excluded hits.
        lists = [[h for h in hits if not inside(field_spans, h[2], h[3])] for hits in lists]
        words = _window(combo, scanned, lists, field_index, shared=False) if all(lists) else None
    if words is None:
        return []
    name = f"{combo.name}: {' + '.join(str(w[1]) for w in words)}"
    return [(combo.slot, name, min(w[2] for w in words), max(w[3] for w in words))]


