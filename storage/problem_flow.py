"""The problem ledger (问题台账), changed: raising, joining as "same problem", owner
actions and the overdue climb. Every change is one transaction that also writes the
problem's event and, through storage/problem_news.py, the cards and notices it causes
into the outgoing queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from campaign.i18n import Catalog
from campaign.ladder import (
    MOVES,
    Action,
    Actor,
    Verdict,
    change_for,
    deadline_for,
    judge,
    next_level,
    start_level,
)
from campaign.settings import Settings
from storage import drafts, problem_news
from storage.db import Database, to_text
from storage.people import Cadre
from storage.problems import (
    Event,
    NewProblem,
    Problem,
    event,
    get,
    group_has_leader,
    last_event,
    photo_ids,
    place_in_scope,
    reporter_ids,
)


async def _publish(
    conn: aiosqlite.Connection,
    settings: Settings,
    catalog: Catalog,
    problem_id: int,
    event_id: int,
    now: datetime,
) -> None:
    """Queue the cards and notices of one change, inside its transaction."""
    problem = await get(conn, problem_id)
    ev = await event(conn, event_id)
    assert problem is not None and ev is not None
    await problem_news.publish(
        conn,
        settings,
        catalog,
        problem,
        ev,
        photos=await photo_ids(conn, problem_id),
        reporters=await reporter_ids(conn, problem_id),
        now=now,
    )


async def _add_event(
    conn: aiosqlite.Connection,
    problem_id: int,
    action: str,
    now: datetime,
    *,
    actor_id: int | None,
    chat_id: int | None,
    from_level: str | None = None,
    to_level: str | None = None,
    note: str = "",
) -> int:
    cur = await conn.execute(
        "INSERT INTO problem_events (problem_id, at, actor_id, chat_id, action, from_level,"
        " to_level, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (problem_id, to_text(now), actor_id, chat_id, action, from_level, to_level, note),
    )
    return int(cur.lastrowid or 0)


async def raise_problem(
    db: Database,
    settings: Settings,
    catalog: Catalog,
    *,
    draft_id: int,
    reporter: Cadre,
    new: NewProblem,
    chat_id: int | None,
    now: datetime,
) -> int | None:
    """Record a new problem from a draft; None if the draft was already submitted or
    cancelled (a second Submit changes nothing)."""
    place = await place_in_scope(db, reporter, new.place_id)
    has_leader = await group_has_leader(db, reporter.group_id)
    level = start_level(new.group_can_solve, reporter.group_id is not None, has_leader)
    deadline = deadline_for(settings.problems, level, new.urgent, now)
    group_id = reporter.group_id or (place.group_id if place else None)
    async with db.write() as conn:
        if not await drafts.close(conn, draft_id, "submitted", now):
            return None
        cur = await conn.execute(
            "INSERT INTO problems (reporter_id, team_id, group_id, place_id, category,"
            " description, urgent, level, status, level_since, deadline, draft_id, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
            (
                reporter.id,
                reporter.team_id,
                group_id,
                new.place_id,
                new.category,
                new.description,
                int(new.urgent),
                level,
                to_text(now),
                to_text(deadline),
                draft_id,
                to_text(now),
                to_text(now),
            ),
        )
        problem_id = int(cur.lastrowid or 0)
        for position, (file_id, unique_id) in enumerate(new.photos):
            await conn.execute(
                "INSERT INTO problem_photos (problem_id, position, file_id, file_unique_id)"
                " VALUES (?, ?, ?, ?)",
                (problem_id, position, file_id, unique_id),
            )
        await conn.execute(
            "INSERT INTO problem_reporters (problem_id, cadre_id, joined_at) VALUES (?, ?, ?)",
            (problem_id, reporter.id, to_text(now)),
        )
        await conn.execute("UPDATE drafts SET result_id = ? WHERE id = ?", (problem_id, draft_id))
        event_id = await _add_event(
            conn, problem_id, "raise", now, actor_id=reporter.id, chat_id=chat_id, to_level=level
        )
        await _publish(conn, settings, catalog, problem_id, event_id, now)
    return problem_id


class JoinOutcome:
    JOINED = "joined"
    ALREADY = "already"  # this cadre is already among its reporters
    CLOSED = "closed"  # the problem ended meanwhile
    SUBMITTED = "submitted"  # the draft was already submitted or cancelled


async def join_problem(
    db: Database,
    settings: Settings,
    catalog: Catalog,
    *,
    draft_id: int,
    cadre: Cadre,
    problem_id: int,
    chat_id: int | None,
    now: datetime,
) -> str:
    """Join an open problem as "same problem" instead of raising a duplicate."""
    async with db.write() as conn:
        async with conn.execute("SELECT status FROM problems WHERE id = ?", (problem_id,)) as cur:
            row = await cur.fetchone()
        if row is None or row["status"] not in ("open", "claimed"):
            return JoinOutcome.CLOSED
        if not await drafts.close(conn, draft_id, "submitted", now, result_id=problem_id):
            return JoinOutcome.SUBMITTED
        cur = await conn.execute(
            "INSERT OR IGNORE INTO problem_reporters (problem_id, cadre_id, joined_at)"
            " VALUES (?, ?, ?)",
            (problem_id, cadre.id, to_text(now)),
        )
        if cur.rowcount != 1:
            return JoinOutcome.ALREADY
        event_id = await _add_event(
            conn, problem_id, "join", now, actor_id=cadre.id, chat_id=chat_id
        )
        await _publish(conn, settings, catalog, problem_id, event_id, now)
    return JoinOutcome.JOINED


@dataclass(frozen=True)
class ActOutcome:
    verdict: Verdict
    problem: Problem | None
    # The new event when done; when refused, the event that explains why (who moved,
    # claimed or closed it), if there is one.
    event: Event | None
    duplicate: bool = False  # the dialog's draft was already closed


_WHY_EVENTS: dict[Verdict, tuple[str, ...]] = {
    Verdict.MOVED: tuple(MOVES),
    Verdict.CLOSED: ("solve", "explain"),
    Verdict.ALREADY_CLAIMED: ("claim",),
}


def actor_of(cadre: Cadre) -> Actor:
    return Actor(cadre.id, cadre.role, cadre.team_id, cadre.group_id, cadre.active)


async def act(
    db: Database,
    settings: Settings,
    catalog: Catalog,
    *,
    problem_id: int,
    actor: Cadre,
    action: Action,
    button_level: str,
    chat_id: int | None,
    now: datetime,
    note: str = "",
    explained_by: str | None = None,
    explained_on: str | None = None,
    department: str | None = None,
    draft_id: int | None = None,
) -> ActOutcome:
    """An owner's action, re-judged inside the transaction against the problem as it is
    now. Refused: nothing changes (the dialog's draft, if any, is cancelled)."""
    async with db.write() as conn:
        problem = await get(conn, problem_id)
        if problem is None:
            return ActOutcome(Verdict.NOT_ALLOWED, None, None)
        verdict = judge(
            actor_of(actor),
            action,
            button_level,
            problem.level,
            problem.status,
            problem.team_id,
            problem.group_id,
        )
        if verdict is not Verdict.OK:
            if draft_id is not None:
                await drafts.close(conn, draft_id, "cancelled", now)
            why = _WHY_EVENTS.get(verdict)
            found = await last_event(conn, problem_id, why) if why else None
            return ActOutcome(verdict, problem, found)
        if draft_id is not None and not await drafts.close(
            conn, draft_id, "submitted", now, result_id=problem_id
        ):
            return ActOutcome(Verdict.OK, problem, None, duplicate=True)
        event_id = await _apply(
            conn,
            settings,
            problem,
            action,
            now,
            actor_id=actor.id,
            chat_id=chat_id,
            note=note,
            explained_by=explained_by,
            explained_on=explained_on,
            department=department,
        )
        await _publish(conn, settings, catalog, problem_id, event_id, now)
        done = await event(conn, event_id)
        return ActOutcome(Verdict.OK, await get(conn, problem_id), done)


async def _apply(
    conn: aiosqlite.Connection,
    settings: Settings,
    problem: Problem,
    action: Action | str,
    now: datetime,
    *,
    actor_id: int | None,
    chat_id: int | None,
    note: str = "",
    explained_by: str | None = None,
    explained_on: str | None = None,
    department: str | None = None,
) -> int:
    """Write one action's change and its event; returns the event id."""
    change = change_for(action, problem.level)
    sets: list[str] = ["updated_at = ?"]
    params: list[Any] = [to_text(now)]
    if change.status is not None:
        sets.append("status = ?")
        params.append(change.status)
    if change.owner_to_actor and actor_id is not None:
        sets.append("owner_id = ?")
        params.append(actor_id)
    if change.clear_owner:
        sets.append("owner_id = NULL")
    to_level = change.level
    if to_level is not None:
        sets += ["level = ?", "level_since = ?", "deadline = ?"]
        params += [
            to_level,
            to_text(now),
            to_text(deadline_for(settings.problems, to_level, problem.urgent, now)),
        ]
    if change.closes:
        sets += ["closed_at = ?", "resolution = ?", "watch = ?"]
        params += [to_text(now), note, int(change.watch)]
    if action == Action.EXPLAIN:
        sets += ["explained_by = ?", "explained_on = ?"]
        params += [explained_by or "", explained_on or ""]
    if action == Action.ASSIGN:
        sets.append("department = ?")
        params.append(department or note)
    await conn.execute(f"UPDATE problems SET {', '.join(sets)} WHERE id = ?", (*params, problem.id))
    return await _add_event(
        conn,
        problem.id,
        str(action),
        now,
        actor_id=actor_id,
        chat_id=chat_id,
        from_level=problem.level if to_level else None,
        to_level=to_level,
        note=department or note if action == Action.ASSIGN else note,
    )


async def escalate_overdue(
    db: Database, settings: Settings, catalog: Catalog, now: datetime
) -> list[int]:
    """Move every overdue open problem up one level (group → team → office), each in its
    own transaction with an ``auto_escalate`` event, its cards and notices. Overdue
    problems at the office stay where they are (nothing is above; the scheduler warns).
    Idempotent: a problem that reached its level at ``now`` is not moved again, so a
    second run at the same moment escalates nothing."""
    moved: list[int] = []
    rows = await db.fetchall(
        "SELECT id FROM problems WHERE status IN ('open', 'claimed') AND level != 'office'"
        " AND deadline <= ? AND level_since < ? ORDER BY deadline, id",
        (to_text(now), to_text(now)),
    )
    for row in rows:
        async with db.write() as conn:
            problem = await get(conn, row["id"])
            if (
                problem is None
                or problem.status not in ("open", "claimed")
                or problem.deadline > now
                or problem.level_since >= now
                or next_level(problem.level) is None
            ):
                continue
            event_id = await _apply(
                conn, settings, problem, "auto_escalate", now, actor_id=None, chat_id=None
            )
            await _publish(conn, settings, catalog, problem.id, event_id, now)
        moved.append(problem.id)
    return moved
