"""Plan reminders, a workday job: each owner hears of their open items due within the
next three workdays; each group leader (team leader, for a team's own items) hears of
the unit's overdue items. Through the outgoing queue (keys ``plan-due`` and
``plan-overdue`` wait for the morning in quiet hours), never to someone who paused
reminders (/mute), one message per person and day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from campaign.plans import REMIND_WORKDAYS
from campaign.text import MESSAGE_LIMIT, day_text, shorten
from campaign.workcalendar import WorkCalendar
from services.jobs import Outgoing, calendar_of, lang_of, local_day, tr
from services.runtime import Deps
from storage import plans as store
from storage.plans import Reminder

_MAX_TEXT = MESSAGE_LIMIT - 96
_MAX_LINES = 20


def horizon(today: date, cal: WorkCalendar, workdays: int = REMIND_WORKDAYS) -> date:
    """The last day of the next ``workdays`` workdays after ``today``."""
    day, seen = today, 0
    for _ in range(60):
        if seen >= workdays:
            break
        day += timedelta(days=1)
        if cal.is_workday(day):
            seen += 1
    return day


def _by_person(found: list[Reminder]) -> dict[tuple[int, int], list[Reminder]]:
    out: dict[tuple[int, int], list[Reminder]] = defaultdict(list)
    for r in found:
        out[(r.cadre_id, r.chat_id)].append(r)
    return out


async def plan_reminder_items(deps: Deps, due: datetime, now: datetime) -> list[Outgoing]:
    today = local_day(deps, due)
    last = horizon(today, calendar_of(deps))
    out: list[Outgoing] = []
    soon = await store.owners_due(deps.db, today, last, now)
    for (cadre_id, chat_id), items in _by_person(soon).items():
        lang = lang_of(deps, items[0].lang)
        t = tr(deps, lang)
        lines = [t("plans.remind.due_head", count=len(items))]
        lines += [
            t("plans.remind.line", code=i.code, title=shorten(i.title, 40),
              due=day_text(t, i.due_date))
            for i in items[:_MAX_LINES]
        ]  # fmt: skip
        lines.append(t("plans.remind.due_foot"))
        text = shorten("\n".join(lines), _MAX_TEXT, one_line=False)
        out.append(Outgoing(f"plan-due:{cadre_id}:{today.isoformat()}", chat_id, text))
    late = await store.leaders_overdue(deps.db, today, now)
    for (cadre_id, chat_id), items in _by_person(late).items():
        lang = lang_of(deps, items[0].lang)
        t = tr(deps, lang)
        lines = [t("plans.remind.overdue_head", count=len(items))]
        lines += [
            t("plans.remind.line", code=i.code, title=shorten(i.title, 40),
              due=day_text(t, i.due_date))
            for i in items[:_MAX_LINES]
        ]  # fmt: skip
        if len(items) > _MAX_LINES:
            lines.append(t("plans.bulletin.more", count=len(items) - _MAX_LINES))
        lines.append(t("plans.remind.overdue_foot"))
        text = shorten("\n".join(lines), _MAX_TEXT, one_line=False)
        out.append(Outgoing(f"plan-overdue:{cadre_id}:{today.isoformat()}", chat_id, text))
    return out
