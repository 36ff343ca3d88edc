"""Near-duplicate articles become one story; different stories stay apart."""

from __future__ import annotations

from digest.cluster import cluster_stories, normalise, shingles
from tests.digest.fixtures.stories import candidate

LEAD = (
    "The International Organization for Migration said it would cut more than 250 posts at "
    "its headquarters after its largest donor reduced contributions."
)


def _groups(stories: list) -> list[set[int]]:  # type: ignore[type-arg]
    return [{article.id for article in story.articles} for story in stories]


def test_wire_copies_with_edited_headlines_become_one_story() -> None:
    articles = [
        candidate(1, "IOM to cut more than 250 headquarters jobs as US funding falls",
                  summary=LEAD, sources=("wire",)),
        candidate(2, "IOM to cut over 250 HQ jobs as U.S. funding falls", summary=LEAD,
                  sources=("harbor",)),
        candidate(3, "UN migration agency IOM will cut more than 250 headquarters jobs",
                  summary=LEAD, sources=("monitor",)),
        candidate(4, "Japan extends help for trafficking survivors returning home",
                  summary="A programme run with IOM covers travel and reintegration.",
                  sources=("harbor",)),
    ]
    assert sorted(_groups(cluster_stories(articles)), key=min) == [{1, 2, 3}, {4}]


def test_a_merged_story_lists_every_outlet_once() -> None:
    stories = cluster_stories([
        candidate(1, "IOM to cut more than 250 headquarters jobs", summary=LEAD,
                  sources=("wire", "coast")),
        candidate(2, "IOM to cut more than 250 headquarters jobs", summary=LEAD,
                  sources=("harbor", "wire")),
    ])
    assert len(stories) == 1
    assert [s.source_key for s in stories[0].sightings] == ["coast", "harbor", "wire"]


def test_japanese_headlines_edited_by_two_outlets_share_a_story() -> None:
    articles = [
        candidate(1, "IOM、資金不足で本部職員250人超を削減へ 米国の拠出減で", language="ja"),
        candidate(2, "国際移住機関(IOM) 資金不足で本部職員250人超削減 米拠出減響く",
                  language="ja", sources=("kansai",)),
        candidate(3, "定住外国人の子どもの就学支援、自治体の連携を強化", language="ja"),
        candidate(4, "国連、資金不足で2025年末に11億ドルの赤字見通し", language="ja"),
    ]
    assert sorted(_groups(cluster_stories(articles)), key=min) == [{1, 2}, {3}, {4}]


def test_full_width_and_half_width_text_are_folded_alike() -> None:
    assert normalise("ＩＯＭ、２５０人削減") == normalise("IOM 250人削減")
    assert shingles(normalise("ＩＯＭ、２５０人削減")) == shingles(normalise("IOM,250人削減"))


def test_articles_on_the_same_topic_but_different_events_stay_apart() -> None:
    titles = [
        "IOM chief visits Sudan border camps",
        "IOM launches appeal for flood-displaced families in Pakistan",
        "IOM and Japan sign agreement on tuberculosis screening",
        "IOM report: remittances to Central America hit record",
        "UN80 reform plan would merge departments in New York",
    ]
    articles = [candidate(i, title) for i, title in enumerate(titles, start=1)]
    assert len(cluster_stories(articles)) == len(titles)


def test_every_article_lands_in_exactly_one_story_in_a_stable_order() -> None:
    articles = [
        candidate(i, f"Migration briefing {i}: {topic}", day=i / 3)
        for i, topic in enumerate(["ports", "visas", "schools", "clinics", "budgets"] * 4, 1)
    ]
    first = cluster_stories(articles)
    again = cluster_stories(list(reversed(articles)))
    ids = sorted(article.id for story in first for article in story.articles)
    assert ids == list(range(1, 21))
    assert _groups(first) == _groups(again)


def test_articles_without_any_text_are_kept_as_their_own_stories() -> None:
    stories = cluster_stories([candidate(1, ""), candidate(2, "")])
    assert sorted(_groups(stories), key=min) == [{1}, {2}]


def test_a_bucket_of_templated_pages_gives_linear_pairs_still_chained_together() -> None:
    """A week of pages sharing one template fills one LSH bucket; pairing every two of its
    rows would grow with the square of the week (4,400 pages took 40 s and 3.7 GB)."""
    import numpy as np

    from digest.cluster import BUCKET_REACH, _band_shape, _candidate_pairs, _Groups

    count = 600
    signatures = np.tile(np.arange(64, dtype=np.uint32), (count, 1))
    pairs = _candidate_pairs(signatures, *_band_shape(0.5))
    assert 0 < len(pairs) <= count * BUCKET_REACH
    groups = _Groups(count)
    for first, second in pairs.tolist():
        groups.union(first, second)
    assert len({groups.find(i) for i in range(count)}) == 1
