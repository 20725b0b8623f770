"""Closing the loop with the people: record a call-back's answer (回访), reopen an ended
problem (重新办理: a call-back's 不满意, the watch list, conditions changed), answer the
watch list's monthly question, and the lines a problem's history shows for its
call-backs.

Each use case reads, judges once (campaign/problem_callbacks.py), writes in one
transaction with the cards and notices the change causes (services/problem_news.py for
the cards, then the reopening's own notices), and returns an outcome whose ``text`` says
in the asker's language what happened or why nothing did. The scheduler's asks are in
services/problem_callback_jobs.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from campaign.callbacks import WATCH
from campaign.ladder import MAX_NOTE, deadline_for
from campaign.message import Button, Message
from campaign.periods import Period
from campaign.problem_callbacks import (
    REACHES,
    REOPENING_RESULT,
    RESULTS,
    ReopenVerdict,
    Satisfaction,
    judge_reopen,
    may_record,
    may_reopen,
)
from campaign.problem_cards import Renderer, number
from campaign.text import shorten
from reports.problem_callbacks import CallbackFigures, summary_section
from services import problem_news
from services.problem_render import card_view, renderer
from services.problems import actor_of
from services.runtime import Deps
from storage import drafts, problem_flow, problems
from storage import problem_callbacks as store
from storage import problem_news as reach
from storage.db import Connection
from storage.outbox import enqueue
from storage.people import Cadre
from storage.problem_callbacks import Answer, CallbackRow, Reopen
from storage.problem_flow import RowChange
from storage.problem_news import card_name
from storage.problems import Problem

__all__ = [
    "Outcome",
    "bulletin_section",
    "RecordRequest",
    "ReopenRequest",
    "check_record",
    "check_reopen",
    "history_lines",
    "record",
    "reopen",
    "watch_answer",
    "with_reopen_buttons",
]

_ALERT_MAX = 190
_REOPEN_BUTTONS = 10
# The line under a card whose level's shared chat is missing (as services/problem_news).
_FALLBACK_HINT = {"team": "problems.card.no_team_chat", "office": "problems.card.no_office_chat"}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str  # done, or why not: for an alert or a private reply
    problem_id: int | None = None
    reopened: bool = False


def _day(deps: Deps, now: datetime) -> str:
    return now.astimezone(deps.settings.tz).date().isoformat()


def recorded_text(r: Renderer, k: CallbackRow) -> str:
    """What a call-back recorded, in one line."""
    return r.t(
        "callbacks.recorded",
        result=r.t(f"callbacks.result.{k.result}"),
        reach=r.t(f"callbacks.reach.{k.reach}"),
        note=k.note or r.t("callbacks.no_note"),
        who=k.answered_name,
        when=r.when(k.answered_at) if k.answered_at else "",
    )


# --- recording a call-back ---------------------------------------------------------------


async def _judge_record(
    conn: Connection, deps: Deps, cadre: Cadre, callback_id: int, lang: str
) -> tuple[CallbackRow | None, Outcome | None]:
    """The call-back when this cadre may record it now; else the refusal."""
    r = renderer(deps, lang)
    k = await store.get(conn, callback_id)
    if k is None:
        return None, Outcome(False, r.t("callbacks.not_found"))
    reporter = await problems.is_reporter(conn, k.problem_id, cadre.id)
    if not may_record(actor_of(cadre), k.asked_id, reporter, k.group_id):
        return None, Outcome(False, r.t("callbacks.not_yours", number=number(k.problem_id)))
    if k.answered:
        text = r.t("callbacks.already", number=number(k.problem_id), what=recorded_text(r, k))
        return None, Outcome(False, shorten(text, _ALERT_MAX, one_line=False), k.problem_id)
    return k, None


async def check_record(deps: Deps, cadre: Cadre, callback_id: int, lang: str) -> Outcome:
    """Judge a press on a call-back's button before the dialog asks anything."""
    k, refused = await _judge_record(deps.db.conn, deps, cadre, callback_id, lang)
    if refused is not None:
        return refused
    assert k is not None
    return Outcome(True, "", k.problem_id)


@dataclass(frozen=True)
class RecordRequest:
    callback_id: int
    cadre: Cadre
    result: str
    reach: str
    note: str
    lang: str
    chat_id: int | None = None
    draft_id: int | None = None  # the dialog's draft, closed with the answer


async def record(deps: Deps, req: RecordRequest) -> Outcome:
    """Record the answer, judged again inside the transaction; 不满意 reopens the problem
    at the level that closed it."""
    if req.result not in RESULTS or req.reach not in REACHES or len(req.note) > MAX_NOTE:
        raise ValueError("the dialog hands over only valid answers")
    now = deps.now()
    r = renderer(deps, req.lang)
    async with deps.db.write() as conn:
        k, refused = await _judge_record(conn, deps, req.cadre, req.callback_id, req.lang)
        if refused is not None or k is None:
            if req.draft_id is not None:
                await drafts.close(conn, req.draft_id, "cancelled", now)
            assert refused is not None
            return refused
        if req.draft_id is not None and not await drafts.close(
            conn, req.draft_id, "submitted", now, result_id=k.problem_id
        ):
            return Outcome(False, r.t("callbacks.already_done"), k.problem_id)
        problem = await problems.get(conn, k.problem_id)
        assert problem is not None
        wants_reopen = req.result == REOPENING_RESULT
        verdict = judge_reopen(problem.status, problem.watch, from_watch=False)
        reopening = wants_reopen and verdict is ReopenVerdict.OK
        answer = Answer(req.result, req.reach, req.note, req.cadre.id, reopening)
        await store.answer(conn, k.id, answer, now, now.astimezone(deps.settings.tz).date())
        if reopening:
            why = r.t("callbacks.reopen_why_callback", note=req.note or r.t("callbacks.no_note"))
            await _reopen(
                conn,
                deps,
                problem,
                Reopen(
                    problem.id,
                    req.cadre.id,
                    problem.reporter_id,
                    "callback",
                    k.closed_level,
                    why,
                    k.id,
                ),
                req.chat_id,
                now,
            )
    pid = number(k.problem_id)
    if reopening:
        return Outcome(True, r.t("callbacks.done_reopened", number=pid), k.problem_id, True)
    if wants_reopen:
        key = (
            "callbacks.done_not_reopened_open"
            if verdict is ReopenVerdict.OPEN
            else "callbacks.done"
        )
        return Outcome(True, r.t(key, number=pid), k.problem_id)
    return Outcome(True, r.t("callbacks.done", number=pid), k.problem_id)


# --- reopening ----------------------------------------------------------------------------


async def _reopen(
    conn: Connection,
    deps: Deps,
    problem: Problem,
    what: Reopen,
    chat_id: int | None,
    now: datetime,
) -> None:
    """Open the problem again at ``what.level`` with that level's deadline, leave the
    ``reopen`` event, edit its cards, and tell its reporters and its owners."""
    deadline = deadline_for(deps.settings.problems, what.level, problem.urgent, now)
    day = now.astimezone(deps.settings.tz).date()
    if not await store.reopen(conn, what, deadline, now, day):
        raise RuntimeError("judged ended, found open")  # one transaction: cannot happen
    event_id = await problem_flow.add_event(
        conn,
        problem.id,
        "reopen",
        now,
        actor_id=what.actor_id,
        chat_id=chat_id,
        from_level=problem.level,
        to_level=what.level,
        note=what.reason,
    )
    had_card = set(await reach.card_chats(conn, problem.id))
    await problem_news.publish(conn, deps, problem.id, event_id, now)
    after = await problems.get(conn, problem.id)
    assert after is not None
    await _tell_reopened(conn, deps, after, what, event_id, had_card, now)


async def _tell_reopened(
    conn: Connection,
    deps: Deps,
    p: Problem,
    what: Reopen,
    event_id: int,
    had_card: set[int],
    now: datetime,
) -> None:
    default = deps.settings.campaign.language

    async def r_for(chat_id: int) -> Renderer:
        lang = await reach.chat_language(conn, chat_id)
        return renderer(deps, lang if lang in ("zh-CN", "en") else default)

    async def send(kind: str, chat_id: int, text: str) -> None:
        await enqueue(
            conn,
            key=f"problem:{p.id}:ev:{event_id}:{kind}:{chat_id}",
            chat_id=chat_id,
            message=Message(text),
            now=now,
            urgent=p.urgent,
        )

    told: set[int] = set()
    for cadre_id, chat_id in await reach.cadre_chats(conn, await problems.reporter_ids(conn, p.id)):
        if cadre_id == what.actor_id:
            continue
        told.add(chat_id)
        r = await r_for(chat_id)
        await send(
            "reopened",
            chat_id,
            r.t(
                "callbacks.notice.reporter",
                subject=r.subject(card_view(p)),
                why=what.reason,
                level=r.level(p.level),
                deadline=r.when(p.deadline),
            ),
        )
    # A fresh card at the bottom of each owner chat that had one (the old message keeps
    # the ending it showed, without buttons; later changes edit the fresh one), with a
    # line saying why it is back. Owner chats without a card got theirs from publish.
    last = await problems.event(conn, event_id)
    for target in await reach.owner_targets(conn, p):
        told.add(target.chat_id)
        r = await r_for(target.chat_id)
        if target.chat_id in had_card:
            hint = _FALLBACK_HINT.get(p.level, "") if target.private_fallback else ""
            await enqueue(
                conn,
                key=f"problem:{p.id}:ev:{event_id}:freshcard:{target.chat_id}",
                chat_id=target.chat_id,
                message=r.card_message(
                    card_view(p, last), now, actionable=True, hint=r.t(hint) if hint else ""
                ),
                now=now,
                card=card_name(p.id, target.chat_id),
                urgent=p.urgent,
            )
        await send(
            "reopened-owner",
            target.chat_id,
            r.t(
                "callbacks.notice.owner",
                number=number(p.id),
                why=what.reason,
                deadline=r.when(p.deadline),
            ),
        )
    # Reopened above the group: its group leader was told when it went up, and is told
    # again that it is back (not the owner now, so no card).
    if p.level != "group" and p.group_id is not None:
        for cadre_id, chat_id in await reach.group_leader_chats(conn, p.group_id):
            if cadre_id == what.actor_id or chat_id in told:
                continue
            r = await r_for(chat_id)
            await send(
                "reopened-group",
                chat_id,
                r.t(
                    "callbacks.notice.group",
                    subject=r.subject(card_view(p)),
                    why=what.reason,
                    level=r.level(p.level),
                    deadline=r.when(p.deadline),
                ),
            )


@dataclass(frozen=True)
class ReopenRequest:
    problem_id: int
    cadre: Cadre
    cause: str  # "watch" (the monthly question: can now) or "ledger" (重新办理)
    lang: str
    reason: str = ""
    chat_id: int | None = None
    draft_id: int | None = None


async def _judge_reopen(
    conn: Connection, deps: Deps, req: ReopenRequest
) -> tuple[Problem | None, Outcome | None]:
    r = renderer(deps, req.lang)
    problem = await problems.get(conn, req.problem_id)
    if problem is None or not may_reopen(
        actor_of(req.cadre), problem.level, problem.team_id, problem.group_id
    ):
        return None, Outcome(False, r.t("callbacks.reopen_not_found"))
    verdict = judge_reopen(problem.status, problem.watch, from_watch=True)
    if verdict is ReopenVerdict.OK:
        return problem, None
    pid = number(problem.id)
    status = r.t(f"problems.status.{problem.status}")
    key = "callbacks.reopen_open" if verdict is ReopenVerdict.OPEN else "callbacks.reopen_other"
    return None, Outcome(False, r.t(key, number=pid, status=status), problem.id)


async def check_reopen(deps: Deps, req: ReopenRequest) -> Outcome:
    """Judge a reopen press before the dialog asks why."""
    problem, refused = await _judge_reopen(deps.db.conn, deps, req)
    if refused is not None:
        return refused
    assert problem is not None
    return Outcome(True, "", problem.id)


async def reopen(deps: Deps, req: ReopenRequest) -> Outcome:
    """Reopen an explained problem on the watch list, with the reason given."""
    now = deps.now()
    r = renderer(deps, req.lang)
    async with deps.db.write() as conn:
        problem, refused = await _judge_reopen(conn, deps, req)
        if refused is not None or problem is None:
            if req.draft_id is not None:
                await drafts.close(conn, req.draft_id, "cancelled", now)
            assert refused is not None
            return refused
        if req.draft_id is not None and not await drafts.close(
            conn, req.draft_id, "submitted", now, result_id=problem.id
        ):
            return Outcome(False, r.t("callbacks.already_done"), problem.id)
        why = r.t(f"callbacks.reopen_why_{req.cause}", reason=req.reason)
        what = Reopen(problem.id, req.cadre.id, problem.reporter_id, req.cause, problem.level, why)
        if req.cause == "watch":
            await store.answer_watch(conn, problem.id, "can", req.cadre.id, now)
        await _reopen(conn, deps, problem, what, req.chat_id, now)
    return Outcome(True, r.t("callbacks.reopened", number=number(problem.id)), problem.id, True)


# --- the watch list's other answers ---------------------------------------------------------


async def watch_answer(
    deps: Deps, cadre: Cadre, problem_id: int, answer: str, lang: str, chat_id: int | None
) -> Outcome:
    """Still cannot (kept on the watch list) or solved meanwhile (closed as solved, off
    the list; a call-back follows as for any solved problem)."""
    if answer not in ("still", "solved"):
        raise ValueError(answer)
    now = deps.now()
    r = renderer(deps, lang)
    req = ReopenRequest(problem_id, cadre, "watch", lang)
    async with deps.db.write() as conn:
        problem, refused = await _judge_reopen(conn, deps, req)
        if refused is not None or problem is None:
            assert refused is not None
            return refused
        await store.answer_watch(conn, problem.id, answer, cadre.id, now)
        if answer == "solved":
            note = r.t("callbacks.watch.solved_note")
            await problem_flow.change(
                conn,
                problem.id,
                RowChange(status="solved", owner_id=cadre.id, closes=True, resolution=note),
                now,
            )
            event_id = await problem_flow.add_event(
                conn, problem.id, "solve", now, actor_id=cadre.id, chat_id=chat_id, note=note
            )
            await problem_news.publish(conn, deps, problem.id, event_id, now)
    return Outcome(
        True, r.t(f"callbacks.watch.done_{answer}", number=number(problem_id)), problem_id
    )


# --- history ---------------------------------------------------------------------------------


async def history_lines(deps: Deps, problem_id: int, lang: str) -> list[str]:
    """Every call-back of a problem, for its history: asked, and what was recorded."""
    r = renderer(deps, lang)
    out = []
    for k in await store.of_problem(deps.db, problem_id):
        if k.answered:
            out.append(r.t("callbacks.history_answered", what=recorded_text(r, k)))
        else:
            out.append(
                r.t("callbacks.history_waiting", who=k.asked_name or "-", when=r.when(k.asked_at))
            )
    return [r.t("callbacks.history_head"), *out] if out else []


def with_reopen_buttons(r: Renderer, message: Message, watched: list[int]) -> Message:
    """/ledger's watch list: a 重新办理 button under the list for each watched problem."""
    rows = tuple(
        (Button(r.t("callbacks.ledger_reopen", number=number(pid)), WATCH.build("re", pid)),)
        for pid in watched[:_REOPEN_BUTTONS]
    )
    return Message(message.text, message.buttons + rows) if rows else message


async def bulletin_section(deps: Deps, week: Period, lang: str) -> str:
    """The bulletin's call-back lines: the week's answers, 满意率 and reopenings."""
    f = await store.figures_async(deps.db, week.start, week.end)
    figures = CallbackFigures(
        Satisfaction(f.satisfied, f.fair, f.unsatisfied), f.reopened, f.unanswered
    )
    return summary_section(functools.partial(deps.catalog.t, lang), figures)
