"""Event evidence that survives translation: figures, shares, dates and named entities."""

from __future__ import annotations

from digest.cluster import cluster_stories
from digest.evidence import build_gazetteer, kanji_number, numbers
from tests.digest.fixtures.stories import candidate

GAZETTEER = build_gazetteer([("技能実習", ("technical intern training",))])


def _figures(text: str) -> set[tuple[str, str]]:
    return {f for f in GAZETTEER.evidence(text) if f[0] in ("fig", "pct", "date")}


def test_japanese_and_english_figures_read_as_the_same_numbers() -> None:
    assert _figures("避難者は395万人に") == _figures("3.95 million displaced")
    assert _figures("34億ドルの資金不足") == _figures("a $3.4bn funding gap")
    assert _figures("職員の約2割") == _figures("about a fifth of the staff") == {("pct", "20")}
    assert _figures("２０％削減") == _figures("cut by 20 per cent") == {("pct", "20")}
    assert _figures("二百五十人を削減") == _figures("250 jobs") == {("fig", "250")}


def test_dates_in_either_language_become_month_and_day() -> None:
    for text in ("11月26日に開催", "held on Nov. 26", "on 26 November", "2026-11-26"):
        assert ("date", "11-26") in _figures(text), text


def test_years_and_small_numbers_are_not_evidence() -> None:
    assert _figures("In 2026, 3 agencies met") == set()
    assert kanji_number("三万五千") == 35000 and kanji_number("統一") is None


def test_organisations_places_and_theme_aliases_have_one_id_in_both_languages() -> None:
    ja = GAZETTEER.evidence("出入国在留管理庁と外務省、国連難民高等弁務官事務所がジュネーブで技能実習を議論")
    en = GAZETTEER.evidence("The ISA, MOFA and UNHCR discussed technical intern training in Geneva")
    entities = {"org:isa", "org:mofa", "org:unhcr", "place:geneva", "term:技能実習"}
    assert entities <= {value for _, value in ja}
    assert entities <= {value for _, value in en}


def test_names_match_whole_words_and_the_longest_name_wins() -> None:
    found = {value for _, value in GAZETTEER.evidence("UNHCR said; thus us, Museum of Unity")}
    assert "org:unhcr" in found and "org:un" not in found and "country:US" not in found


def test_a_japanese_and_an_english_report_of_one_event_are_one_story() -> None:
    stories = cluster_stories([
        candidate(1, "IOM to cut more than 250 headquarters jobs",
                  summary="The International Organization for Migration will cut 250 posts "
                  "in Geneva, about a fifth of its staff there.", day=1),
        candidate(2, "IOM、本部職員250人超を削減へ", language="ja", sources=("tokyo",),
                  summary="国際移住機関はジュネーブ本部の職員の約2割にあたる250人以上を削減する。",
                  day=1.3),
        candidate(3, "IOM opens office in Geneva to coordinate appeals",
                  summary="The International Organization for Migration opened an office in "
                  "Geneva.", day=1.5),
    ], GAZETTEER)
    assert sorted(sorted(a.id for a in s.articles) for s in stories) == [[1, 2], [3]]
    (event,) = [s for s in stories if len(s.articles) == 2]
    assert event.languages == ("ja", "en")


def test_the_same_figures_far_apart_in_time_are_two_events() -> None:
    near = cluster_stories([
        candidate(1, "Forum draws 300 in Tokyo", summary="300 people met in Tokyo on Nov. 23.",
                  day=0),
        candidate(2, "東京で会合、300人参加", language="ja", sources=("tokyo",),
                  summary="11月23日、東京で300人が参加した。", day=1),
    ], GAZETTEER)
    assert len(near) == 1
    stories = cluster_stories([
        candidate(1, "Forum draws 300 in Tokyo", summary="300 people met in Tokyo on Nov. 23.",
                  day=0),
        candidate(2, "東京で会合、300人参加", language="ja", sources=("tokyo",),
                  summary="11月23日、東京で300人が参加した。", day=6.5),
    ], GAZETTEER)
    assert len(stories) == 2


def test_two_figure_rich_reports_sharing_one_background_figure_stay_apart() -> None:
    stories = cluster_stories([
        candidate(1, "Returns to three provinces lower the displaced count in Kordovia",
                  summary="Displacement fell by 3.7 per cent as 412,500 people went home; "
                  "the country still counts 9.6 million displaced, UNHCR said in Geneva.",
                  day=1),
        candidate(2, "Aid chiefs appeal for Kordovia as the war enters its fourth year",
                  summary="With 9.6 million displaced, 5.2 million abroad and 27 million in "
                  "need, UNHCR called for funds in Geneva.", day=2),
    ], GAZETTEER)
    assert len(stories) == 2


def test_a_precise_share_links_two_reports_that_give_few_numbers() -> None:
    stories = cluster_stories([
        candidate(1, "Displacement falls for the first time in Kordovia",
                  summary="UNHCR says the displaced count dropped 3.7 per cent since spring.",
                  day=1),
        candidate(2, "コルドビアの避難民、初めて減少", language="ja", sources=("tokyo",),
                  summary="国連難民高等弁務官事務所によると、避難民の数は3.7%減った。", day=1.2),
    ], GAZETTEER)
    assert len(stories) == 1


def test_dates_said_relative_to_the_article_resolve_against_its_day() -> None:
    from datetime import date

    assert ("date", "11-25") in numbers("外務省は25日、都内で開く。", date(2026, 11, 24))
    assert ("date", "11-25") in numbers("opened the forum on Wednesday", date(2026, 11, 26))
    assert ("date", "11-28") in numbers("28日に閉幕した", date(2026, 12, 3))
    assert numbers("3日間の会合", date(2026, 12, 3)) == set()


def test_a_theme_alias_that_the_gazetteer_knows_joins_its_entity() -> None:
    gazetteer = build_gazetteer([("外国人の受入れと社会統合のための国際フォーラム", ("別名フォーラム",))])
    ja = gazetteer.evidence("別名フォーラムが開かれた")
    en = gazetteer.evidence("the International Forum on the Acceptance of Foreign Nationals "
                            "and Social Integration opened")
    assert ja == en == {("org", "org:mofa-iom-forum")}
