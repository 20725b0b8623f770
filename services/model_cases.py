"""Model cases (典型) as use cases: the office lists the visits cadres flagged, selects
one with a title and a short write-up, and the cadre is told through the outgoing queue.
Only the office selects; the rule is judged when the button is pressed and again, in the
writing transaction, when the write-up arrives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from campaign.i18n import Catalog
from campaign.message import Message
from campaign.periods import Period
from campaign.reporting import Scope
from campaign.roles import Role
from campaign.settings import Settings
from reports.model_cases import row_of, write_cases_sheet
from reports.workbook import sheet_title
from reports.xlsxstream import StreamingWorkbook
from services.assessment import SheetWriter, bounds, run_apart
from services.jobs import lang_of
from services.people import Cadre
from services.runtime import Deps
from storage import drafts, outbox
from storage import model_cases as store
from storage.db import Database
from storage.model_cases import FlaggedVisit, SelectedCase
from storage.people import audit

MAX_TITLE = 40
MAX_WRITEUP = 500
LISTED = 10  # flagged visits offered as buttons under /cases


def may_select(cadre: Cadre | None) -> bool:
    return cadre is not None and cadre.active and cadre.role is Role.OFFICE


async def candidates(d: Deps, cadre: Cadre, period: Period) -> list[FlaggedVisit]:
    """Flagged visits of ``period`` not selected yet (none for anyone but the office)."""
    if not may_select(cadre):
        return []
    return await store.flagged(d.db, period.start, period.end, LISTED)


@dataclass(frozen=True)
class Pick:
    """A press on "select": ``visit`` when it may go on, else ``refusal`` (a catalogue
    key under ``model_cases.``)."""

    visit: FlaggedVisit | None = None
    refusal: str = ""


def _judge(cadre: Cadre | None, visit: FlaggedVisit | None) -> str:
    if not may_select(cadre):
        return "office_only"
    if visit is None or not visit.active:
        return "not_flagged"
    if visit.selected:
        return "already"
    return ""


async def pick(d: Deps, cadre: Cadre | None, visit_id: int) -> Pick:
    visit = await store.flagged_visit(d.db, visit_id)
    refusal = _judge(cadre, visit)
    return Pick(None, refusal) if refusal else Pick(visit)


@dataclass(frozen=True)
class SelectRequest:
    cadre: Cadre
    visit_id: int
    title: str
    writeup: str
    draft_id: int
    lang: str


@dataclass(frozen=True)
class Selected:
    """``case_id`` when recorded; else ``refusal`` as in ``Pick``."""

    case_id: int | None
    text: str
    refusal: str = ""


async def select(d: Deps, req: SelectRequest) -> Selected:
    """Record the selection, close the dialog's draft and queue the cadre's notice, in
    one transaction; judged again inside it (another office member may have been first)."""
    t = d.catalog.t
    now = d.now()
    async with d.db.write() as conn:
        visit = await store.flagged_visit(conn, req.visit_id)
        refusal = _judge(req.cadre, visit)
        case_id = None
        if not refusal and visit is not None:
            case_id = await store.insert(
                conn, visit.visit_id, visit.cadre_id, req.title, req.writeup, req.cadre.id, now
            )
            refusal = "" if case_id else "already"
        if refusal or visit is None or case_id is None:
            await drafts.close(conn, req.draft_id, "cancelled", now)
            return Selected(None, t(req.lang, f"model_cases.{refusal}"), refusal)
        await drafts.close(conn, req.draft_id, "submitted", now, result_id=case_id)
        await audit(
            conn, "select_model_case", actor=req.cadre, subject=f"visit:{visit.visit_id}",
            after={"title": req.title}, at=now,
        )  # fmt: skip
        if visit.telegram_user_id is not None:
            lang = lang_of(d, visit.lang)
            notice = t(
                lang, "model_cases.cadre_told", title=req.title,
                date=visit.visit_date.isoformat(), place=visit.place_name,
            )  # fmt: skip
            await outbox.enqueue(
                conn,
                key=f"model-case:{case_id}",
                chat_id=visit.telegram_user_id,
                message=Message(notice),
                now=now,
                expires_at=now + timedelta(days=14),
            )
    text = t(req.lang, "model_cases.done", title=req.title, cadre=visit.cadre_name)
    return Selected(case_id, text)


# --- the export's 典型 sheet -----------------------------------------------------------------


def export_sheet(
    db_path: str,
    settings: Settings,
    catalog: Catalog,
    lang: str,
    scope: Scope,
    period: Period,
    now: datetime,
) -> SheetWriter:
    """The 典型 sheet: cases selected in the period, inside the scope."""
    start, end = bounds(period, settings, now)

    async def read(db: Database) -> list[SelectedCase]:
        return await store.selected(db, start, end)

    tz = settings.tz
    rows = [
        row_of(
            c.selected_at.astimezone(tz).replace(tzinfo=None),
            c.title,
            c.cadre_name,
            c.team_name,
            c.unit,
            c.visit_date,
            c.place_name,
            c.writeup,
        )  # fmt: skip
        for c in run_apart(db_path, read)
        if scope.covers(c.team_id, c.group_id)
    ]
    t = partial(catalog.t, lang)

    def write(wb: StreamingWorkbook, taken: set[str]) -> None:
        write_cases_sheet(wb, sheet_title(t("model_cases.xlsx.sheet"), taken), t, rows)

    return write
