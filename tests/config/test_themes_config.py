"""themes.yaml validation: every problem reported at once as file:line: field: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from config.themes import load_themes, themes_path

ROOT = Path(__file__).resolve().parents[2]

BROKEN = """\
themes:
  - id: iom
    label: {ja: IOM, en: IOM}
    description: {ja: 説明, en: about}
    colour: blue
    terms:
      - term: "IOM"
  - id: bad
    label: {ja: 悪い, en: bad}
    description: {ja: 説明, en: about}
    terms:
      - term: "(unclosed"
        regex: true
  - id: empty
    label: {ja: 空, en: empty}
    description: {ja: 説明, en: about}
    terms: []
  - id: iom
    label: {ja: 重複, en: dup}
    description: {ja: 説明, en: about}
    terms: [IOM]
    exclude:
      - regex: "[a-"
"""


def test_every_problem_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_themes(path)
    problems = info.value.problems
    assert info.value.exit_code == 2
    assert f"{path}:5: theme iom: colour: unknown key" in "\n".join(problems)
    assert any(p.startswith(f"{path}:12: theme bad: term #1: term: bad regular expression")
               for p in problems)
    assert any(p.startswith(f"{path}:17: theme empty: terms: theme has no terms") for p in problems)
    assert any(p.startswith(f"{path}:18: theme iom: id: duplicate theme id 'iom'")
               for p in problems)
    assert any(p.startswith(f"{path}:23: theme iom: exclude #1: regex: bad regular expression")
               for p in problems)
    assert len(problems) == 5


def test_a_theme_without_a_terms_key_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text("themes:\n  - id: x\n    label: {ja: a, en: b}\n"
                    "    description: {ja: a, en: b}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_themes(path)
    assert info.value.problems == [f"{path}:2: theme x: theme has no terms; add at least one"]


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text("themes:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"themes.yaml:2: a list opened with '\[' on line 2 is not closed"):
        load_themes(path)


def test_users_copy_wins_over_the_shipped_default(tmp_path: Path) -> None:
    assert themes_path(tmp_path) == ROOT / "config" / "themes.yaml"
    (tmp_path / "themes.yaml").write_text("themes: []\n", encoding="utf-8")
    assert themes_path(tmp_path) == tmp_path / "themes.yaml"


def test_shipped_themes_load_and_offer_labels_in_both_languages() -> None:
    themes = load_themes(ROOT / "config" / "themes.yaml")
    iom = themes.theme("iom")
    assert "国際移住機関" in iom.label_for("ja")
    assert "International Organization for Migration" in iom.label_for("en")
    assert iom.description_for("ja") and iom.description_for("en")


def test_scoring_defaults_and_bounds(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    theme = ("themes:\n  - id: x\n    label: {ja: a, en: b}\n    description: {ja: a, en: b}\n"
             "    terms: [alpha]\n")
    path.write_text(theme, encoding="utf-8")
    scoring = load_themes(path).scoring
    assert (scoring.lead, scoring.late, scoring.spread) == (300, 0.5, True)
    path.write_text("scoring: {lead: -1, late: 2}\n" + theme, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_themes(path)
    assert any("scoring.lead" in p for p in info.value.problems)
    assert any("scoring.late" in p for p in info.value.problems)


def test_dominance_supporting_and_asides_are_optional_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    theme = ("themes:\n  - id: x\n    label: {ja: a, en: b}\n    description: {ja: a, en: b}\n"
             "    terms: [alpha]\n")
    path.write_text(theme, encoding="utf-8")
    loaded = load_themes(path)  # an older file without the new keys stays valid
    assert loaded.scoring.dominance == 0.0 and loaded.asides == []
    assert loaded.themes[0].asides == [] and not loaded.themes[0].terms[0].supporting
    path.write_text("scoring: {dominance: 1.5}\nasides:\n  - regex: '[a-'\n" + theme
                    + "    asides: [former]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_themes(path)
    assert any("scoring.dominance" in p for p in info.value.problems)
    assert any("aside #1: regex: bad regular expression" in p for p in info.value.problems)


CONCEPTS = """\
concepts:
  MONEY: [funding, 資金]
  money: [cash]
  EMPTY: []
themes:
  - id: funding
    label: {ja: 資金, en: funding}
    description: {ja: 説明, en: about}
    terms: [shortfall]
    combos:
      - name: funding cut
        all: [MONEY, DECREASE]
        with: [ACTOR]
        within: sentence
"""


def test_concepts_and_combos_are_checked_with_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text(CONCEPTS, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_themes(path)
    text = "\n".join(info.value.problems)
    assert f"{path}:3: concepts.money: concept names are capitals" in text
    assert f"{path}:4: concepts.EMPTY: concept has no phrases" in text
    assert f"{path}:12: theme funding: combo #1: all #2: unknown concept 'DECREASE'" in text
    assert f"{path}:13: theme funding: combo #1: with #1: unknown concept 'ACTOR'" in text


def test_shipped_combos_name_only_defined_concepts() -> None:
    shipped = load_themes(ROOT / "config" / "themes.yaml")
    names = set(shipped.concepts)
    assert {"MONEY", "DECREASE", "ACTOR_AID", "FOREIGN_RESIDENT", "CHILD", "SCHOOL",
            "LANGUAGE_SUPPORT"} <= names
    for theme in shipped.themes:
        for combo in theme.combos:
            assert set(combo.all) | set(combo.with_) <= names, (theme.id, combo.name)
    assert 0 < shipped.scoring.title_only < 1 and shipped.scoring.lead_headline
