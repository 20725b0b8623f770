"""Checking the work: a check of a cadre's log for a period or of one visit (已检查 /
需整改), the correction item (整改项) a 需整改 opens, its answer and its review, the
open corrections by team (/checks), and on-site inspections (现场督查).

Each use case reads, judges once (campaign/checks.py), writes in one transaction with
the draft that collected its words, queues the notices it causes through the outbox,
and returns an outcome with the words to show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from campaign import callbacks
from campaign.checks import (
    MAX_ITEMS,
    CorrectionState,
    Why,
    checks_logs,
    due_at,
    is_overdue,
    may_answer,
    may_check,
    may_inspect,
    may_review,
    sees_corrections_of,
)
from campaign.ladder import Actor
from campaign.message import Button, Message, column, grid
from campaign.text import Tr, day_text, moment_text
from services import visit_log
from services.jobs import lang_of, tr
from services.problems import actor_of
from services.runtime import Deps
from storage import checks, drafts, people, visits
from storage.checks import Correction, GroupRef, NewCheck, NewCorrection, NewInspection
from storage.db import Connection
from storage.outbox import enqueue
from storage.people import Cadre
from storage.visits import Visit


def _t(d: Deps, lang: str) -> Tr:
    return tr(d, lang)


def _local(d: Deps, moment: datetime) -> date:
    return moment.astimezone(d.settings.tz).date()


def number(correction_id: int) -> str:
    return f"Z-{correction_id:04d}"


# --- what is checked --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A cadre's log for ``start``..``end`` (local days, end exclusive), or one visit."""

    cadre_id: int
    start: date
    end: date
    visit_id: int | None
    verdict: str  # ok 已检查, fix 需整改


@dataclass(frozen=True)
class Judged:
    why: Why | None
    cadre: Cadre | None = None
    text: str = ""  # the refusal, in the presser's words

    @property
    def ok(self) -> bool:
        return self.why is None


def _refusal(t: Tr, why: Why, **values: object) -> str:
    return t(f"checks.why.{why.value}", **values)


async def judge(d: Deps, checker: Cadre, target: Target, lang: str) -> Judged:
    """May ``checker`` mark this log or visit now? Read from the roster as it is now, so
    a forged or stale press is refused like any other."""
    t = _t(d, lang)
    if target.verdict not in ("ok", "fix") or target.start >= target.end:
        return Judged(Why.NOT_FOUND, text=t("common.stale_button"))
    if target.visit_id is not None:
        visit = await visits.get(d.db, target.visit_id)
        if visit is None or visit.cadre_id != target.cadre_id:
            return Judged(Why.NOT_FOUND, text=_refusal(t, Why.NOT_FOUND))
        if not visit.active:
            return Judged(Why.WITHDRAWN, text=_refusal(t, Why.WITHDRAWN, id=visit.id))
    cadre = await people.cadre_by_id(d.db, target.cadre_id)
    if cadre is None or not cadre.active:
        return Judged(Why.NOT_FOUND, text=_refusal(t, Why.NOT_FOUND))
    why = may_check(actor_of(checker), actor_of(cadre))
    if why is not None:
        return Judged(why, cadre, _refusal(t, why))
    before = await checks.repeated(
        d.db, checker.id, cadre.id, target.start, target.end, target.visit_id
    )
    if before == target.verdict:
        verdict = t(f"checks.verdict.{before}")
        return Judged(Why.REPEATED, cadre, _refusal(t, Why.REPEATED, verdict=verdict))
    return Judged(None, cadre)


def target_text(t: Tr, target: Target, cadre_name: str) -> str:
    if target.visit_id is not None:
        return t("checks.target_visit", id=target.visit_id, cadre=cadre_name)
    last = target.end - timedelta(days=1)
    return t(
        "checks.target_log",
        cadre=cadre_name,
        start=day_text(t, target.start),
        end=day_text(t, last),
    )


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str
    id: int | None = None  # the check, correction or inspection written


async def _tell(
    conn: Connection,
    d: Deps,
    cadre_id: int,
    key: str,
    render: Callable[[Tr], Message],
    now: datetime,
) -> None:
    """Queue a notice to one cadre's private chat, in their language (``render``: the
    language's translator → the message)."""
    reach = await checks.private_chat(d.db, cadre_id)
    if reach is None:
        return
    chat_id, saved = reach
    message = render(_t(d, lang_of(d, saved)))
    await enqueue(conn, key=key, chat_id=chat_id, message=message, now=now)


def _cor(t: Tr, label: str, action: str, correction_id: int) -> Button:
    return Button(t(f"checks.button.{label}"), callbacks.CORRECTION.build(action, correction_id))


async def record(
    d: Deps, checker: Cadre, target: Target, comment: str, draft_id: int, lang: str
) -> Outcome:
    """Mark the log or visit; a 需整改 opens a correction item for the cadre. The draft
    that collected the comment closes in the same transaction."""
    t = _t(d, lang)
    judged = await judge(d, checker, target, lang)
    if not judged.ok or judged.cadre is None:
        await drafts.cancel(d.db, draft_id, d.now())
        return Outcome(False, judged.text)
    cadre = judged.cadre
    what = target_text(t, target, cadre.name)
    try:
        check_id, correction_id = await _write_check(d, checker, cadre, target, comment, draft_id)
    except _Again:
        return Outcome(False, t("checks.flow.draft_closed"))
    verdict = t(f"checks.verdict.{target.verdict}")
    text = t("checks.done", what=what, verdict=verdict)
    if correction_id is not None:
        text += "\n" + t("checks.done_correction", number=number(correction_id))
    return Outcome(True, text, check_id)


async def _write_check(
    d: Deps, checker: Cadre, cadre: Cadre, target: Target, comment: str, draft_id: int
) -> tuple[int, int | None]:
    now = d.now()
    today = _local(d, now)
    async with d.db.write() as conn:
        check_id = await checks.add_check(
            conn,
            NewCheck(
                cadre.id,
                checker.id,
                cadre.team_id,
                target.start,
                target.end,
                target.visit_id,
                target.verdict,
                comment,
                today,
            ),
            now,
        )
        if not await drafts.close(conn, draft_id, "submitted", now, result_id=check_id):
            raise _Again()
        correction_id = None
        if target.verdict == "fix":
            due = due_at(now, d.settings.checks.correction_days)
            correction_id = await checks.add_correction(
                conn,
                NewCorrection(
                    cadre.id,
                    checker.id,
                    cadre.team_id,
                    cadre.group_id,
                    comment,
                    due,
                    _local(d, due),
                    today,
                    check_id=check_id,
                ),
                now,
            )
        cid = correction_id

        def notice(tt: Tr) -> Message:
            words = target_text(tt, target, cadre.name)
            verdict = tt(f"checks.verdict.{target.verdict}")
            text = tt(
                "checks.notice.checked",
                checker=checker.name,
                what=words,
                verdict=verdict,
                comment=comment or tt("checks.no_comment"),
            )
            if cid is None:
                return Message(text)
            text += "\n" + tt(
                "checks.notice.correction",
                number=number(cid),
                due=moment_text(tt, due_at(now, d.settings.checks.correction_days), d.settings.tz),
            )
            return Message(text, ((_cor(tt, "answer", "ans", cid),),))

        await _tell(conn, d, cadre.id, f"check:{check_id}:cadre", notice, now)
    return check_id, correction_id


class _Again(Exception):
    """The draft was closed meanwhile (a second Submit): nothing is written."""


# --- corrections ------------------------------------------------------------------------------


def _state(c: Correction) -> CorrectionState:
    return CorrectionState(c.cadre_id, c.checker_id, c.status)


async def correction_for(
    d: Deps, actor: Cadre, correction_id: int, action: str, lang: str
) -> tuple[Correction | None, str]:
    """The correction if ``actor`` may ``ans`` (answer) or ``close``/``back`` (review) it
    now; otherwise None and why not."""
    t = _t(d, lang)
    c = await checks.get_correction(d.db, correction_id)
    if c is None:
        return None, _refusal(t, Why.NOT_FOUND)
    judge_fn = may_answer if action == "ans" else may_review
    why = judge_fn(actor_of(actor), _state(c))
    if why is not None:
        return None, _refusal(t, why, number=number(c.id))
    return c, ""


async def answer(
    d: Deps,
    cadre: Cadre,
    correction_id: int,
    text: str,
    photos: Sequence[str],
    draft_id: int,
    lang: str,
) -> Outcome:
    """The cadre's answer: the checker is asked to close it or send it back."""
    t = _t(d, lang)
    c, refusal = await correction_for(d, cadre, correction_id, "ans", lang)
    if c is None:
        await drafts.cancel(d.db, draft_id, d.now())
        return Outcome(False, refusal)
    now = d.now()
    try:
        async with d.db.write() as conn:
            if not await checks.answer(conn, c.id, cadre.id, text, photos, now):
                raise _Again()
            if not await drafts.close(conn, draft_id, "submitted", now, result_id=c.id):
                raise _Again()

            def notice(tt: Tr) -> Message:
                body = tt(
                    "checks.notice.answered",
                    number=number(c.id),
                    cadre=cadre.name,
                    item=c.text,
                    answer=text or "-",
                    photos=len(photos),
                )
                row = (_cor(tt, "close", "close", c.id), _cor(tt, "back", "back", c.id))
                return Message(body, (row,))

            key = f"correction:{c.id}:answer:{draft_id}"
            await _tell(conn, d, c.checker_id, key, notice, now)
            if photos:
                reach = await checks.private_chat(d.db, c.checker_id)
                if reach is not None:
                    await enqueue(
                        conn,
                        key=f"{key}:photos",
                        chat_id=reach[0],
                        message=Message(number(c.id), photos=tuple(photos)),
                        now=now,
                    )
    except _Again:
        return Outcome(False, _refusal(t, Why.ANSWERED, number=number(c.id)))
    return Outcome(True, t("checks.answer_sent", number=number(c.id)), c.id)


async def review(
    d: Deps,
    actor: Cadre,
    correction_id: int,
    close: bool,
    note: str,
    draft_id: int | None,
    lang: str,
) -> Outcome:
    """Close an answered correction, or send it back with a reason; the cadre is told."""
    t = _t(d, lang)
    c, refusal = await correction_for(d, actor, correction_id, "close", lang)
    if c is None:
        if draft_id is not None:
            await drafts.cancel(d.db, draft_id, d.now())
        return Outcome(False, refusal)
    now = d.now()
    try:
        async with d.db.write() as conn:
            if not await checks.review(conn, c.id, actor.id, close, note, now, _local(d, now)):
                raise _Again()
            if draft_id is not None and not await drafts.close(
                conn, draft_id, "submitted", now, result_id=c.id
            ):
                raise _Again()

            def notice(tt: Tr) -> Message:
                if close:
                    return Message(
                        tt("checks.notice.closed", number=number(c.id), who=actor.name, item=c.text)
                    )
                body = tt(
                    "checks.notice.sent_back",
                    number=number(c.id),
                    who=actor.name,
                    item=c.text,
                    note=note,
                )
                return Message(body, ((_cor(tt, "answer", "ans", c.id),),))

            kind = "close" if close else "back"
            events = await d.db.fetchone(
                "SELECT COUNT(*) AS n FROM correction_events WHERE correction_id = ?", (c.id,)
            )
            seq = int(events["n"]) if events else 0
            await _tell(conn, d, c.cadre_id, f"correction:{c.id}:{kind}:{seq}", notice, now)
    except _Again:
        return Outcome(False, _refusal(t, Why.NOT_ANSWERED, number=number(c.id)))
    key = "checks.closed" if close else "checks.sent_back"
    return Outcome(True, t(key, number=number(c.id)), c.id)


def correction_text(d: Deps, t: Tr, c: Correction, now: datetime) -> str:
    status = t(f"checks.status.{c.status}")
    if is_overdue(c.status, c.due_at, now):
        status += " " + t("checks.overdue")
    lines = [
        t("checks.card.title", number=number(c.id), status=status),
        t("checks.card.item", item=c.text),
        t("checks.card.who", cadre=c.cadre_name, checker=c.checker_name),
        t("checks.card.due", due=moment_text(t, c.due_at, d.settings.tz)),
    ]
    if c.answer or c.photos:
        lines.append(t("checks.card.answer", answer=c.answer or "-", photos=len(c.photos)))
    return "\n".join(lines)


async def open_list(d: Deps, actor: Cadre, lang: str) -> Message:
    """/checks: open corrections in the reader's scope, by team; cadres see their own."""
    t = _t(d, lang)
    a = actor_of(actor)
    now = d.now()
    mine = await checks.corrections_of(d.db, actor.id)
    if not sees_corrections_of(a, actor.team_id, actor.group_id):
        if not mine:
            return Message(t("checks.list.none_mine"))
        lines = [t("checks.list.mine_head", count=len(mine))]
        lines += [_line(d, t, c, now) for c in mine]
        picks = [_cor(t, "answer_n", "ans", c.id) for c in mine if c.status == "open"]
        return Message("\n".join(lines)[:4000], column(picks[:10]))
    items = [
        c
        for c in await checks.open_corrections(d.db)
        if sees_corrections_of(a, c.team_id, c.group_id)
    ]
    if not items:
        return Message(t("checks.list.none"))
    overdue = sum(1 for c in items if is_overdue(c.status, c.due_at, now))
    lines = [t("checks.list.head", count=len(items), overdue=overdue)]
    team = None
    for c in items:
        if c.team_name != team:
            team = c.team_name
            lines.append(t("checks.list.team", team=team or "-"))
        lines.append(_line(d, t, c, now))
    picks = [
        Button(f"{number(c.id)}", callbacks.CORRECTION.build("show", c.id)) for c in items[:10]
    ]
    return Message(
        "\n".join(lines)[:4000], tuple(tuple(picks[i : i + 5]) for i in range(0, len(picks), 5))
    )


def _line(d: Deps, t: Tr, c: Correction, now: datetime) -> str:
    flag = " " + t("checks.overdue") if is_overdue(c.status, c.due_at, now) else ""
    return (
        t(
            "checks.list.line",
            number=number(c.id),
            cadre=c.cadre_name,
            group=c.group_name or "-",
            status=t(f"checks.status.{c.status}"),
            item=c.text[:40],
        )
        + flag
    )


async def show(d: Deps, actor: Cadre, correction_id: int, lang: str) -> Message | None:
    """One correction, for its cadre, its checker or whoever sees its team's list."""
    t = _t(d, lang)
    c = await checks.get_correction(d.db, correction_id)
    a = actor_of(actor)
    if c is None or not (
        actor.id in (c.cadre_id, c.checker_id) or sees_corrections_of(a, c.team_id, c.group_id)
    ):
        return None
    buttons: list[Button] = []
    if may_answer(a, _state(c)) is None:
        buttons.append(_cor(t, "answer", "ans", c.id))
    if may_review(a, _state(c)) is None:
        buttons += [_cor(t, "close", "close", c.id), _cor(t, "back", "back", c.id)]
    return Message(correction_text(d, t, c, d.now()), (tuple(buttons),) if buttons else ())


# --- entry points on /log and a visit's card --------------------------------------------------


def _chk(t: Tr, verdict: str, action: str, *args: object) -> Button:
    return Button(t(f"checks.button.{verdict}"), callbacks.CHECK.build(action, *args, verdict))


async def log_offer(
    d: Deps, checker: Cadre, cadre_id: int, start: date, end: date, token: str, lang: str
) -> Message | None:
    """The 已检查 / 需整改 buttons under a cadre's /log, for a reader who may check it."""
    cadre = await people.cadre_by_id(d.db, cadre_id)
    if cadre is None or may_check(actor_of(checker), actor_of(cadre)) is not None:
        return None
    t = _t(d, lang)
    target = Target(cadre.id, start, end, None, "ok")
    row = (_chk(t, "ok", "log", cadre.id, token), _chk(t, "fix", "log", cadre.id, token))
    ids = await checks.visits_in(d.db, cadre.id, start, end)
    picks = [Button(f"#{v}", callbacks.CHECK.build("sv", v)) for v in ids]
    text = t("checks.offer_log", what=target_text(t, target, cadre.name))
    if picks:
        text += "\n" + t("checks.offer_visits")
    return Message(text, (row, *grid(picks, 4)))


async def with_checks(d: Deps, reader: Cadre, visit: Visit, card: Message, lang: str) -> Message:
    """A visit's card with the checks it had, and the 已检查 / 需整改 buttons for a reader
    who may check it (added under the card's own buttons)."""
    t = _t(d, lang)
    lines = [
        t(
            "checks.visit_line",
            who=k.checker_name,
            verdict=t(f"checks.verdict.{k.verdict}"),
            comment=k.comment or t("checks.no_comment"),
        )
        for k in await checks.checks_of_visit(d.db, visit.id)
    ]
    text = "\n".join([card.text, *lines])
    buttons = card.buttons
    cadre = await people.cadre_by_id(d.db, visit.cadre_id)
    if visit.active and cadre is not None and may_check(actor_of(reader), actor_of(cadre)) is None:
        buttons = (*buttons, (_chk(t, "ok", "vis", visit.id), _chk(t, "fix", "vis", visit.id)))
    return Message(text, buttons)


async def visit_to_check(d: Deps, reader: Cadre, visit_id: int | None, lang: str) -> Message | str:
    """A visit shown to someone who may check it (an inspector, the office, a leader),
    read-only unless they may also change it; otherwise why not (``visit_id`` None: the
    command came without a number)."""
    t = _t(d, lang)
    if not checks_logs(actor_of(reader)):
        return _refusal(t, Why.NOT_ALLOWED)
    if visit_id is None:
        return t("checks.usage_check")
    visit = await visits.get(d.db, visit_id)
    if visit is None:
        return _refusal(t, Why.NOT_FOUND)
    cadre = await people.cadre_by_id(d.db, visit.cadre_id)
    why = Why.NOT_FOUND if cadre is None else may_check(actor_of(reader), actor_of(cadre))
    if why is not None:
        return _refusal(t, why)
    return await with_checks(d, reader, visit, visit_log.card(d, reader, visit, lang), lang)


# --- on-site inspections ----------------------------------------------------------------------


async def inspect_group(
    d: Deps, actor: Cadre, text: str, lang: str, group_id: int | None = None
) -> tuple[GroupRef | None, str]:
    """The group an inspection is of, if ``actor`` may record one: by code or name, or
    by id (a button of the picker)."""
    t = _t(d, lang)
    if not may_inspect(actor_of(actor)):
        return None, t("checks.inspect.not_allowed")
    if group_id is not None:
        group = await checks.group_by_id(d.db, group_id)
    else:
        group = await checks.find_group(d.db, text.strip()) if text.strip() else None
    if group is None:
        return None, t("checks.inspect.usage")
    return group, ""


async def inspect_picker(
    d: Deps, actor: Cadre, lang: str, team_id: int | None = None
) -> Message | str:
    """/inspect without a group: the teams, then (``team_id``) that team's groups, as
    buttons. A refusal is a string."""
    t = _t(d, lang)
    if not may_inspect(actor_of(actor)):
        return t("checks.inspect.not_allowed")
    if team_id is None:
        teams = await checks.teams_to_inspect(d.db)
        if not teams:
            return t("checks.inspect.usage")
        buttons = [Button(name, callbacks.INSPECTION.build("team", tid)) for tid, name in teams]
        return Message(t("checks.inspect.pick_team"), grid(buttons, 2))
    groups = await checks.groups_of_team(d.db, team_id)
    if not groups:
        return t("checks.inspect.usage")
    buttons = [Button(g.name, callbacks.INSPECTION.build("grp", g.id)) for g in groups]
    back = Button(t("checks.inspect.back"), callbacks.INSPECTION.build("top"))
    return Message(t("checks.inspect.pick_group"), (*grid(buttons, 2), (back,)))


@dataclass(frozen=True)
class InspectionForm:
    group_id: int
    day: date
    place: str
    findings: str
    items: Sequence[str] = field(default_factory=tuple)


async def record_inspection(
    d: Deps, inspector: Cadre, form: InspectionForm, draft_id: int, lang: str
) -> Outcome:
    """Write the inspection and one correction per item, owned by the group's leader
    (who is told); the draft closes in the same transaction."""
    t = _t(d, lang)
    if not may_inspect(actor_of(inspector)):
        await drafts.cancel(d.db, draft_id, d.now())
        return Outcome(False, t("checks.inspect.not_allowed"))
    group = await d.db.fetchone(
        "SELECT id, team_id, name FROM groups WHERE id = ?", (form.group_id,)
    )
    leaders = await people.group_leaders(d.db, form.group_id)
    if group is None:
        await drafts.cancel(d.db, draft_id, d.now())
        return Outcome(False, _refusal(t, Why.NOT_FOUND))
    items = list(form.items)[:MAX_ITEMS]
    if items and not leaders:
        return Outcome(False, _refusal(t, Why.NO_GROUP_LEADER, group=group["name"]))
    now = d.now()
    today = _local(d, now)
    owner = leaders[0] if leaders else None
    try:
        async with d.db.write() as conn:
            inspection_id = await checks.add_inspection(
                conn,
                NewInspection(
                    inspector.id,
                    form.group_id,
                    group["team_id"],
                    form.day,
                    form.place,
                    form.findings,
                ),
                now,
            )
            if not await drafts.close(conn, draft_id, "submitted", now, result_id=inspection_id):
                raise _Again()
            made: list[int] = []
            due = due_at(now, d.settings.checks.correction_days)
            for item in items:
                assert owner is not None
                made.append(
                    await checks.add_correction(
                        conn,
                        NewCorrection(
                            owner.id,
                            inspector.id,
                            group["team_id"],
                            form.group_id,
                            item,
                            due,
                            _local(d, due),
                            today,
                            inspection_id=inspection_id,
                        ),
                        now,
                    )
                )
            if owner is not None:

                def notice(tt: Tr) -> Message:
                    lines = [
                        tt(
                            "checks.notice.inspected",
                            who=inspector.name,
                            group=group["name"],
                            day=day_text(tt, form.day),
                            place=form.place,
                            findings=form.findings,
                        )
                    ]
                    lines += [
                        tt("checks.notice.item", number=number(cid), item=item)
                        for cid, item in zip(made, items, strict=True)
                    ]
                    picks = [_cor(tt, "answer_n", "ans", cid) for cid in made]
                    return Message("\n".join(lines)[:4000], column(picks))

                await _tell(conn, d, owner.id, f"inspection:{inspection_id}:leader", notice, now)
    except _Again:
        return Outcome(False, t("checks.flow.draft_closed"))
    return Outcome(
        True, t("checks.inspect.done", group=group["name"], items=len(items)), inspection_id
    )


def actor(cadre: Cadre) -> Actor:
    return actor_of(cadre)


async def visit_target(d: Deps, visit_id: int, verdict: str) -> Target | None:
    """What a check of one visit marks: the visit, its cadre and its day."""
    visit = await visits.get(d.db, visit_id)
    if visit is None:
        return None
    day = visit.record.day
    return Target(visit.cadre_id, day, day + timedelta(days=1), visit.id, verdict)


async def visit_card(d: Deps, reader: Cadre, visit: Visit, lang: str) -> Message:
    """A visit's card (services/visit_log.card) with its checks and the check buttons."""
    return await with_checks(d, reader, visit, visit_log.card(d, reader, visit, lang), lang)
