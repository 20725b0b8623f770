"""Model cases (典型) as the export's 典型 sheet: every case the office selected in the
period, with its title and write-up."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from reports.xlsxstream import HEADER, StreamingWorkbook

Tr = Callable[..., str]

COLUMNS: tuple[tuple[str, float], ...] = (
    ("selected_at", 17.0),
    ("title", 24.0),
    ("cadre", 10.0),
    ("team", 16.0),
    ("unit", 16.0),
    ("visit_date", 11.0),
    ("place", 16.0),
    ("writeup", 60.0),
)


def write_cases_sheet(
    wb: StreamingWorkbook, name: str, t: Tr, rows: Sequence[Sequence[Any]]
) -> None:
    """``rows``: (selected at (local, naive), title, cadre, team, unit, visit date, place,
    write-up), in that order."""
    ws = wb.sheet(name, [w for _, w in COLUMNS], freeze_rows=1, columns=len(COLUMNS))
    head = [t(f"model_cases.xlsx.{key}") for key, _ in COLUMNS]
    ws.formats = ["datetime", "general", "general", "general", "general", "date"]
    ws.filter_from(1, len(head))
    ws.append(head, style=HEADER)
    for row in rows:
        ws.append(list(row))


def row_of(
    selected_at: datetime,
    title: str,
    cadre: str,
    team: str,
    unit: str,
    visit_date: date,
    place: str,
    writeup: str,
) -> list[Any]:
    return [selected_at, title, cadre, team, unit, visit_date, place, writeup]
