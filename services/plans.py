"""Work plans in the bot: the /plan list by role, an item's card, a progress report (进展
/ 完成) and a leader adding or editing an item. Each use case re-reads the item and the
sender, judges once (campaign/plans.py), writes in one transaction and returns an
outcome; the chat edge only renders it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from campaign import plans as rules
from campaign.callbacks import PLAN
from campaign.message import Button, Message
from campaign.periods import Period
from campaign.plans import Unit, View, Window
from campaign.text import ECHO_LIMIT, Tr, day_text, shorten
from services.jobs import lang_of, tr
from services.people import Cadre
from services.runtime import Deps
from storage import drafts
from storage import plans as store
from storage.db import Connection
from storage.outbox import enqueue
from storage.plans import Item, NewItem

LIST_MAX = 30  # items on one /plan answer
BUTTONS_MAX = 20  # of them with a button to their card
_EXCERPT = 24


def months(d: Deps) -> Window:
    s = d.settings.plans
    return rules.window(s.first_month, s.last_month, d.local_now().date())


def _unit_name(item: Item) -> str:
    return item.group_name or item.team_name


def _progress(t: Tr, item: Item) -> str:
    if item.target is None:
        return ""
    done = rules.number_text(item.progress)
    return t(
        "plans.list.progress", done=done, target=rules.number_text(item.target), unit=item.unit
    )


def _line(d: Deps, lang: str, item: Item, today: date) -> str:
    t = tr(d, lang)
    mark = t("plans.list.overdue") if rules.is_overdue(item.status, item.due_date, today) else ""
    return t(
        "plans.list.line",
        mark=mark,
        code=item.code,
        title=shorten(item.title, 40),
        due=day_text(t, item.due_date),
        status=t(f"plans.status.{item.status}"),
        progress=_progress(t, item),
        owners="、".join(o.name for o in item.owners),
    )


def _order(items: Sequence[Item], today: date) -> list[Item]:
    """Overdue first, then by due date; closed items last."""

    def key(i: Item) -> tuple[int, date, int]:
        rank = 0 if rules.is_overdue(i.status, i.due_date, today) else 1
        return (rank if rules.is_open(i.status) else 2, i.due_date, i.id)

    return sorted(items, key=key)


async def plan_list(d: Deps, cadre: Cadre, lang: str, period: Period) -> Message:
    """/plan [period]: my items (a cadre), my group's (a group leader), my team's (a team
    leader), or the county by team (the office, inspectors)."""
    t = tr(d, lang)
    today = d.local_now().date()
    view = rules.view_for(cadre.role)
    start, end = period.start, period.last_day
    if view == View.OFFICE:
        return await _office_list(d, lang, period, today)
    # Read without owners; only the items listed get theirs (a team's list is long).
    if view == View.TEAM and cadre.team_id is not None:
        items = await store.for_team(d.db, cadre.team_id, start, end, owners=False)
        scope = t("plans.list.scope_team", name=cadre.team_name)
    elif view == View.GROUP and cadre.group_id is not None:
        items = await store.for_group(d.db, cadre.group_id, start, end, owners=False)
        seen = {i.id for i in items}
        mine = await store.for_owner(d.db, cadre.id, start, end, owners=False)
        items += [i for i in mine if i.id not in seen]
        scope = t("plans.list.scope_group", name=cadre.group_name)
    else:
        items = await store.for_owner(d.db, cadre.id, start, end, owners=False)
        scope = t("plans.list.scope_mine")
    items = _order(items, today)
    items[:LIST_MAX] = await store.with_owners(d.db, items[:LIST_MAX])
    lines = [t("plans.list.head", period=period.label, scope=scope)]
    if not items:
        lines.append(t("plans.list.none"))
    lines += [_line(d, lang, i, today) for i in items[:LIST_MAX]]
    if len(items) > LIST_MAX:
        lines.append(t("plans.list.more", count=len(items) - LIST_MAX))
    overdue = sum(1 for i in items if rules.is_overdue(i.status, i.due_date, today))
    done = sum(1 for i in items if i.status == "done")
    lines.append(t("plans.list.totals", count=len(items), done=done, overdue=overdue))
    buttons = [
        Button(t("plans.list.button", code=i.code, title=shorten(i.title, _EXCERPT)),
               PLAN.build("show", i.id))
        for i in items[:BUTTONS_MAX]
    ]  # fmt: skip
    rows: list[tuple[Button, ...]] = [(b,) for b in buttons]
    if rules.own_unit(cadre.role, cadre.team_id, cadre.group_id) is not None:
        rows.append((Button(t("plans.list.add"), PLAN.build("add")),))
    return Message("\n".join(lines), tuple(rows))


async def _office_list(d: Deps, lang: str, period: Period, today: date) -> Message:
    t = tr(d, lang)
    teams = await store.team_completion(d.db, period.start, period.last_day, today)
    lines = [t("plans.list.head", period=period.label, scope=t("plans.list.scope_office"))]
    if not teams:
        lines.append(t("plans.list.none"))
    for u in teams:
        lines.append(
            t("plans.list.team_line", team=u.team_name, due=u.due, done=u.done, overdue=u.overdue)
        )
    return Message("\n".join(lines))


# --- an item's card --------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    message: Message | None  # None: refused
    refusal: str = ""


def _sees(cadre: Cadre, item: Item) -> bool:
    unit = Unit(item.team_id, item.group_id)
    owners = [o.id for o in item.owners]
    return rules.may_see(cadre.role, cadre.team_id, cadre.group_id, cadre.id, unit, owners)


def _manages(cadre: Cadre, item: Item) -> bool:
    return rules.may_manage(
        cadre.role, cadre.team_id, cadre.group_id, Unit(item.team_id, item.group_id)
    )


async def card(d: Deps, cadre: Cadre, lang: str, item_id: int) -> Shown:
    """An item's card with its last reports; buttons by what the viewer may do."""
    t = tr(d, lang)
    item = await store.get(d.db, item_id)
    if item is None or not _sees(cadre, item):
        return Shown(None, t("plans.refused.not_yours"))
    today = d.local_now().date()
    lines = [t("plans.card.head", code=item.code, title=item.title)]
    lines.append(t("plans.card.unit", unit=_unit_name(item), team=item.team_name))
    if item.place_name:
        lines.append(t("plans.card.place", place=item.place_name))
    if item.measure:
        lines.append(t("plans.card.measure", measure=item.measure))
    if item.target is not None:
        lines.append(t("plans.card.target", progress=_progress(t, item)))
    if item.kind:
        lines.append(t("plans.card.kind", kind=t(f"kinds.{item.kind}")))
    lines.append(t("plans.card.owners", owners="、".join(o.name for o in item.owners)))
    due = day_text(t, item.due_date)
    lines.append(t("plans.card.due", due=due, quarter=item.quarter, month=item.month))
    status = t(f"plans.status.{item.status}")
    if rules.is_overdue(item.status, item.due_date, today):
        status += t("plans.list.overdue")
    if item.status == "cancelled" and item.cancel_reason:
        status += t("plans.card.reason", reason=item.cancel_reason)
    lines.append(t("plans.card.status", status=status))
    reports = await store.progress_of(d.db, item.id)
    if reports:
        lines.append(t("plans.card.reports"))
    for r in reports:
        amount = rules.number_text(r.amount)
        lines.append(
            t(
                "plans.card.report",
                at=r.at[:10],
                name=r.cadre_name,
                note=shorten(r.note, 60),
                amount=t("plans.card.amount", amount=amount, unit=item.unit) if amount else "",
                photos=t("plans.card.photos", count=len(r.photos)) if r.photos else "",
                done=t("plans.card.completed") if r.completes else "",
            )
        )
    rows: list[tuple[Button, ...]] = []
    if rules.may_report(item.status, cadre.id, [o.id for o in item.owners]) is None:
        rows.append(
            (
                Button(t("plans.card.note_button"), PLAN.build("prg", item.id, 0)),
                Button(t("plans.card.done_button"), PLAN.build("prg", item.id, 1)),
            )
        )
    if _manages(cadre, item) and rules.is_open(item.status):
        rows.append(
            (
                Button(t("plans.card.edit_button"), PLAN.build("ed", item.id)),
                Button(t("plans.cancel.button"), PLAN.build("cx", item.id)),
            )
        )
    return Shown(Message("\n".join(lines), tuple(rows)))


# --- progress --------------------------------------------------------------------------


async def reportable(d: Deps, cadre: Cadre, lang: str, item_id: int) -> tuple[Item | None, str]:
    """The item, if the sender may report on it now; else the refusal."""
    item = await store.get(d.db, item_id)
    if item is None:
        return None, tr(d, lang)("plans.refused.not_yours")
    why = rules.may_report(item.status, cadre.id, [o.id for o in item.owners])
    if why is not None:
        return None, tr(d, lang)(f"plans.refused.{why}")
    return item, ""


@dataclass(frozen=True)
class Reported:
    ok: bool
    text: str


async def report_progress(
    d: Deps,
    *,
    cadre: Cadre,
    lang: str,
    draft_id: int,
    item_id: int,
    note: str,
    amount: float | None,
    photos: Sequence[str],
    completes: bool,
) -> Reported:
    """Record a report (and, with 完成, the item done) and close the draft, in one
    transaction; refused (nothing written, the draft cancelled) when the sender no
    longer owns the item or it was closed meanwhile."""
    t = tr(d, lang)
    now = d.now()
    item = await store.get(d.db, item_id)
    why = "not_yours" if item is None else None
    if item is not None:
        why = rules.may_report(item.status, cadre.id, [o.id for o in item.owners])
    async with d.db.write() as conn:
        if why is not None:
            await drafts.close(conn, draft_id, "cancelled", now)
            return Reported(False, t(f"plans.refused.{why}"))
        if not await drafts.close(conn, draft_id, "submitted", now, result_id=item_id):
            return Reported(False, t("plans.progress.already"))
        await store.add_progress(
            conn,
            item_id=item_id,
            cadre_id=cadre.id,
            note=note,
            amount=amount,
            completes=completes,
            photos=photos,
            draft_id=draft_id,
            now=now,
        )
        if completes and item is not None:
            await _tell_leaders_done(conn, d, item, cadre, note, draft_id, now)
    assert item is not None
    key = "plans.progress.done" if completes else "plans.progress.saved"
    return Reported(True, t(key, code=item.code, title=shorten(item.title, ECHO_LIMIT)))


async def _tell_leaders_done(
    conn: Connection, d: Deps, item: Item, cadre: Cadre, note: str, draft_id: int, now: datetime
) -> None:
    """An item done: the leaders it answers to hear of it (through the outgoing queue, in
    the report's transaction), except the owner who reported it."""
    for leader_id, chat_id, lang in await store.leader_chats(conn, item.id):
        if leader_id == cadre.id:
            continue
        t = tr(d, lang_of(d, lang))
        text = t(
            "plans.progress.leader_done",
            who=cadre.name,
            code=item.code,
            title=shorten(item.title, ECHO_LIMIT),
            note=shorten(note, ECHO_LIMIT),
        )
        opens = t("plans.list.button", code=item.code, title=shorten(item.title, _EXCERPT))
        await enqueue(
            conn, key=f"plan-done:{item.id}:{draft_id}:{chat_id}", chat_id=chat_id,
            message=Message(text, ((Button(opens, PLAN.build("show", item.id)),),)),
            now=now,
        )  # fmt: skip


# --- a leader's items ------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    id: int
    name: str


async def members(d: Deps, unit: Unit) -> list[Member]:
    """Who may own an item of the unit: the group's members, or the team's."""
    found = await store.unit_members(d.db, unit.team_id, unit.group_id)
    return [Member(i, n) for i, n in found]


async def editable(d: Deps, cadre: Cadre, lang: str, item_id: int) -> tuple[Item | None, str]:
    item = await store.get(d.db, item_id)
    if item is None or not _manages(cadre, item):
        return None, tr(d, lang)("plans.refused.not_your_unit")
    if not rules.is_open(item.status):
        return None, tr(d, lang)("plans.refused.closed")
    return item, ""


@dataclass(frozen=True)
class Draft:
    """What the leader entered."""

    title: str
    measure: str
    kind: str | None
    month: str
    due: date | None
    owners: tuple[int, ...]


async def save_item(
    d: Deps, *, cadre: Cadre, lang: str, draft_id: int, item_id: int | None, new: Draft
) -> Reported:
    """Add an item to the leader's unit, or change one of it; every rule checked again
    here (the unit, the month, each owner), nothing written when one fails."""
    t = tr(d, lang)
    now = d.now()
    refusal = ""
    unit = rules.own_unit(cadre.role, cadre.team_id, cadre.group_id)
    place_id: int | None = None
    if item_id is not None:
        item, refusal = await editable(d, cadre, lang, item_id)
        if item is not None:
            unit, place_id = Unit(item.team_id, item.group_id), item.place_id
    if unit is None and not refusal:
        refusal = t("plans.refused.not_your_unit")
    window = months(d)
    if not refusal and not window.holds(new.month):
        refusal = t("plans.refused.month_outside", month=new.month, first=window.first,
                    last=window.last)  # fmt: skip
    if not refusal and (not new.title or not new.owners):
        refusal = t("plans.refused.incomplete")
    if not refusal:
        assert unit is not None
        allowed = {m.id for m in await members(d, unit)}
        if any(o not in allowed for o in new.owners):
            refusal = t("plans.refused.owner_outside")
    if refusal:
        await drafts_cancel(d, draft_id)
        return Reported(False, refusal)
    assert unit is not None
    target, measure_unit = rules.parse_measure(new.measure)
    record = NewItem(
        team_id=unit.team_id,
        group_id=unit.group_id,
        place_id=place_id,
        month=new.month,
        due_date=new.due or rules.month_end(new.month),
        title=new.title,
        measure=new.measure,
        target=target,
        unit=measure_unit,
        kind=new.kind,
        owners=new.owners,
    )
    async with d.db.write() as conn:
        if not await drafts.close(conn, draft_id, "submitted", now, result_id=item_id):
            return Reported(False, t("plans.progress.already"))
        if item_id is None:
            item_id = await store.add_item(conn, record, cadre.id, now)
            key = "plans.edit.added"
        else:
            await store.update_item(conn, item_id, record, now)
            key = "plans.edit.changed"
    saved = await store.get(d.db, item_id)
    code = saved.code if saved is not None else ""
    return Reported(True, t(key, code=code, title=shorten(new.title, ECHO_LIMIT)))


async def cancel_item(
    d: Deps, *, cadre: Cadre, lang: str, draft_id: int, item_id: int, reason: str
) -> Reported:
    """A leader cancels an open item of the unit, with the reason (已取消); judged again
    here, nothing written when refused."""
    t = tr(d, lang)
    item, refusal = await editable(d, cadre, lang, item_id)
    if item is None or not reason:
        await drafts_cancel(d, draft_id)
        return Reported(False, refusal or t("plans.refused.incomplete"))
    now = d.now()
    async with d.db.write() as conn:
        if not await drafts.close(conn, draft_id, "submitted", now, result_id=item_id):
            return Reported(False, t("plans.progress.already"))
        await store.cancel_item(conn, item_id, reason, cadre.id, now)
    return Reported(True, t("plans.edit.cancelled_item", code=item.code, title=item.title))


async def drafts_cancel(d: Deps, draft_id: int) -> None:
    async with d.db.write() as conn:
        await drafts.close(conn, draft_id, "cancelled", d.now())
