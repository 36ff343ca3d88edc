"""The theme rules: shipped examples, look-alikes, NFKC, both languages, the labelled set."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from config.themes import ThemesFile, load_themes
from digest.tagging.compile import ThemeSet, compile_themes
from digest.tagging.explain import explain_article
from digest.tagging.match import Reason, ThemeMatch, tag_article

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "themes.yaml"
THEMES_FILE = load_themes(SHIPPED)
THEMES = compile_themes(THEMES_FILE)
EXAMPLES = [
    (theme.id, text, True) for theme in THEMES_FILE.themes for text in theme.examples.match
] + [(theme.id, text, False) for theme in THEMES_FILE.themes for text in theme.examples.no_match]


def _ids(title: str, text: str, themes: ThemeSet = THEMES) -> set[str]:
    return {m.theme_id for m in tag_article(title, text, themes)}


def test_shipped_themes_have_the_required_ids_in_order() -> None:
    assert THEMES.ids == (
        "iom", "integration", "forums", "trafficking", "education", "refugees", "health",
        "drivers", "funding", "family", "labour",
    )
    for theme in THEMES_FILE.themes:
        assert theme.label_for("ja") and theme.label_for("en")
        assert theme.examples.match and theme.examples.no_match


@pytest.mark.parametrize(("theme_id", "text", "should_match"), EXAMPLES)
def test_every_example_in_themes_yaml_behaves_as_written(
    theme_id: str, text: str, should_match: bool
) -> None:
    assert (theme_id in _ids("", text)) is should_match


@pytest.mark.parametrize(
    ("title", "text", "theme_id"),
    [
        ("Isle of Man TT", "The IOM government in Douglas closed roads for the races.", "iom"),
        ("Nutrition", "The Institute of Medicine (IOM) panel on vitamin D met again.", "iom"),
        ("Spring bird migration peaks", "Bird migration and migratory birds over the coast.",
         "drivers"),
        ("Cloud migration", "The data migration to the cloud displaced two legacy systems.",
         "refugees"),
        ("Drug trafficking trial", "He denied drug trafficking; traffickers moved cocaine.",
         "trafficking"),
        ("Wildlife trafficking", "Rangers fight wildlife trafficking of ivory.", "trafficking"),
        ("Startup funding", "The startup raised a Series A funding round from venture capital.",
         "funding"),
        ("Sports funding cuts", "UK Sport announced funding cuts for rowing and fencing.",
         "funding"),
        ("地方移住が人気", "地方移住の相談が増え、県は移住支援金を増額した。", "integration"),
        ("地方移住が人気", "地方移住の相談が増え、県は移住支援金を増額した。", "labour"),
        ("帰宅難民", "大雪で帰宅難民が駅にあふれた。", "refugees"),
    ],
)
def test_look_alikes_are_not_tagged(title: str, text: str, theme_id: str) -> None:
    assert theme_id not in _ids(title, text)


def test_full_width_text_is_folded_with_nfkc() -> None:
    assert "iom" in _ids("ＩＯＭ、職員削減へ", "国際移住機関(ＩＯＭ)は職員を削減する。")
    assert "funding" in _ids("ＩＯＭ faces ＦＵＮＤＩＮＧ ＣＵＴＳ", "The ＵＮ agency said so.")


def test_acronyms_keep_their_case_and_english_matches_whole_words() -> None:
    assert "iom" not in _ids("", "An iom of refugees is not a word we use.")
    assert "iom" not in _ids("", "Biomass plants and IOMX refugees")
    assert "refugees" in _ids("Refugees' camp", "Thousands of refugees crossed.")


def test_japanese_matches_without_spaces_and_english_with_inflections() -> None:
    assert "trafficking" in _ids("人身取引の被害者を保護", "警察は人身取引事件で女性を保護した。")
    assert "refugees" in _ids("Asylum-seekers wait", "Two asylum seekers and refugees arrived.")


def test_reasons_say_which_term_in_which_field_and_how_often() -> None:
    matches = tag_article("IOM warns of funding cuts", "Funding cuts hit IOM and refugees. IOM said so.", THEMES)
    iom = next(m for m in matches if m.theme_id == "iom")
    assert Reason("IOM", "title", 1) in iom.reasons
    assert Reason("IOM", "body", 2) in iom.reasons
    assert iom.reason_line("en").startswith('"IOM" (title)')
    assert '"IOM" (body ×2)' in iom.reason_line("en")
    assert "「IOM」(見出し)" in iom.reason_line("ja")


def test_matches_are_sorted_by_score_descending() -> None:
    matches = tag_article("IOM", "国際移住機関は資金不足で人員削減と事業縮小を発表した。国連", THEMES)
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True) and len(matches) >= 2
    assert all(isinstance(m, ThemeMatch) for m in matches)


def test_title_counts_more_than_body() -> None:
    in_title = explain_article("Refugees arrive", "", THEMES)
    in_body = explain_article("", "Refugees arrive", THEMES)
    assert in_title[5].score > in_body[5].score


def test_exclusions_that_fired_are_explained() -> None:
    result = {e.theme_id: e for e in explain_article("", "drug trafficking", THEMES)}
    assert result["trafficking"].exclusions == (Reason("drug trafficking", "body", 1),)
    assert not result["trafficking"].is_match


def test_version_is_stable_and_changes_only_with_the_rules() -> None:
    again = compile_themes(load_themes(SHIPPED))
    assert again.version == THEMES.version and len(THEMES.version) <= 64
    data = THEMES_FILE.model_dump()
    data["themes"][0]["label"]["en"] = "Another label"
    relabelled = compile_themes(ThemesFile.model_validate(data))
    assert relabelled.version == THEMES.version
    data["themes"][0]["threshold"] = 9.0
    changed = compile_themes(ThemesFile.model_validate(data))
    assert changed.version != THEMES.version
    assert changed.theme_versions["iom"] != THEMES.theme_versions["iom"]
    assert changed.theme_versions["funding"] == THEMES.theme_versions["funding"]


def _custom(rules: dict[str, object]) -> ThemeSet:
    theme = {"id": "t", "label": {"ja": "テ", "en": "T"},
             "description": {"ja": "説明", "en": "about"}, **rules}
    return compile_themes(ThemesFile.model_validate({"themes": [theme]}))


def test_require_groups_context_not_with_and_regex_terms() -> None:
    themes = _custom({
        "threshold": 1,
        "require": [["alpha", "アルファ"]],
        "terms": [
            {"term": "beta"},
            {"term": "gamma", "context": ["delta"]},
            {"term": "eps", "not_with": ["zeta"]},
            {"term": r"omega\d+", "regex": True},
            {"term": "traffick*"},
        ],
    })
    assert _ids("", "beta", themes) == set()
    assert _ids("", "アルファ beta", themes) == {"t"}
    assert _ids("", "alpha gamma", themes) == set()
    assert _ids("", "alpha gamma delta", themes) == {"t"}
    assert _ids("", "alpha eps zeta", themes) == set()
    assert _ids("", "alpha omega42", themes) == {"t"}
    assert _ids("", "alpha traffickers", themes) == {"t"}


def _load_report_module() -> object:
    spec = importlib.util.spec_from_file_location("themes_report", ROOT / "bench" / "themes_report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["themes_report"] = module
    spec.loader.exec_module(module)
    return module


def test_labelled_set_scores_above_the_targets_in_each_language() -> None:
    report_mod = _load_report_module()
    items = report_mod.read_items([ROOT / "tests" / "data" / "themes_labelled.jsonl"])  # type: ignore[attr-defined]
    assert len(items) >= 150
    langs = {item["lang"] for item in items}
    assert langs == {"ja", "en"}
    report = report_mod.evaluate(items, THEMES)  # type: ignore[attr-defined]
    for lang in ("ja", "en"):
        micro = report.micro(lang)
        assert micro.precision >= 0.85, (lang, micro)
        assert micro.recall >= 0.80, (lang, micro)


def test_body_hits_count_less_the_later_they_come() -> None:
    filler = "\n\n".join(["The weather was mild and markets were calm."] * 8)
    early = explain_article("", f"Refugees arrived at the border.\n\n{filler}", THEMES)[5]
    late = explain_article("", f"{filler}\n\nRefugees arrived at the border.", THEMES)[5]
    assert early.score > late.score


def test_hits_in_one_sentence_outside_the_lead_are_a_passing_mention() -> None:
    lead = "The city council met on Monday to approve the budget.\n\n"
    one = lead + "It noted that Japan granted refugee status to 300 people and will widen third-country resettlement."
    two = lead + "Japan granted refugee status to 300 people. It will widen third-country resettlement."
    result = explain_article("", one, THEMES)[5]
    assert result.score >= result.threshold and result.passing_mention and not result.is_match
    assert "refugees" in _ids("", two)
    assert "refugees" in _ids("Refugees", one)  # a title hit is evidence enough


def test_a_name_and_its_bracketed_acronym_are_one_mention() -> None:
    both = explain_article("", "国際移住機関(IOM)は声明を出した。", THEMES)[0]
    name = explain_article("", "国際移住機関は声明を出した。", THEMES)[0]
    assert both.score == name.score
    assert [r.term for r in both.reasons] == ["国際移住機関"]


def test_position_blind_scoring_can_be_restored() -> None:
    data = THEMES_FILE.model_dump()
    data["scoring"] = {"lead": 0, "late": 1.0, "spread": False}
    old = compile_themes(ThemesFile.model_validate(data))
    assert old.version != THEMES.version
    filler = "\n\n".join(["The council approved the budget for roads and parks."] * 6)
    text = f"{filler}\n\nThe mayor said 300 refugees were granted third-country resettlement."
    assert "refugees" in _ids("", text, old)
    assert "refugees" not in _ids("", text)



def _two_themes(scoring: dict[str, object], side_terms: list[dict[str, object]]) -> ThemeSet:
    def theme(theme_id: str, terms: list[dict[str, object]]) -> dict[str, object]:
        return {"id": theme_id, "label": {"ja": theme_id, "en": theme_id},
                "description": {"ja": "説明", "en": "about"}, "threshold": 1, "terms": terms}
    return compile_themes(ThemesFile.model_validate({
        "scoring": scoring,
        "themes": [theme("main", [{"term": "alpha", "weight": 4}, {"term": "beta"}]),
                   theme("side", side_terms)],
    }))


def test_a_side_theme_far_below_the_main_one_is_dropped() -> None:
    themes = _two_themes({"dominance": 0.3}, [{"term": "gamma"}])
    body = "Alpha beta. Alpha again, alpha. Gamma came up once."
    assert _ids("", body, themes) == {"main"}
    side = explain_article("", body, themes)[1]
    assert side.dominated and not side.is_match and side.score >= side.threshold
    assert _ids("Gamma", body, themes) == {"main", "side"}  # its own headline
    assert _ids("", "Gamma came up. Gamma again. Alpha once.", themes) == {"main", "side"}
    assert _ids("", body, _two_themes({}, [{"term": "gamma"}])) == {"main", "side"}  # off


def test_the_best_theme_is_never_dropped_for_dominance() -> None:
    themes = _two_themes({"dominance": 0.9}, [{"term": "gamma", "weight": 9}])
    assert _ids("", "Gamma once. Alpha and beta.", themes) == {"side"}


def test_supporting_terms_cannot_carry_a_theme_nor_make_a_headline() -> None:
    side: list[dict[str, object]] = [
        {"term": "gamma", "supporting": True, "weight": 3}, {"term": "delta"}]
    themes = _two_themes({"dominance": 0.3}, side)
    assert _ids("", "Gamma, gamma and gamma.", themes) == set()
    result = explain_article("", "Gamma, gamma and gamma.", themes)[1]
    assert result.only_supporting and not result.is_match
    assert _ids("", "Gamma and delta.", themes) == {"side"}
    body = "Alpha beta. Alpha again, alpha. Delta once."
    # A supporting term in the title is not a headline; it adds to the score, not to the
    # share of the main theme that the side theme needs.
    assert _ids("Gamma", body, themes) == {"main"}
    assert _ids("Delta", body, themes) == {"main", "side"}


def test_term_hits_in_a_sentence_with_an_aside_do_not_count() -> None:
    theme = {"id": "t", "label": {"ja": "テ", "en": "T"},
             "description": {"ja": "説明", "en": "about"}, "threshold": 1,
             "terms": ["agency"], "asides": ["used to work"]}
    themes = compile_themes(ThemesFile.model_validate(
        {"asides": ["経歴の持ち主"], "themes": [theme]}))
    assert _ids("", "She used to work for the agency. Now she bakes bread.", themes) == set()
    result = explain_article("", "She used to work for the agency.", themes)[0]
    assert result.exclusions == (Reason("used to work", "body", 1),)
    assert _ids("", "She used to work abroad. The agency hired her.", themes) == {"t"}
    assert _ids("", "agencyで働いた経歴の持ち主だ。", themes) == set()
    assert _ids("", "経歴の持ち主だ。agencyは声明を出した。", themes) == {"t"}


def test_shipped_rules_keep_side_themes_and_biographies_out() -> None:
    clinic = ("Mobile clinics bring care to migrant workers",
              "Doctors treat tuberculosis, malaria and mental health problems among migrant "
              "workers. Migrant health volunteers help.")
    assert "health" in _ids(*clinic) and "labour" not in _ids(*clinic)
    bakery = ("商店街に新しいパン屋", "店主の田中さんは、国際移住機関の職員として10年間働いた経験がある。"
              "店は週末に行列ができる。")
    assert "iom" not in _ids(*bakery)
    assert "labour" in _ids("Philippines deploys record number of overseas workers",
                            "Manila deployed 2 million overseas workers last year.")


def _with_concepts(theme_rules: dict[str, object], **top: object) -> ThemeSet:
    theme = {"id": "t", "label": {"ja": "テ", "en": "T"},
             "description": {"ja": "説明", "en": "about"}, "threshold": 2.0, **theme_rules}
    data = {"concepts": {"MONEY": ["funding", "contribution", "拠出金"],
                         "DECREASE": ["fell", "dropped", "減った"],
                         "ACTOR": ["UN", "国連"]},
            "themes": [theme], **top}
    return compile_themes(ThemesFile.model_validate(data))


def test_a_combo_counts_when_its_concepts_share_a_sentence_and_names_the_words() -> None:
    themes = _with_concepts({"terms": ["shortfall"], "combos": [
        {"name": "funding cut", "all": ["MONEY", "DECREASE"], "with": ["ACTOR"], "weight": 2.0}]})
    matches = tag_article("", "UN contributions fell by a third this year.", themes)
    assert [m.theme_id for m in matches] == ["t"]
    assert matches[0].reasons == (Reason("funding cut: contribution + fell", "body", 1),)
    assert _ids("", "UN contributions were steady. Exports fell.", themes) == set()
    assert _ids("", "Contributions fell by a third this year.", themes) == set()  # no actor
    assert _ids("", "国連への拠出金が前年から大きく減った。", themes) == {"t"}


def test_a_combo_window_in_characters_and_exclusions_inside_it() -> None:
    themes = _with_concepts({"terms": ["shortfall"], "exclude": ["seed funding"], "combos": [
        {"name": "cut", "all": ["MONEY", "DECREASE"], "within": 20, "weight": 2.0}]})
    assert _ids("", "Funding dropped.", themes) == {"t"}
    assert _ids("", "Funding for the new schools and the hospitals dropped.", themes) == set()
    assert _ids("", "Seed funding dropped.", themes) == set()


def test_a_headline_without_body_needs_less_than_title_and_body() -> None:
    rules = {"threshold": 3.0, "terms": [{"term": "clinic", "weight": 1.25}]}
    strict = _with_concepts(rules)
    lenient = _with_concepts(rules, scoring={"title_only": 0.8})
    assert _ids("New clinic opens", "", strict) == set()  # 2.5 < 3.0
    assert _ids("New clinic opens", "", lenient) == {"t"}  # 2.5 >= 2.4
    assert _ids("New clinic opens", "It opened on Monday.", lenient) == set()
    assert explain_article("New clinic opens", "", lenient)[0].threshold == 2.4


def test_shipped_rules_catch_news_paraphrases_headlines_and_co_themes() -> None:
    assert {"iom", "funding"} <= _ids(
        "UN migration agency to shed staff as donor contributions fall - Reuters", "")
    assert "funding" in _ids("", "GENEVA (Reuters) - Donor contributions to the agency have "
                                 "dropped by a third, most of it from Washington, the UN said.")
    assert "funding" in _ids("", "国連によると、拠出金が前年から大きく減った。")
    assert "integration" in _ids("在留外国人、過去最多を更新", "")
    assert "education" in _ids("Schools struggle to teach pupils who speak little Japanese", "")
    assert "labour" in _ids("Indonesia to send 20,000 caregivers to Japan under new deal", "")
    assert {"forums", "iom"} <= _ids("", "外務省と国際移住機関(IOM)は、外国人の受入れと社会統合の"
                                         "ための国際フォーラムを東京で開いた。")
    for look_alike in ("Isle of Man budget: IOM Government cuts funding for ferries",
                       "Startup funding dropped by a third as venture capital dried up",
                       "地方移住の相談が過去最多に"):
        assert _ids(look_alike, "") == set(), look_alike


def test_tag_articles_tags_a_batch_like_one_at_a_time() -> None:
    batch = [("IOM cuts staff", "The UN migration agency cut jobs."), ("Stocks", "Shares rose.")]
    from digest.tagging.match import tag_articles
    assert tag_articles(batch, THEMES) == [tag_article(t, x, THEMES) for t, x in batch]


def test_the_theme_set_offers_each_themes_terms_and_aliases() -> None:
    aliases = THEMES.aliases("iom")
    assert "国際移住機関" in aliases and "国連移住機関" in aliases["国際移住機関"]
    assert THEMES.index_of("funding") == 8


def test_news_register_set_scores_above_its_floors_with_no_look_alike_tagged() -> None:
    report_mod = _load_report_module()
    items = report_mod.read_items([ROOT / "bench" / "data" / "themes_news.jsonl"])  # type: ignore[attr-defined]
    assert len(items) >= 280
    headlines = [item for item in items if not item["text"]]
    assert len(headlines) >= 150
    report = report_mod.evaluate(items, THEMES)  # type: ignore[attr-defined]
    for lang in ("ja", "en"):
        micro = report.micro(lang)
        assert micro.precision >= 0.95, (lang, micro)
        assert micro.recall >= 0.85, (lang, micro)  # en 0.869, ja 0.908 when last set
    for item in items:
        if not item["themes"]:
            assert _ids(str(item["title"]), str(item["text"])) == set(), item["id"]


@pytest.mark.parametrize("title", [
    "International Organization for MigrationIOM opens office in Chad",
    "UN MigrationIOM opens office in Chad",
    "The United Nations' migration arm opens office in Chad",
    "U.N. agency for migration opens office in Chad",
    "国連IOM、チャドに事務所",
    "国連国際移住機関がチャドに事務所",
    "IOM国際移住機関がチャドに事務所",
    "ＩＯＭ（国際移住機関）がチャドに事務所",
])
def test_the_un_migration_agency_under_its_names_spellings_and_glued_acronyms(title: str) -> None:
    assert "iom" in _ids(title, "")


@pytest.mark.parametrize(("title", "text", "themes"), [
    ("IOM report: climate change is driving people from their land", "GENEVA — A report published on Tuesday by the International Organization for Migration says droughts and floods are forcing more rural families to move to cities, and that climate-driven migration will grow.", {"iom","drivers"}),
    ("Refugee families torn apart by new rules", "Refugees granted protection in Austria will have to wait three years before their spouses and children can join them, under a law passed on Wednesday.", {"family","refugees"}),
    ("IOM and city co-host forum on foreign residents", "HAMAMATSU — The International Organization for Migration and Hamamatsu city held a forum on Saturday on how foreign residents can take part in local life.", {"forums","iom","integration"}),
    ("気候変動と移住に関するIOMの報告書", "国際移住機関(IOM)は、干ばつや洪水などの気候変動の影響で、農村から都市への移住が増えているとする報告書を公表した。", {"iom","drivers"}),
    ("難民の家族、離れ離れに 新制度で", "新たな規則により、難民として保護された人が配偶者や子どもを呼び寄せるまで3年待たなければならなくなった。", {"family","refugees"}),
]
)
def test_co_themes_are_kept_beside_the_main_theme(title: str, text: str, themes: set[str]) -> None:
    assert themes <= _ids(title, text)
