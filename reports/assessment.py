"""Assessment rankings (考核) as chat text and as workbook sheets, from the catalogue.

``rank_text`` lists a ranking; ``write_rank_sheet`` writes one ranking with every
component (the tally and the points it earned) into a streaming workbook: the export's
考核 sheets and ``fieldbot report rank --format xlsx``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO, Any

from campaign.assessment import COMPONENTS, Level, Line, Ranking
from reports.text import LIST_CAP, number
from reports.xlsxstream import HEADER, TITLE, StreamingWorkbook

Tr = Callable[..., str]


def _line(t: Tr, line: Line, level: Level) -> str:
    tally = line.score.tallies
    detail = line.detail if level is Level.CADRE else ""
    head = t("assessment.rank.who_detail", name=line.name, detail=detail) if detail else line.name
    if level is not Level.CADRE:
        head += t("assessment.rank.cadres", n=line.cadres)
    return t(
        "assessment.rank.line",
        rank=line.rank,
        who=head,
        total=f"{line.score.total:.1f}",
        visits=number(tally["visits"]),
        days=number(tally["days"]),
        raised=number(tally["problems_raised"]),
        solved=number(tally["problems_solved"]),
        explained=number(tally["problems_explained"]),
        overdue=number(tally["problems_overdue"]),
        cases=number(tally["cases_selected"]),
    )


def rank_text(t: Tr, ranking: Ranking, title: str) -> str:
    """The ranking, best first, at most ``LIST_CAP`` lines (the rest: use the export)."""
    lines = [title, t(f"assessment.rank.note_{ranking.level.value}")]
    if not ranking.lines:
        lines.append(t("assessment.rank.empty"))
    for line in ranking.lines[:LIST_CAP]:
        lines.append(_line(t, line, ranking.level))
    if len(ranking.lines) > LIST_CAP:
        lines.append(t("assessment.rank.more", n=len(ranking.lines) - LIST_CAP))
    return "\n".join(lines)


def _columns(t: Tr, level: Level) -> list[str]:
    head = [
        t("assessment.xlsx.rank"),
        t(f"assessment.level.{level.value}"),
        t("assessment.xlsx.detail"),
        t("assessment.level.unit") if level is Level.CADRE else "",
        t("assessment.xlsx.cadres"),
        t("assessment.xlsx.total"),
    ]
    head += [t(f"assessment.component.{c}") for c in COMPONENTS]
    head += [
        t("assessment.xlsx.points_of", name=t(f"assessment.component.{c}")) for c in COMPONENTS
    ]
    return head


def _round(x: float) -> float:
    return round(x, 2)


def write_rank_sheet(
    wb: StreamingWorkbook, sheet_name: str, t: Tr, title: str, ranking: Ranking
) -> None:
    """One sheet: a title row, the header, a row per line with every component's tally
    and points (for groups, teams and units: the means per cadre)."""
    head = _columns(t, ranking.level)
    widths = [6.0, 18.0, 16.0, 16.0, 6.0, 9.0] + [9.0] * (2 * len(COMPONENTS))
    ws = wb.sheet(sheet_name, widths, freeze_rows=2, columns=len(head), repeat_rows=2)
    ws.append([title], style=TITLE)
    ws.filter_from(2, len(head))
    ws.append(head, style=HEADER)
    for line in ranking.lines:
        values: list[Any] = [
            line.rank,
            line.name,
            line.detail,
            line.unit,
            line.cadres,
            _round(line.score.total),
        ]
        values += [_round(line.score.tallies[c]) for c in COMPONENTS]
        values += [_round(line.score.points[c]) for c in COMPONENTS]
        ws.append(values)


def write_rank_workbook(
    out: IO[bytes], t: Tr, titles: Sequence[str], rankings: Sequence[Ranking]
) -> None:
    """``fieldbot report rank --format xlsx``: one sheet per level."""
    with StreamingWorkbook(out) as wb:
        for title, ranking in zip(titles, rankings, strict=True):
            name = t("assessment.xlsx.sheet", level=t(f"assessment.level.{ranking.level.value}"))
            write_rank_sheet(wb, name, t, title, ranking)
