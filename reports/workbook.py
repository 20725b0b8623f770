"""The office's Excel workbook: a summary, every visit, the problem ledger with its full
history, each cadre's progress, and one sheet per team.

Streamed row by row from the query cursors into ``reports.xlsxstream``, so a year of
visits never sits in memory. Chinese headers from the catalogue, real date cells,
frozen header rows, column widths chosen per column. Made to be printed by a clerk: an
autofilter on each sheet's table, landscape pages one page wide, the header rows again
on every page, whole-number targets. A table longer than Excel's 1,048,576 rows goes on
in a second sheet with the same header ("走访记录(2)").
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import IO, Any

from campaign.checks import TeamChecks
from campaign.media import export_name
from campaign.problem_callbacks import CallbackLine
from campaign.reporting import (
    CadreProgress,
    EventRow,
    ProblemRow,
    Summary,
    UnitLine,
    VisitRow,
    percent,
)
from campaign.vocabulary import WORK_KINDS
from reports import xlsxstream
from reports.text import current_department
from reports.xlsxstream import HEADER, TITLE, Sheet, StreamingWorkbook

Tr = Callable[..., str]
_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class ExportData:
    """Everything one workbook shows; the iterators stream from the reading connection."""

    title: str
    overview: Summary  # broken down by team
    by_group: Summary  # broken down by group (for the team sheets)
    cadres: list[CadreProgress]
    visits: Iterable[VisitRow]
    problems: Iterable[ProblemRow]
    events: Iterable[EventRow]
    # The title for one team's sheet, given the team's name (the scope of ``title``
    # replaced by the team). None: the team's name before ``title``.
    title_for: Callable[[str], str] | None = None
    # The 工作计划 sheet: one row per plan item, values in PLAN_COLUMNS' order.
    plans: Iterable[list[Any]] = ()
    # 检查日志 and 整改 per team (campaign/checks.TeamChecks); no sheet while nothing was
    # checked and no correction is open (a campaign that does not check logs yet).
    checks: Sequence[TeamChecks] = ()
    # Call-backs (回访) answered in the period and those still waiting: one sheet.
    callbacks: Iterable[CallbackLine] = ()
    # More sheets after the team sheets (the assessment's 考核, model cases' 典型): each
    # writes its sheets into the workbook, given the sheet titles already taken.
    extra: Sequence[Callable[[StreamingWorkbook, set[str]], None]] = ()
    # The later visits when ``visits`` holds only the first part of them: asked for
    # after every other sheet is written, either a piece of the visits sheet made by a
    # second process (services/export_parts.py) or rows to write here.
    visits_rest: Callable[[], xlsxstream.Piece | Iterable[VisitRow]] | None = None


@dataclass(frozen=True)
class Column:
    key: str  # reports.xlsx.<key> is the header
    width: float
    number_format: str | None = None


def _text(value: str | None) -> str | None:
    """Free text from the field. Cells are written as text, never as formulas, so a
    leading ``=`` is harmless; kept as a function for one place to change."""
    return value


def _naive(moment: datetime | None, tz: tzinfo) -> datetime | None:
    """Excel has no time zones: local wall time of the campaign."""
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique sheet title (31 characters, none of []:*?/\\)."""
    base = _SHEET_CHARS.sub("_", name).strip("'") or "Sheet"
    base = base[:31]
    title, n = base, 2
    while title.lower() in taken:
        suffix = f"({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


class _Sheet:
    """A worksheet laid out by columns: widths, number formats and catalogue headers."""

    def __init__(
        self,
        wb: StreamingWorkbook,
        title: str,
        columns: Sequence[Column],
        t: Tr,
        *,
        freeze: int,
        later: Sequence[Column] = (),
        extra: int = 0,
        repeat: int | None = None,
        taken: set[str] | None = None,
        aside: bool = False,
    ) -> None:
        """``later``: the columns of a second table further down the same sheet;
        ``extra``: columns past ``columns`` (kinds of work), of default width;
        ``repeat``: rows printed atop every page (default: the frozen ones);
        ``aside``: kept open while the next sheets are written (StreamingWorkbook.sheet)."""
        widths = []
        for i in range(max(len(columns) + extra, len(later))):
            ws = [cols[i].width for cols in (columns, later) if i < len(cols)]
            widths.append(max(ws) if ws else 10.0)
        self._wb, self._title, self._widths = wb, title, widths
        self._taken = taken if taken is not None else set()
        self._freeze, self._repeat = freeze, repeat
        self._parts = 1
        self._header: list[str] | None = None
        self.ws: Sheet = wb.sheet(
            title, widths, freeze_rows=freeze, columns=len(widths), repeat_rows=repeat, aside=aside
        )
        self.t = t
        self.use(columns)

    def use(self, columns: Sequence[Column]) -> None:
        self.columns = columns
        self.ws.formats = [c.number_format or "general" for c in columns]

    def title_row(self, text: str) -> None:
        self.ws.append([text], style=TITLE)

    def header(self, extra: Iterable[str] = ()) -> None:
        labels = [self.t(f"reports.xlsx.{c.key}") for c in self.columns] + list(extra)
        self.ws.filter_from(self.ws.rows + 1, len(labels))
        self.ws.append(labels, style=HEADER)
        self._header = labels

    def row(self, values: list[Any], bold: bool = False) -> None:
        if self.ws.rows >= xlsxstream.MAX_ROWS:
            self._continue()
        self.ws.append(values, bold=bold)

    def _continue(self) -> None:
        """Excel's last row is reached: the table goes on in a new sheet, same header."""
        self._parts += 1
        title = sheet_title(f"{self._title[:27]}({self._parts})", self._taken)
        formats = self.ws.formats
        self.ws = self._wb.sheet(
            title, self._widths, freeze_rows=1, columns=len(self._widths), repeat_rows=1
        )
        self.ws.formats = formats
        if self._header is not None:
            self.ws.filter_from(1, len(self._header))
            self.ws.append(self._header, style=HEADER)


def _whole(target: float) -> int:
    """Targets are counts of visits and days: shown whole (a pro-rated 167.6 is 168),
    half up, as a clerk rounds."""
    return int(math.floor(target + 0.5))


def _ratio(done: float, target: float) -> float | None:
    p = percent(done, target)
    return None if p is None else done / target


_UNIT_COLUMNS = [
    Column("cadres", 9),
    Column("visits", 9),
    Column("visits_target", 9, "0"),
    Column("visits_pct", 10, "0%"),
    Column("days", 9),
    Column("days_target", 9, "0"),
    Column("days_pct", 10, "0%"),
    Column("places_visited", 11),
    Column("places_total", 10),
    Column("on_quota", 9),
    Column("raised", 10),
    Column("solved", 7),
    Column("explained", 7),
    Column("overdue_now", 9),
]


def _unit_values(line: UnitLine) -> list[Any]:
    return [
        line.cadres,
        line.visits,
        _whole(line.target.visits),
        _ratio(line.visits, line.target.visits),
        line.days,
        _whole(line.target.days),
        _ratio(line.days, line.target.days),
        line.places,
        line.places_total,
        line.on_quota,
        line.raised,
        line.solved,
        line.explained,
        line.overdue,
        *(line.kinds.get(k, 0) for k in WORK_KINDS),
    ]


def _units_table(sheet: _Sheet, lines: list[UnitLine], total: UnitLine) -> None:
    t = sheet.t
    sheet.header(t(f"kinds.{k}") for k in WORK_KINDS)
    for line in lines:
        sheet.row([line.unit.name, *_unit_values(line)])
    sheet.row([t("reports.xlsx.total"), *_unit_values(total)], bold=True)


_PLACE_KINDS = ("village", "community", "enterprise", "household")


def _visit_values(t: Tr, tz: tzinfo, yes: str) -> Callable[[VisitRow], list[Any]]:
    """A visit's cells. This runs for every visit of a year, so it is written for speed:
    the date and the time of entry become Excel serial numbers here (their columns
    carry the date formats, the cells are the same as for date objects), the kinds'
    names are joined once per combination, and plain locals stand for attributes."""
    kind_names = {k: t(f"kinds.{k}") for k in WORK_KINDS}
    place_kinds = {k: t(f"places.{k}") for k in _PLACE_KINDS}
    sep = t("reports.list_sep")
    joined: dict[tuple[str, ...], str] = {}
    place_kind, serial_at = place_kinds.get, local_serial(tz)
    epoch = xlsxstream.EPOCH_ORDINAL

    def values(v: VisitRow) -> list[Any]:
        (vid, day, team, group, cadre, unit, place, kind, kinds, text, met, photos, voice,
         km, far, model, at, files) = v  # fmt: skip
        names = joined.get(kinds)
        if names is None:
            names = joined[kinds] = sep.join(kind_names.get(k, k) for k in kinds)
        return [
            vid,
            day.toordinal() - epoch,
            team,
            group,
            cadre,
            unit,
            place,
            place_kind(kind, kind),
            names,
            _text(text),
            met,
            photos or None,
            yes if voice else None,
            round(km, 2) if km is not None else None,
            yes if far else None,
            yes if model else None,
            serial_at(at),
            sep.join([export_name("visit", vid, k, n) for k, n in files]) or None
            if files
            else None,
        ]

    return values


def _event_values(t: Tr, tz: tzinfo) -> Callable[[EventRow], list[Any]]:
    """A step of a problem's history as cells; catalogue texts looked up once each."""
    bot = t("reports.xlsx.bot")
    name = functools.cache(t)
    serial_at = local_serial(tz)

    def values(e: EventRow) -> list[Any]:
        problem_id, at, action, actor, from_level, to_level, note = e
        return [
            f"P-{problem_id}",
            serial_at(at),
            name(f"reports.action.{action}"),
            actor or bot,
            name(f"levels.{from_level}") if from_level else None,
            name(f"levels.{to_level}") if to_level else None,
            _text(note) or None,  # no note: no cell (what the writer makes of "")
        ]

    return values


def local_serial(tz: tzinfo) -> Callable[[datetime], float]:
    """An aware moment as Excel's serial number of its wall time in ``tz`` (seconds, no
    fraction): the same number as ``xlsxstream`` writes for ``_naive(moment, tz)``, at
    a fraction of the cost. The zone's offset is looked up once per hour of UTC time
    (and per moment in an hour where the offset changes)."""
    offsets: dict[int, int | None] = {}
    unix = date(1970, 1, 1).toordinal() - xlsxstream.EPOCH_ORDINAL

    def offset_in(hour: int) -> int | None:
        first = datetime.fromtimestamp(hour * 3600, tz).utcoffset()
        last = datetime.fromtimestamp(hour * 3600 + 3599, tz).utcoffset()
        if first is None or first != last:
            return None
        return int(first.total_seconds())

    def serial(moment: datetime) -> float:
        ts = math.floor(moment.timestamp())
        hour = ts // 3600
        if hour in offsets:
            off = offsets[hour]
        else:
            off = offsets[hour] = offset_in(hour)
        if off is None:
            wall = moment.astimezone(tz)
            return xlsxstream.serial_datetime(wall)
        days, secs = divmod(ts + off, 86400)
        return days + unix + secs / 86400

    return serial


VISIT_COLUMNS = [
    Column("id", 8),
    Column("visit_date", 11, "date"),
    Column("team", 14),
    Column("group", 12),
    Column("cadre", 9),
    Column("unit", 14),
    Column("place", 16),
    Column("place_kind", 6),
    Column("kinds", 22),
    Column("text", 60),
    Column("people_met", 9),
    Column("photos", 8),
    Column("voice", 6),
    Column("distance", 10),
    Column("far", 8),
    Column("model_case", 6),
    Column("created_at", 17, "datetime"),
    Column("files", 30),  # as `fieldbot export-media` names them (campaign/media.py)
]
PLAN_COLUMNS = [
    Column("plan_code", 12),
    Column("team", 14),
    Column("group", 12),
    Column("place", 14),
    Column("plan_month", 9),
    Column("plan_due", 11),
    Column("plan_title", 36),
    Column("plan_measure", 30),
    Column("plan_target", 8),
    Column("plan_progress", 8),
    Column("plan_unit", 6),
    Column("plan_kind", 10),
    Column("plan_owners", 16),
    Column("status", 8),
    Column("plan_overdue", 6),
    Column("plan_reason", 20),
]

PROBLEM_COLUMNS = [
    Column("id", 8),
    Column("raised_at", 17, "datetime"),
    Column("team", 14),
    Column("group", 12),
    Column("reporter", 9),
    Column("place", 16),
    Column("category", 14),
    Column("description", 50),
    Column("urgent", 6),
    Column("level", 12),
    Column("status", 8),
    Column("owner", 10),
    Column("department", 14),
    Column("deadline", 17, "datetime"),
    Column("overdue", 6),
    Column("closed_at", 17, "datetime"),
    Column("resolution", 40),
    Column("explained_by", 10),
    Column("explained_on", 11),
    Column("watch", 8),
]
EVENT_COLUMNS = [
    Column("id", 8),
    Column("event_at", 17, "datetime"),
    Column("action", 16),
    Column("actor", 10),
    Column("from_level", 12),
    Column("to_level", 12),
    Column("note", 50),
]
CADRE_COLUMNS = [
    Column("team", 14),
    Column("group", 12),
    Column("cadre", 9),
    Column("role", 12),
    Column("unit", 14),
    Column("visits", 9),
    Column("visits_target", 9, "0"),
    Column("visits_pct", 10, "0%"),
    Column("days", 9),
    Column("days_target", 9, "0"),
    Column("days_pct", 10, "0%"),
    Column("cadre_places", 11),
    Column("raised", 10),
]


def _cadre_values(t: Tr, c: CadreProgress) -> list[Any]:
    return [
        c.team_name,
        c.group_name,
        c.name,
        t(f"roles.{c.role.value}"),
        c.unit,
        c.visits,
        _whole(c.target.visits),
        _ratio(c.visits, c.target.visits),
        c.days,
        _whole(c.target.days),
        _ratio(c.days, c.target.days),
        c.places,
        c.raised,
    ]


# The sheet on checking the work: one row per team.
CHECK_COLUMNS = [
    Column("checks_team", 16),
    Column("checks_cadres", 10),
    Column("checks_checked", 12),
    Column("checks_open", 12),
    Column("checks_overdue", 12),
]


def write_workbook(out: IO[bytes], data: ExportData, t: Tr, tz: tzinfo) -> None:
    """Write the workbook to ``out`` (a file opened for binary writing)."""
    taken: set[str] = set()
    yes = t("reports.xlsx.yes")
    kinds = [t(f"kinds.{k}") for k in WORK_KINDS]
    with StreamingWorkbook(out) as wb:
        # Summary: one row per team, a total, kinds of work at the right.
        sheet = _Sheet(
            wb,
            sheet_title(t("reports.xlsx.sheet_summary"), taken),
            [Column(data.overview.rows_kind, 16), *_UNIT_COLUMNS],
            t,
            freeze=2,
            extra=len(kinds),
        )
        sheet.title_row(data.title)
        _units_table(sheet, data.overview.rows, data.overview.total)

        title = sheet_title(t("reports.xlsx.sheet_visits"), taken)
        split = data.visits_rest is not None
        sheet = _Sheet(wb, title, VISIT_COLUMNS, t, freeze=1, taken=taken, aside=split)
        sheet.header()
        row_of = _visit_values(t, tz, yes)
        for v in data.visits:
            sheet.row(row_of(v))
        visits_sheet = sheet.ws

        title = sheet_title(t("reports.xlsx.sheet_problems"), taken)
        sheet = _Sheet(wb, title, PROBLEM_COLUMNS, t, freeze=1, taken=taken)
        sheet.header()
        row_of_problem = _problem_values(t, tz, yes)
        for p in data.problems:
            sheet.row(row_of_problem(p))

        title = sheet_title(t("reports.xlsx.sheet_events"), taken)
        sheet = _Sheet(wb, title, EVENT_COLUMNS, t, freeze=1, taken=taken)
        sheet.header()
        row_of_event = _event_values(t, tz)
        for e in data.events:
            sheet.row(row_of_event(e))

        title = sheet_title(t("reports.xlsx.sheet_cadres"), taken)
        sheet = _Sheet(wb, title, CADRE_COLUMNS, t, freeze=1, taken=taken)
        sheet.header()
        for c in data.cadres:
            sheet.row(_cadre_values(t, c))

        # Work plans (工作计划): every item due in the period, and open ones overdue.
        title = sheet_title(t("reports.xlsx.sheet_plans"), taken)
        sheet = _Sheet(wb, title, PLAN_COLUMNS, t, freeze=1, taken=taken)
        sheet.header()
        for plan in data.plans:
            sheet.row(plan)
        if any(k.cadres_checked or k.corrections_open for k in data.checks):
            title = sheet_title(t("reports.xlsx.sheet_checks"), taken)
            sheet = _Sheet(wb, title, CHECK_COLUMNS, t, freeze=1, taken=taken)
            sheet.header()
            for k in data.checks:
                sheet.row(
                    [
                        k.team_name,
                        k.cadres,
                        k.cadres_checked,
                        k.corrections_open,
                        k.corrections_overdue,
                    ]
                )
        _callback_sheet(wb, data.callbacks, t, tz, taken, yes)

        # One sheet per team: its groups with a total, then its cadres.
        for team in data.overview.rows:
            groups = [g for g in data.by_group.rows if g.unit.team_id == team.unit.id]
            sheet = _Sheet(
                wb,
                sheet_title(team.unit.name, taken),
                [Column("group", 16), *_UNIT_COLUMNS],
                t,
                freeze=2,
                later=CADRE_COLUMNS,
                extra=len(kinds),
                repeat=1,  # two tables: only the title fits every page
                taken=taken,
            )
            name = team.unit.name
            sheet.title_row(data.title_for(name) if data.title_for else f"{name}｜{data.title}")
            _units_table(sheet, groups, team)
            sheet.row([])
            sheet.use(CADRE_COLUMNS)
            sheet.header()
            for c in data.cadres:
                if c.team_id == team.unit.id:
                    sheet.row(_cadre_values(t, c))

        for write in data.extra:
            write(wb, taken)
        if data.visits_rest is not None:
            rest = data.visits_rest()
            if isinstance(rest, xlsxstream.Piece):
                visits_sheet.splice(rest)
            else:
                for v in rest:
                    visits_sheet.append(row_of(v))


def visit_texts(t: Tr) -> dict[str, str]:
    """The catalogue texts the visits sheet's cells use (``_visit_values``), for a
    second process to write some of them without the whole catalogue."""
    keys = [f"kinds.{k}" for k in WORK_KINDS]
    keys += [f"places.{k}" for k in _PLACE_KINDS]
    keys += ["reports.list_sep", "reports.xlsx.yes"]
    return {key: t(key) for key in keys}


def visit_fragment(
    out: IO[bytes], visits: Iterable[VisitRow], t: Tr, tz: tzinfo, first_row: int
) -> Sheet:
    """Rows of the visits sheet numbered from ``first_row + 1``, deflated into ``out``
    for the sheet set aside in another process (``ExportData.visits_rest``): the same
    cells as ``write_workbook`` writes for them. Returned closed."""
    sheet = xlsxstream.fragment(
        out, len(VISIT_COLUMNS), [c.number_format or "general" for c in VISIT_COLUMNS], first_row
    )
    row_of = _visit_values(t, tz, t("reports.xlsx.yes"))
    append = sheet.append
    for v in visits:
        append(row_of(v))
    sheet.close()
    return sheet


def _problem_values(t: Tr, tz: tzinfo, yes: str) -> Callable[[ProblemRow], list[Any]]:
    """A problem of the ledger as cells; catalogue names looked up once each."""
    name = functools.cache(t)
    serial_at = local_serial(tz)

    def values(p: ProblemRow) -> list[Any]:
        return [
            f"P-{p.id}",
            serial_at(p.created_at),
            p.team_name,
            p.group_name,
            p.reporter_name,
            p.place_name,
            name(f"categories.{p.category}"),
            _text(p.description),
            yes if p.urgent else None,
            name(f"levels.{p.level}"),
            name(f"reports.status.{p.status}"),
            p.owner_name,
            _text(current_department(p.level, p.department)),
            serial_at(p.deadline),
            yes if p.overdue else None,
            serial_at(p.closed_at) if p.closed_at else None,
            _text(p.resolution),
            _text(p.explained_by),
            p.explained_on,
            yes if p.watch else None,
        ]

    return values


CALLBACK_COLUMNS = [
    Column("id", 8),
    Column("team", 14),
    Column("group", 12),
    Column("reporter", 9),
    Column("callback_asked", 9),
    Column("callback_asked_at", 17),
    Column("callback_answered_by", 9),
    Column("callback_answered_at", 17),
    Column("callback_result", 10),
    Column("callback_reach", 8),
    Column("callback_note", 40),
    Column("callback_reopened", 8),
]


def _callback_sheet(
    wb: StreamingWorkbook,
    lines: Iterable[CallbackLine],
    t: Tr,
    tz: tzinfo,
    taken: set[str],
    yes: str,
) -> None:
    """回访: every call-back answered in the period, and those still waiting."""
    title = sheet_title(t("reports.xlsx.sheet_callbacks"), taken)
    sheet = _Sheet(wb, title, CALLBACK_COLUMNS, t, freeze=1, taken=taken)
    sheet.header()
    for k in lines:
        sheet.row(
            [
                f"P-{k.problem_id}",
                k.team_name,
                k.group_name,
                k.reporter_name,
                k.asked_name or None,
                _naive(k.asked_at, tz),
                k.answered_name or None,
                _naive(k.answered_at, tz),
                t(f"callbacks.result.{k.result}") if k.result else None,
                t(f"callbacks.reach.{k.reach}") if k.reach else None,
                _text(k.note) or None,
                yes if k.reopened else None,
            ]
        )
