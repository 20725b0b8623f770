"""What a change to a problem sends, queued in the change's own transaction.

- Cards: the owner chats of the problem's current level get a card (created once per
  chat, then edited in place on every change). Team level: the team's bound chat, or
  each team leader privately when the team has no reachable chat. Office level: the
  office chat, or each office member privately. Group level: each group leader
  privately. Cards in chats that no longer own the problem are edited too, without
  buttons, so every chat shows the current state.
- Notices: the reporters (and everyone who joined) when the problem moves or ends; the
  group leaders when a group problem is sent up; the owner chat when a problem comes
  back to a chat that already has its card; the office when nobody can be reached at
  the level a problem arrived at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiosqlite

from campaign.i18n import Catalog
from campaign.ladder import MOVES, NEWS_FOR_REPORTERS, is_open
from campaign.problem_cards import Renderer, number
from campaign.settings import Settings
from storage.outbox import enqueue

if TYPE_CHECKING:  # only the types: storage.problem_flow calls publish with them
    from storage.problems import Event, Problem


@dataclass(frozen=True)
class Target:
    chat_id: int
    hint: str = ""  # catalogue key of a line added under the card


def card_name(problem_id: int, chat_id: int) -> str:
    return f"problem:{problem_id}:chat:{chat_id}"


async def _rows(conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


async def _reachable_chat(
    conn: aiosqlite.Connection, where: str, params: tuple[Any, ...]
) -> int | None:
    rows = await _rows(
        conn,
        f"SELECT b.chat_id FROM bound_chats b WHERE {where}"
        " AND b.chat_id NOT IN (SELECT chat_id FROM unreachable_chats)",
        params,
    )
    return int(rows[0]["chat_id"]) if rows else None


async def _private_chats(
    conn: aiosqlite.Connection, where: str, params: tuple[Any, ...]
) -> list[tuple[int, int]]:
    """(cadre id, private chat id) of active, bound cadres matching ``where``."""
    rows = await _rows(
        conn,
        "SELECT c.id, b.telegram_user_id FROM cadres c"
        " JOIN telegram_bindings b ON b.cadre_id = c.id"
        f" WHERE c.active = 1 AND {where} ORDER BY c.id",
        params,
    )
    return [(int(r["id"]), int(r["telegram_user_id"])) for r in rows]


async def owner_targets(conn: aiosqlite.Connection, problem: Problem) -> list[Target]:
    """Where the owners of the problem's current level see its card."""
    if problem.level == "group":
        if problem.group_id is None:
            return []
        leaders = await _private_chats(
            conn, "c.role = 'group_leader' AND c.group_id = ?", (problem.group_id,)
        )
        return [Target(chat) for _, chat in leaders]
    if problem.level == "team":
        chat = await _reachable_chat(conn, "b.kind = 'team' AND b.team_id = ?", (problem.team_id,))
        if chat is not None:
            return [Target(chat)]
        leaders = await _private_chats(
            conn,
            "c.role IN ('team_leader', 'deputy_team_leader') AND c.team_id = ?",
            (problem.team_id,),
        )
        return [Target(chat, "problems.card.no_team_chat") for _, chat in leaders]
    chat = await _reachable_chat(conn, "b.kind = 'office'", ())
    if chat is not None:
        return [Target(chat)]
    members = await _private_chats(conn, "c.role = 'office'", ())
    return [Target(chat, "problems.card.no_office_chat") for _, chat in members]


async def card_chats(conn: aiosqlite.Connection, problem_id: int) -> list[int]:
    """Chats that have (or are about to get) this problem's card."""
    low = f"problem:{problem_id}:chat:"
    high = f"problem:{problem_id}:chat;"  # ';' sorts right after ':'
    rows = await _rows(
        conn,
        "SELECT chat_id FROM outbox WHERE card >= ? AND card < ? AND method = 'sendMessage'"
        " UNION SELECT chat_id FROM cards WHERE card >= ? AND card < ? ORDER BY chat_id",
        (low, high, low, high),
    )
    return [int(r["chat_id"]) for r in rows]


async def chat_language(conn: aiosqlite.Connection, chat_id: int, default: str) -> str:
    """A private chat speaks its person's saved language; group chats the default."""
    if chat_id < 0:
        return default
    rows = await _rows(conn, "SELECT lang FROM user_prefs WHERE telegram_user_id = ?", (chat_id,))
    lang = rows[0]["lang"] if rows else None
    return lang if lang in ("zh-CN", "en") else default


async def publish(
    conn: aiosqlite.Connection,
    settings: Settings,
    catalog: Catalog,
    problem: Problem,
    ev: Event,
    *,
    photos: list[str],
    reporters: list[int],
    now: datetime,
) -> None:
    default = settings.campaign.language
    tz = settings.tz
    view = problem.view(ev)
    urgent = problem.urgent
    pid = problem.id

    async def renderer(chat_id: int) -> Renderer:
        return Renderer(catalog, await chat_language(conn, chat_id, default), tz)

    async def send(kind: str, chat_id: int, text: str) -> None:
        await enqueue(
            conn,
            key=f"problem:{pid}:ev:{ev.id}:{kind}:{chat_id}",
            chat_id=chat_id,
            payload={"text": text},
            now=now,
            urgent=urgent,
        )

    owners = await owner_targets(conn, problem) if is_open(problem.status) else []
    owned = {t.chat_id: t for t in owners}
    existing = await card_chats(conn, pid)
    arrived = ev.action == "raise" or ev.action in MOVES

    for chat_id in existing:
        r = await renderer(chat_id)
        target = owned.get(chat_id)
        hint = r.t(target.hint) if target and target.hint else ""
        await enqueue(
            conn,
            key=f"problem:{pid}:ev:{ev.id}:card:{chat_id}",
            chat_id=chat_id,
            payload=r.card_payload(view, now, actionable=target is not None, hint=hint),
            now=now,
            method="editMessageText",
            card=card_name(pid, chat_id),
            urgent=urgent,
        )
        if target is not None and arrived:
            await send(
                "arrive",
                chat_id,
                r.t("problems.notice.arrived", number=number(pid), level=r.level(problem.level)),
            )

    for target in owners:
        if target.chat_id in existing:
            continue
        r = await renderer(target.chat_id)
        if photos:
            method, payload = r.photos_payload(pid, photos)
            await enqueue(
                conn,
                key=f"problem:{pid}:ev:{ev.id}:photos:{target.chat_id}",
                chat_id=target.chat_id,
                payload=payload,
                now=now,
                method=method,
                urgent=urgent,
            )
        hint = r.t(target.hint) if target.hint else ""
        await enqueue(
            conn,
            key=f"problem:{pid}:ev:{ev.id}:card:{target.chat_id}",
            chat_id=target.chat_id,
            payload=r.card_payload(view, now, actionable=True, hint=hint),
            now=now,
            method="sendMessage",
            card=card_name(pid, target.chat_id),
            urgent=urgent,
        )

    if arrived and is_open(problem.status) and not owners:
        office = await _reachable_chat(conn, "b.kind = 'office'", ())
        if office is not None:
            r = await renderer(office)
            where = problem.group_name if problem.level == "group" else problem.team_name
            await send(
                "nobody",
                office,
                r.t(
                    "problems.notice.nobody",
                    number=number(pid),
                    level=r.level(problem.level),
                    where=where or "-",
                ),
            )

    told: set[int] = set()
    if ev.action in NEWS_FOR_REPORTERS and reporters:
        marks = ", ".join("?" for _ in reporters)
        for cadre_id, chat_id in await _private_chats(conn, f"c.id IN ({marks})", tuple(reporters)):
            if cadre_id == ev.actor_id:
                continue
            r = await renderer(chat_id)
            await send("notice", chat_id, r.notice(view, ev.view()))
            told.add(cadre_id)

    if ev.action in ("escalate", "auto_escalate") and ev.from_level == "group" and problem.group_id:
        leaders = await _private_chats(
            conn, "c.role = 'group_leader' AND c.group_id = ?", (problem.group_id,)
        )
        for cadre_id, chat_id in leaders:
            if cadre_id == ev.actor_id or cadre_id in told:
                continue
            r = await renderer(chat_id)
            await send(
                "sentup",
                chat_id,
                r.t(
                    "problems.notice.group_sent_up",
                    subject=r.subject(view),
                    to=r.level(ev.to_level),
                    how=r.t(f"problems.notice.how_{ev.action}", who=ev.actor_name or ""),
                    note=ev.note,
                ),
            )
