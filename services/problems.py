"""The problem ledger's use cases: raise a problem, join one as "same problem", act on a
card (claim, note, solve, explain, send up, hand back down, hand to a department), and
move overdue problems up a level (the scheduler's job).

Each one reads, judges once with campaign/ladder.py, writes through storage/, queues the
cards and notices the change causes (services/problem_news.py) in the same transaction,
and returns an outcome whose ``text`` says, in the asker's language, what happened or
why nothing did. A press is judged by ``_verdict`` alone: before a dialog opens
(``check``) and again, against the problem as it is then, when the action is applied
(``act``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from campaign.ladder import (
    MOVES,
    Action,
    Actor,
    Verdict,
    change_for,
    deadline_for,
    in_scope,
    judge,
    next_level,
    start_level,
)
from campaign.message import Message
from campaign.problem_cards import number
from campaign.text import shorten
from campaign.vocabulary import LEVELS
from services import problem_news
from services.problem_render import card_view, event_view, renderer
from services.runtime import Deps
from storage import drafts, media, problem_flow, problems
from storage.db import Connection, Database
from storage.outbox import enqueue
from storage.people import Cadre
from storage.problem_flow import RowChange
from storage.problems import Event, NewProblem, Problem

__all__ = [
    "ActOutcome",
    "ActRequest",
    "Cadre",
    "Event",
    "JoinOutcome",
    "Joined",
    "NewProblem",
    "Problem",
    "RaiseOutcome",
    "act",
    "actor_of",
    "check",
    "escalate_overdue",
    "join_problem",
    "queue_lost_reply",
    "raise_problem",
]

_ALERT_MAX = 190  # Telegram shows at most 200 characters in an alert


def actor_of(cadre: Cadre) -> Actor:
    return Actor(cadre.id, cadre.role, cadre.team_id, cadre.group_id, cadre.active)


# --- raise and join ---------------------------------------------------------------------


@dataclass(frozen=True)
class RaiseOutcome:
    problem_id: int | None  # None: the draft was already submitted or cancelled
    text: str  # the receipt, or what became of the draft


async def raise_problem(
    deps: Deps,
    *,
    draft_id: int,
    reporter: Cadre,
    new: NewProblem,
    chat_id: int | None,
    lang: str,
) -> RaiseOutcome:
    """Record a new problem from a draft at the level the ladder gives it; a second
    Submit of the same draft changes nothing and says which problem it made."""
    db, now = deps.db, deps.now()
    r = renderer(deps, lang)
    place = await problems.place_in_scope(db, reporter, new.place_id)
    has_leader = await problems.group_has_leader(db, reporter.group_id)
    level = start_level(new.group_can_solve, reporter.group_id is not None, has_leader)
    deadline = deadline_for(deps.settings.problems, level, new.urgent, now)
    async with db.write() as conn:
        if not await drafts.close(conn, draft_id, "submitted", now):
            problem_id = None
        else:
            problem_id = await problem_flow.insert_problem(
                conn,
                reporter_id=reporter.id,
                team_id=reporter.team_id,
                group_id=reporter.group_id or (place.group_id if place else None),
                new=new,
                level=level,
                deadline=deadline,
                draft_id=draft_id,
                now=now,
            )
            if deps.settings.media.download:  # fetched later by the media worker
                await media.record(conn, media.of_problem(problem_id, new.photos), now)
            event_id = await problem_flow.add_event(
                conn,
                problem_id,
                "raise",
                now,
                actor_id=reporter.id,
                chat_id=chat_id,
                to_level=level,
            )
            await problem_news.publish(conn, deps, problem_id, event_id, now)
    if problem_id is None:
        closed = await drafts.get(db, draft_id)
        done = closed.result_id if closed and closed.result_id else None
        return RaiseOutcome(
            None, r.t("problems.raise.already_submitted", id=number(done) if done else "-")
        )
    receipt = r.t(
        "problems.raise.receipt",
        number=number(problem_id),
        level=r.level(level),
        deadline=r.when(deadline),
    )
    return RaiseOutcome(problem_id, receipt)


class Joined(StrEnum):
    JOINED = "joined"
    ALREADY = "already"  # this cadre is already among its reporters
    CLOSED = "closed"  # the problem ended meanwhile
    SUBMITTED = "submitted"  # the draft was already submitted or cancelled


_JOIN_TEXT = {
    Joined.JOINED: "problems.raise.joined",
    Joined.ALREADY: "problems.raise.joined_already",
    Joined.SUBMITTED: "problems.raise.already_submitted",
    Joined.CLOSED: "problems.raise.join_gone",
}


@dataclass(frozen=True)
class JoinOutcome:
    result: Joined
    text: str


async def join_problem(
    deps: Deps, *, draft_id: int, cadre: Cadre, problem_id: int, chat_id: int | None, lang: str
) -> JoinOutcome:
    """Join an open problem as "same problem" instead of raising a duplicate."""
    now = deps.now()
    result = Joined.JOINED
    async with deps.db.write() as conn:
        status = await problem_flow.status_of(conn, problem_id)
        if status not in ("open", "claimed"):
            result = Joined.CLOSED
        elif not await drafts.close(conn, draft_id, "submitted", now, result_id=problem_id):
            result = Joined.SUBMITTED
        elif not await problem_flow.add_reporter(conn, problem_id, cadre.id, now):
            result = Joined.ALREADY
        else:
            event_id = await problem_flow.add_event(
                conn, problem_id, "join", now, actor_id=cadre.id, chat_id=chat_id
            )
            await problem_news.publish(conn, deps, problem_id, event_id, now)
    text = renderer(deps, lang).t(_JOIN_TEXT[result], number=number(problem_id))
    return JoinOutcome(result, text)


async def queue_lost_reply(deps: Deps, *, key: str, chat_id: int, text: str) -> None:
    """A reply the chat edge could not deliver (the press was already answered, so no
    alert can carry it): the outgoing queue sends it, retrying as it retries everything."""
    async with deps.db.write() as conn:
        await enqueue(
            conn, key=f"lost:{key}", chat_id=chat_id, message=Message(text), now=deps.now()
        )


# --- acting on a card -------------------------------------------------------------------


@dataclass(frozen=True)
class ActRequest:
    """A press on a card button (and, for actions that need words, what was typed)."""

    problem_id: int
    actor: Cadre
    action: Action
    button_level: str  # the level the card was made for
    chat_id: int | None  # where the button was pressed
    lang: str  # the presser's language, for the outcome's text
    note: str = ""  # the note, what was done, why not, the reason, the department
    explained_by: str | None = None
    explained_on: str | None = None  # ISO date
    draft_id: int | None = None  # the dialog that asked for the words, closed with the act


@dataclass(frozen=True)
class ActOutcome:
    verdict: Verdict
    text: str  # done, or why refused: for an alert or a private reply
    problem: Problem | None = None
    event: Event | None = None  # the new event; when refused, the one that explains why
    duplicate: bool = False  # the dialog's draft was already closed: nothing done twice

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK


# Which events explain a refusal: who moved, closed or claimed the problem.
_WHY_EVENTS: dict[Verdict, tuple[str, ...]] = {
    Verdict.MOVED: tuple(sorted(MOVES)),
    Verdict.CLOSED: ("solve", "explain"),
    Verdict.ALREADY_CLAIMED: ("claim",),
}
_WHY_KEYS = {
    Verdict.MOVED: "problems.act.moved",
    Verdict.CLOSED: "problems.act.closed",
    Verdict.ALREADY_CLAIMED: "problems.act.already_claimed",
}


async def _verdict(
    conn: Connection | Database, req: ActRequest
) -> tuple[Verdict, Problem | None, str | None]:
    """The one judgement of a press: the verdict, the problem, and the refusal text's
    catalogue key when the presser may not even learn the problem exists."""
    problem = await problems.get(conn, req.problem_id)
    actor = actor_of(req.actor)
    if problem is None:
        return Verdict.NOT_ALLOWED, None, "problems.act.not_found"
    verdict = judge(
        actor,
        req.action,
        req.button_level,
        problem.level,
        problem.status,
        problem.team_id,
        problem.group_id,
    )
    if verdict is Verdict.NOT_ALLOWED:
        reporter = await problems.is_reporter(conn, problem.id, req.actor.id)
        if not in_scope(actor, problem.team_id, problem.group_id, reporter):
            return verdict, problem, "problems.act.not_found"
    return verdict, problem, None


async def _refusal(
    conn: Connection | Database,
    deps: Deps,
    req: ActRequest,
    verdict: Verdict,
    problem: Problem | None,
    key: str | None,
) -> ActOutcome:
    r = renderer(deps, req.lang)
    if problem is None or key is not None:
        # The same words for a problem that does not exist and one outside the
        # presser's scope: neither its existence nor its team is given away.
        return ActOutcome(verdict, r.t(key or "problems.act.not_found"))
    if verdict is Verdict.NOT_ALLOWED:
        level = req.button_level if req.button_level in LEVELS else problem.level
        where = problem.group_name if level == "group" else problem.team_name
        return ActOutcome(
            verdict, r.t(f"problems.act.not_allowed_{level}", where=where or "-"), problem
        )
    why = _WHY_EVENTS.get(verdict)
    found = await problems.last_event(conn, problem.id, why) if why else None
    what = r.event(event_view(found)) if found else r.status(card_view(problem))
    text = r.t(
        _WHY_KEYS.get(verdict, "problems.act.not_now"),
        number=number(problem.id),
        event=what,
        level=r.level(problem.level),
    )
    return ActOutcome(verdict, shorten(text, _ALERT_MAX, one_line=False), problem, found)


async def check(deps: Deps, req: ActRequest) -> ActOutcome:
    """Judge a press without acting: before a dialog asks for words, so that a refused
    press opens nothing. OK here means only "ask"; ``act`` judges again."""
    verdict, problem, key = await _verdict(deps.db, req)
    if verdict is not Verdict.OK:
        return await _refusal(deps.db, deps, req, verdict, problem, key)
    return ActOutcome(verdict, "", problem)


async def act(deps: Deps, req: ActRequest) -> ActOutcome:
    """An owner's action, judged inside the transaction against the problem as it is
    now. Refused: nothing changes (the dialog's draft, if any, is cancelled)."""
    now = deps.now()
    r = renderer(deps, req.lang)
    async with deps.db.write() as conn:
        verdict, problem, key = await _verdict(conn, req)
        if verdict is not Verdict.OK or problem is None:
            if req.draft_id is not None:
                await drafts.close(conn, req.draft_id, "cancelled", now)
            return await _refusal(conn, deps, req, verdict, problem, key)
        if req.draft_id is not None and not await drafts.close(
            conn, req.draft_id, "submitted", now, result_id=problem.id
        ):
            return ActOutcome(verdict, r.t("problems.act.already_done"), problem, duplicate=True)
        event_id = await _apply(conn, deps, problem, req.action, now, req)
        await problem_news.publish(conn, deps, problem.id, event_id, now)
        done = await problems.event(conn, event_id)
        after = await problems.get(conn, problem.id)
    assert done is not None and after is not None
    text = r.t(
        f"problems.act.done_{done.action}",
        number=number(after.id),
        level=r.level(after.level),
        department=after.department or "",
    )
    return ActOutcome(verdict, shorten(text, _ALERT_MAX, one_line=False), after, done)


async def _apply(
    conn: Connection,
    deps: Deps,
    problem: Problem,
    action: Action | str,
    now: datetime,
    req: ActRequest | None = None,
) -> int:
    """Write one action's change (the ladder's ``change_for``) and its event."""
    change = change_for(action, problem.level)
    actor_id = req.actor.id if req else None
    note = req.note if req else ""
    level = change.level
    await problem_flow.change(
        conn,
        problem.id,
        RowChange(
            status=change.status,
            owner_id=actor_id if change.owner_to_actor else None,
            clear_owner=change.clear_owner,
            level=level,
            deadline=deadline_for(deps.settings.problems, level, problem.urgent, now)
            if level
            else None,
            closes=change.closes,
            resolution=note,
            watch=change.watch,
            explained_by=(req.explained_by or "") if req and action == Action.EXPLAIN else None,
            explained_on=(req.explained_on or "") if req and action == Action.EXPLAIN else None,
            department=note if action == Action.ASSIGN else None,
        ),
        now,
    )
    return await problem_flow.add_event(
        conn,
        problem.id,
        str(action),
        now,
        actor_id=actor_id,
        chat_id=req.chat_id if req else None,
        from_level=problem.level if level else None,
        to_level=level,
        note=note,
    )


# --- the overdue climb ------------------------------------------------------------------


async def escalate_overdue(deps: Deps, now: datetime) -> list[int]:
    """Move every overdue open problem up one level (group → team → office), each in its
    own transaction with an ``auto_escalate`` event, its cards and notices. Overdue
    problems at the office stay where they are (nothing is above; the scheduler warns).
    Idempotent: a problem that reached its level at ``now`` is not moved again.

    The transactions are made durable together, by one fsync at the end: a power cut
    before it loses whole moves (each with its notices), which the next sweep makes
    again."""
    moved: list[int] = []
    try:
        for problem_id in await problem_flow.overdue_below_top(deps.db, LEVELS[-1], now):
            async with deps.db.write(durable=False) as conn:
                problem = await problems.get(conn, problem_id)
                if problem is None or not _still_overdue(problem, now):
                    continue
                event_id = await _apply(conn, deps, problem, "auto_escalate", now)
                await problem_news.publish(conn, deps, problem.id, event_id, now)
            moved.append(problem.id)
    finally:
        if moved:
            await deps.db.sync()
    return moved


def _still_overdue(problem: Problem, now: datetime) -> bool:
    return (
        problem.status in ("open", "claimed")
        and problem.deadline <= now
        and problem.level_since < now
        and next_level(problem.level) is not None
    )
