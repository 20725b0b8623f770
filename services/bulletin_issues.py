"""The bulletin the office signs off (快报, 第 N 期): the weekly bulletin is drafted and
posted to the office chat with buttons; the office writes the opening, picks the model
cases and publishes; a draft nobody published goes out as it stands after a delay
(``[bulletin] publish_after_hours``; 0 holds it). A published issue is also a Word
document (reports/bulletin_doc.py) with the week's chart.

The text is a list of sections (``SECTIONS``): the opening, the week's numbers, the
model cases. Other features add theirs (overdue plan items, call-back satisfaction) by
appending a function ``async (deps, issue, lang) -> list[str]`` (paragraphs; empty: no
section).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from campaign.callbacks import BULLETIN
from campaign.message import Button, Message
from campaign.periods import Period
from campaign.reporting import Scope
from campaign.roles import Role
from campaign.text import MESSAGE_LIMIT, moment_text, shorten
from reports.bulletin_doc import BulletinDoc, DocCase, write_docx
from services import people
from services.jobs import Outgoing, enqueue_all, outbox_files, tr
from services.people import Cadre
from services.reports import Ask, chart_png
from services.runtime import Deps
from storage import bulletin_issues as store
from storage import outbox
from storage.bulletin_issues import Issue
from storage.db import Connection
from storage.people import audit

log = logging.getLogger(__name__)

Section = Callable[[Deps, Issue, str], Awaitable[list[str]]]
TEXT_LIMIT = MESSAGE_LIMIT - 200  # room for the draft's head and foot
MAX_OPENING = 1000


async def _opening(d: Deps, issue: Issue, lang: str) -> list[str]:
    return [line for line in issue.opening.splitlines() if line.strip()]


async def _numbers(d: Deps, issue: Issue, lang: str) -> list[str]:
    return issue.body.splitlines()


async def _cases(d: Deps, issue: Issue, lang: str) -> list[str]:
    cases = await store.carried(d.db, issue.number)
    if not cases:
        return []
    t = tr(d, lang)
    lines = [t("bulletin.cases_head", count=len(cases))]
    for c in cases:
        lines.append(
            t("bulletin.case_line", title=c.title, cadre=c.cadre_name, team=c.team_name,
              writeup=c.writeup)
        )  # fmt: skip
    return lines


# The bulletin's sections in order; append to add one.
SECTIONS: list[Section] = [_opening, _numbers, _cases]


async def paragraphs(d: Deps, issue: Issue, lang: str) -> list[str]:
    out: list[str] = []
    for section in SECTIONS:
        part = await section(d, issue, lang)
        if part:
            out += [*part, ""]
    return out[:-1] if out else out


def _head(d: Deps, issue: Issue, lang: str) -> str:
    t = tr(d, lang)
    b = d.settings.bulletin
    return t("bulletin.head", masthead=b.masthead, number=issue.number, issuer=b.issuer)


async def render(d: Deps, issue: Issue, lang: str) -> str:
    """The issue as one chat message (the published form)."""
    body = "\n".join([_head(d, issue, lang), "", *await paragraphs(d, issue, lang)])
    return shorten(body, TEXT_LIMIT, one_line=False)


def _buttons(d: Deps, issue: Issue, lang: str) -> tuple[tuple[Button, ...], ...]:
    t = tr(d, lang)
    n = issue.number
    return (
        (
            Button(t("bulletin.btn_opening"), BULLETIN.build("open", n)),
            Button(t("bulletin.btn_cases"), BULLETIN.build("cases", n)),
        ),
        (Button(t("bulletin.btn_publish"), BULLETIN.build("pub", n)),),
    )


async def draft_view(d: Deps, issue: Issue, lang: str) -> Message:
    """The draft in the office chat: its text, when it goes out by itself, the buttons;
    once published, the text with a line saying so and no buttons."""
    t = tr(d, lang)
    text = await render(d, issue, lang)
    if issue.published:
        when = moment_text(t, issue.published_at or d.now(), d.settings.tz)
        return Message(t("bulletin.published_head", number=issue.number, when=when) + "\n\n" + text)
    if issue.publish_at is not None:
        foot = t("bulletin.auto_at", when=moment_text(t, issue.publish_at, d.settings.tz))
    else:
        foot = t("bulletin.held")
    head = t("bulletin.draft_head", number=issue.number)
    return Message(f"{head}\n\n{text}\n\n{foot}", _buttons(d, issue, lang))


# --- drafting: the weekly job -------------------------------------------------------------


async def draft_items(
    d: Deps, office_chat: int, week: Period, body: str, now: datetime, chart: Outgoing | None
) -> list[Outgoing]:
    """The week's draft (numbered next) to the office chat, with the chart after it."""
    hours = d.settings.bulletin.publish_after_hours
    publish_at = now + timedelta(hours=hours) if hours > 0 else None
    issue = await store.create_draft(
        d.db, week.label, week.start, week.last_day, body, now, publish_at
    )
    lang = d.settings.campaign.language
    view = await draft_view(d, issue, lang)
    items = [
        Outgoing(
            f"bulletin:{week.label}", office_chat, view.text, buttons=view.buttons,
            card=_card(issue.number),
        )
    ]  # fmt: skip
    return items + ([chart] if chart is not None else [])


def _card(number: int) -> str:
    return f"bulletin:{number}"


# --- the office's presses ---------------------------------------------------------------------


@dataclass(frozen=True)
class PressOutcome:
    """``alert`` to show on the press (refused, or a note), ``view`` the pressed message's
    new content (None: leave it)."""

    alert: str | None = None
    view: Message | None = None


def may_sign(cadre: Cadre | None) -> bool:
    return cadre is not None and cadre.active and cadre.role is Role.OFFICE


async def _judge(d: Deps, cadre: Cadre | None, number: int, lang: str) -> Issue | str:
    t = tr(d, lang)
    if not may_sign(cadre):
        return t("bulletin.office_only")
    issue = await store.get(d.db, number)
    if issue is None:
        return t("common.stale_button")
    if issue.published:
        return t("bulletin.already_published", number=number)
    return issue


async def cases_view(d: Deps, cadre: Cadre | None, number: int, lang: str) -> PressOutcome:
    judged = await _judge(d, cadre, number, lang)
    if isinstance(judged, str):
        return PressOutcome(judged)
    t = tr(d, lang)
    rows: list[tuple[Button, ...]] = []
    for case, picked in await store.offered(d.db, number):
        mark = "✅" if picked else "▫️"
        label = f"{mark} {shorten(case.title, 20)}｜{case.cadre_name}"
        rows.append((Button(label, BULLETIN.build("tog", number, case.case_id)),))
    rows.append((Button(t("bulletin.btn_back"), BULLETIN.build("back", number)),))
    text = t("bulletin.cases_pick", number=number) if len(rows) > 1 else t("bulletin.no_cases")
    return PressOutcome(None, Message(text, tuple(rows)))


async def toggle(
    d: Deps, cadre: Cadre | None, number: int, case_id: int, lang: str
) -> PressOutcome:
    judged = await _judge(d, cadre, number, lang)
    if isinstance(judged, str):
        return PressOutcome(judged)
    if await store.toggle_case(d.db, number, case_id) is None:
        return PressOutcome(tr(d, lang)("common.stale_button"))
    return await cases_view(d, cadre, number, lang)


async def back(d: Deps, cadre: Cadre | None, number: int, lang: str) -> PressOutcome:
    judged = await _judge(d, cadre, number, lang)
    if isinstance(judged, str):
        return PressOutcome(judged)
    return PressOutcome(None, await draft_view(d, judged, lang))


async def may_edit_opening(d: Deps, cadre: Cadre | None, number: int, lang: str) -> str | None:
    """None when ``cadre`` may write the opening of issue ``number`` now; else why not."""
    judged = await _judge(d, cadre, number, lang)
    return judged if isinstance(judged, str) else None


async def set_opening(
    d: Deps, cadre: Cadre, number: int, text: str, lang: str, draft_id: int | None = None
) -> tuple[str, Message | None]:
    """Save the opening and queue the draft's new view as an edit of its message in the
    office chat, in one transaction; (what to tell the writer, that view)."""
    judged = await _judge(d, cadre, number, lang)
    if isinstance(judged, str):
        return judged, None
    t = tr(d, lang)
    now = d.now()
    office = await people.office_chat(d)
    async with d.db.write() as conn:
        if not await store.set_opening(conn, number, text, now, draft_id):
            return t("bulletin.already_published", number=number), None
        issue = await store.get(conn, number)
        assert issue is not None
        view = await draft_view(d, issue, lang)  # reads inside this transaction
        if office is not None:
            await _queue_edit(conn, office.chat_id, issue, view, now)
    return t("bulletin.opening_saved", number=number), view


async def _queue_edit(
    conn: Connection, chat_id: int, issue: Issue, view: Message, now: datetime
) -> None:
    """The draft's message in the office chat shows ``view`` (its card, edited)."""
    key = f"bulletin-edit:{issue.number}:{now.isoformat()}:{zlib.crc32(view.text.encode())}"
    await outbox.enqueue(
        conn, key=key, chat_id=chat_id, message=view, now=now, edit=True,
        card=_card(issue.number),
    )  # fmt: skip


# --- publishing ---------------------------------------------------------------------------


async def publish(d: Deps, cadre: Cadre | None, number: int, lang: str) -> PressOutcome:
    """The office publishes the draft: the text and its Word document go to the office
    chat, in one transaction with the issue marked published."""
    judged = await _judge(d, cadre, number, lang)
    if isinstance(judged, str):
        return PressOutcome(judged)
    done = await _publish(d, judged, cadre, lang)
    if not done:
        return PressOutcome(tr(d, lang)("bulletin.already_published", number=number))
    issue = await store.get(d.db, number)
    assert issue is not None
    return PressOutcome(None, await draft_view(d, issue, lang))


async def publish_due(d: Deps, now: datetime) -> int:
    """Drafts past their moment go out as they stand (the sweep calls this); returns how
    many were published."""
    lang = d.settings.campaign.language
    n = 0
    for number in await store.due_drafts(d.db, now):
        issue = await store.get(d.db, number)
        if issue is not None and not issue.published and await _publish(d, issue, None, lang):
            n += 1
    return n


async def _publish(d: Deps, issue: Issue, by: Cadre | None, lang: str) -> bool:
    office = await people.office_chat(d)
    now = d.now()
    doc = await word_file(d, issue, lang, now)
    text = await render(d, issue, lang)
    t = tr(d, lang)
    items: list[Outgoing] = []
    if office is not None:
        items.append(Outgoing(f"bulletin-issue:{issue.number}", office.chat_id, text))
        if doc is not None:
            caption = t("bulletin.doc_caption", number=issue.number)
            items.append(
                Outgoing(f"bulletin-doc:{issue.number}", office.chat_id, caption, document=doc)
            )
    async with d.db.write() as conn:
        if not await store.mark_published(conn, issue.number, by.id if by else None, now):
            return False
        await enqueue_all(conn, items, now)
        await audit(conn, "publish_bulletin", actor=by, subject=f"bulletin:{issue.number}", at=now)
        if by is None and office is not None:
            # Published by the clock: the draft's message says so (a press edits its own).
            published = await store.get(conn, issue.number)
            assert published is not None
            view = await draft_view(d, published, lang)
            await _queue_edit(conn, office.chat_id, published, view, now)
    return True


# --- the Word document ----------------------------------------------------------------------


async def doc_of(d: Deps, issue: Issue, lang: str, when: datetime) -> BulletinDoc:
    t = tr(d, lang)
    b = d.settings.bulletin
    local = when.astimezone(d.settings.tz)
    iso = issue.first_day.isocalendar()
    cases = await store.carried(d.db, issue.number)
    lines = [*await _opening(d, issue, lang), *issue.body.splitlines()[1:]]
    for section in SECTIONS:
        if section not in (_opening, _numbers, _cases):
            lines += await section(d, issue, lang)
    return BulletinDoc(
        masthead=b.masthead,
        number_line=t("bulletin.doc_number", number=issue.number),
        issuer=b.issuer,
        date_text=t("bulletin.doc_date", y=local.year, m=local.month, d=local.day),
        title=t("bulletin.doc_title", year=iso.year, week=iso.week),
        paragraphs=lines,
        cases_head=t("bulletin.doc_cases_head"),
        cases=[
            DocCase(
                c.title, t("bulletin.doc_byline", cadre=c.cadre_name, team=c.team_name), c.writeup
            )
            for c in cases
        ],
    )


async def word_file(d: Deps, issue: Issue, lang: str, when: datetime) -> Path | None:
    """The issue's .docx beside the database (the outbox uploads it), or None when the
    database is in memory."""
    if d.db.path == ":memory:":
        return None
    folder = outbox_files(d.db.path)
    folder.mkdir(parents=True, exist_ok=True)
    chart = await _chart(d, issue, lang, folder)
    data = dataclasses.replace(
        await doc_of(d, issue, lang, issue.published_at or when), chart=chart
    )
    target = folder / f"bulletin-{issue.number}.docx"
    try:
        return await asyncio.to_thread(write_docx, data, target)
    except Exception:
        log.exception("bulletin %s: the Word document could not be written", issue.number)
        return None


async def _chart(d: Deps, issue: Issue, lang: str, folder: Path) -> Path | None:
    week = Period(issue.first_day, issue.last_day + timedelta(days=1), issue.week)
    ask = Ask(d.db.path, d.settings, d.catalog, lang, Scope.everything(), week, d.now())
    target = folder / f"bulletin-{issue.number}.png"
    try:
        target.write_bytes(await asyncio.to_thread(chart_png, ask))
    except Exception:  # no CJK font: the document goes without its chart
        log.warning("bulletin %s: no chart in the Word document", issue.number, exc_info=True)
        return None
    return target


async def export(d: Deps, number: int, out: Path) -> Path | None:
    """``fieldbot bulletin export N``: the issue's Word document at ``out``; None when
    there is no such issue."""
    issue = await store.get(d.db, number)
    if issue is None:
        return None
    lang = d.settings.campaign.language
    chart = await _chart(d, issue, lang, out.parent) if d.db.path != ":memory:" else None
    data = await doc_of(d, issue, lang, issue.published_at or d.now())
    data = dataclasses.replace(data, chart=chart)
    try:
        return await asyncio.to_thread(write_docx, data, out)
    finally:
        if chart is not None:
            chart.unlink(missing_ok=True)
