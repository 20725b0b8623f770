"""Who can be reached about a problem, read for services/problem_news.py: the chats that
own its current level, the chats that already show its card, the private chats of
leaders and reporters, and the language each chat speaks. SQL only; what is said and to
whom is decided in services/problem_news.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.problems import Problem


@dataclass(frozen=True)
class Target:
    chat_id: int
    # True when the level's shared chat is missing or refused us and its people are told
    # one by one instead (the card then says so).
    private_fallback: bool = False


def card_name(problem_id: int, chat_id: int) -> str:
    return f"problem:{problem_id}:chat:{chat_id}"


async def _rows(conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """One trip to the writing thread (a cursor as a context manager costs three)."""
    return list(await conn.execute_fetchall(sql, params))


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


async def office_chat(conn: aiosqlite.Connection) -> int | None:
    """The office's bound chat, unless it refused us."""
    return await _reachable_chat(conn, "b.kind = 'office'", ())


async def group_leader_chats(conn: aiosqlite.Connection, group_id: int) -> list[tuple[int, int]]:
    return await _private_chats(conn, "c.role = 'group_leader' AND c.group_id = ?", (group_id,))


async def cadre_chats(
    conn: aiosqlite.Connection, cadre_ids: Sequence[int]
) -> list[tuple[int, int]]:
    """(cadre id, private chat id) of the given cadres who are active and bound."""
    if not cadre_ids:
        return []
    marks = ", ".join("?" for _ in cadre_ids)
    return await _private_chats(conn, f"c.id IN ({marks})", tuple(cadre_ids))


async def owner_targets(conn: aiosqlite.Connection, problem: Problem) -> list[Target]:
    """Where the owners of the problem's current level see its card: the group's leaders
    privately; the team's bound chat, else each team leader privately; the office chat,
    else each office member privately."""
    if problem.level == "group":
        if problem.group_id is None:
            return []
        return [Target(chat) for _, chat in await group_leader_chats(conn, problem.group_id)]
    if problem.level == "team":
        chat = await _reachable_chat(conn, "b.kind = 'team' AND b.team_id = ?", (problem.team_id,))
        if chat is not None:
            return [Target(chat)]
        leaders = await _private_chats(
            conn,
            "c.role IN ('team_leader', 'deputy_team_leader') AND c.team_id = ?",
            (problem.team_id,),
        )
        return [Target(chat, private_fallback=True) for _, chat in leaders]
    chat = await office_chat(conn)
    if chat is not None:
        return [Target(chat)]
    members = await _private_chats(conn, "c.role = 'office'", ())
    return [Target(chat, private_fallback=True) for _, chat in members]


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


async def chat_languages(conn: aiosqlite.Connection, chat_ids: Iterable[int]) -> dict[int, str]:
    """``chat_language`` of many chats in one query: only those with a saved language."""
    private = sorted({c for c in chat_ids if c >= 0})
    if not private:
        return {}
    marks = ", ".join("?" * len(private))
    rows = await _rows(
        conn,
        f"SELECT telegram_user_id, lang FROM user_prefs WHERE telegram_user_id IN ({marks})",
        tuple(private),
    )
    return {int(r[0]): str(r[1]) for r in rows if r[1]}


async def chat_language(conn: aiosqlite.Connection, chat_id: int) -> str | None:
    """The saved language of a private chat's person; None for group chats and people who
    never chose (the caller falls back to the campaign's default)."""
    if chat_id < 0:
        return None
    rows = await _rows(conn, "SELECT lang FROM user_prefs WHERE telegram_user_id = ?", (chat_id,))
    return str(rows[0]["lang"]) if rows and rows[0]["lang"] else None
