"""Who is who: cadres, their Telegram bindings, language choices, bound chats, invites."""

from __future__ import annotations

import json
import secrets
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from campaign.roles import Role
from storage.db import Database, Row, to_text, utcnow_text


@dataclass(frozen=True)
class Cadre:
    id: int
    name: str
    phone: str
    role: Role
    team_id: int | None
    group_id: int | None
    unit: str
    active: bool
    team_name: str = ""
    group_name: str = ""
    telegram_user_id: int | None = None


@dataclass(frozen=True)
class BoundChat:
    chat_id: int
    kind: str
    team_id: int | None
    title: str
    team_name: str = ""


_CADRE_SELECT = """
SELECT c.id, c.name, c.phone, c.role, c.team_id, c.group_id, c.unit, c.active,
       COALESCE(t.name, '') AS team_name, COALESCE(g.name, '') AS group_name,
       b.telegram_user_id
FROM cadres c
LEFT JOIN teams t ON t.id = c.team_id
LEFT JOIN groups g ON g.id = c.group_id
LEFT JOIN telegram_bindings b ON b.cadre_id = c.id
"""


def _cadre(row: Row) -> Cadre:
    return Cadre(
        id=row["id"],
        name=row["name"],
        phone=row["phone"],
        role=Role(row["role"]),
        team_id=row["team_id"],
        group_id=row["group_id"],
        unit=row["unit"],
        active=bool(row["active"]),
        team_name=row["team_name"],
        group_name=row["group_name"],
        telegram_user_id=row["telegram_user_id"],
    )


async def cadre_by_telegram(db: Database, telegram_user_id: int) -> Cadre | None:
    """The active cadre bound to this account (their first, or their second on the other
    channel), if any."""
    row = await db.fetchone(
        _CADRE_SELECT + " WHERE c.active = 1 AND c.id IN"
        " (SELECT cadre_id FROM telegram_bindings WHERE telegram_user_id = ?"
        " UNION ALL SELECT cadre_id FROM second_accounts WHERE telegram_user_id = ?)",
        (telegram_user_id, telegram_user_id),
    )
    return _cadre(row) if row else None


async def account_of(db: Database, cadre_id: int) -> int | None:
    """The cadre's first account: where what the bot sends on its own goes."""
    row = await db.fetchone(
        "SELECT telegram_user_id FROM telegram_bindings WHERE cadre_id = ?", (cadre_id,)
    )
    return int(row[0]) if row else None


class _SenderCache:
    """Who each Telegram user is, as read at one people generation (migration 0023)."""

    def __init__(self) -> None:
        self.generation = -1
        self.senders: dict[int, tuple[str | None, Cadre | None]] = {}


# One cache per open database (per process: never shared between processes).
_SENDERS: weakref.WeakKeyDictionary[Database, _SenderCache] = weakref.WeakKeyDictionary()
SENDER_CACHE_MAX = 20_000  # users remembered; more and the cache starts over


async def sender(
    db: Database, telegram_user_id: int, check: bool = True
) -> tuple[str | None, Cadre | None]:
    """The saved language and the bound active cadre of a Telegram user (it runs for
    every update).

    Served from memory while the people generation is unchanged: one primary-key read
    instead of the five-table join. Any change to the roster, a binding, a saved
    language or a team or group name, by this process or another one sharing the
    database, bumps the generation in its own transaction (triggers of migration
    0023), so the next update reads afresh: a cached answer is never older than the
    last committed change.

    ``check=False`` (the step engine): a remembered answer is served without reading
    the generation; the caller must take ``sender_generation`` just before, compare it
    with the generation it reads in its own statement (storage/drafts.current reads it
    with the draft's version) and ask again with ``check=True`` if they differ."""
    cache = _SENDERS.get(db)
    if cache is None:
        cache = _SENDERS[db] = _SenderCache()
    if not check and cache.generation >= 0:
        known = cache.senders.get(telegram_user_id)
        if known is not None:
            return known
    gen = await db.fetchone("SELECT generation FROM cache_generations WHERE name = 'people'")
    generation = int(gen[0]) if gen is not None else -2
    if generation != cache.generation or len(cache.senders) >= SENDER_CACHE_MAX:
        cache.senders.clear()
        cache.generation = generation
    else:
        known = cache.senders.get(telegram_user_id)
        if known is not None:
            return known
    found = await _read_sender(db, telegram_user_id)
    if generation >= 0:
        cache.senders[telegram_user_id] = found
    return found


def sender_generation(db: Database) -> int:
    """The people generation the remembered senders were read at (-1: none). Read it
    just before ``sender(..., check=False)``: a remembered answer is served without
    waiting for anything, so it is one of that generation; the caller then compares
    it with the generation it reads in its own statement."""
    cache = _SENDERS.get(db)
    return cache.generation if cache is not None else -1


def forget_senders(db: Database) -> None:
    """Drop every remembered sender (the next ``sender`` reads afresh)."""
    cache = _SENDERS.get(db)
    if cache is not None:
        cache.senders.clear()
        cache.generation = -1


async def _read_sender(db: Database, telegram_user_id: int) -> tuple[str | None, Cadre | None]:
    row = await db.fetchone(
        "SELECT p.lang AS saved_lang, c.id, c.name, c.phone, c.role, c.team_id, c.group_id,"
        " c.unit, c.active, COALESCE(t.name, '') AS team_name,"
        " COALESCE(g.name, '') AS group_name, pb.telegram_user_id"
        " FROM (SELECT CAST(? AS BIGINT) AS uid) AS me"
        " LEFT JOIN user_prefs p ON p.telegram_user_id = me.uid"
        " LEFT JOIN telegram_bindings b ON b.telegram_user_id = me.uid"
        " LEFT JOIN second_accounts s ON s.telegram_user_id = me.uid"
        " LEFT JOIN cadres c ON c.id = COALESCE(b.cadre_id, s.cadre_id) AND c.active = 1"
        " LEFT JOIN telegram_bindings pb ON pb.cadre_id = c.id"
        " LEFT JOIN teams t ON t.id = c.team_id"
        " LEFT JOIN groups g ON g.id = c.group_id",
        (telegram_user_id,),
    )
    if row is None:
        return None, None
    return row["saved_lang"], (_cadre(row) if row["id"] is not None else None)


async def cadre_by_id(db: Database, cadre_id: int) -> Cadre | None:
    row = await db.fetchone(_CADRE_SELECT + " WHERE c.id = ?", (cadre_id,))
    return _cadre(row) if row else None


async def cadre_by_phone(db: Database, phone: str) -> Cadre | None:
    row = await db.fetchone(_CADRE_SELECT + " WHERE c.phone = ?", (phone,))
    return _cadre(row) if row else None


async def cadres_where(
    db: Database, where: str = "1=1", params: tuple[Any, ...] = ()
) -> list[Cadre]:
    rows = await db.fetchall(_CADRE_SELECT + f" WHERE {where} ORDER BY c.id", params)
    return [_cadre(r) for r in rows]


async def group_leaders(db: Database, group_id: int) -> list[Cadre]:
    return await cadres_where(
        db, "c.group_id = ? AND c.role = 'group_leader' AND c.active = 1", (group_id,)
    )


async def team_leaders(db: Database, team_id: int) -> list[Cadre]:
    return await cadres_where(
        db,
        "c.team_id = ? AND c.role IN ('team_leader', 'deputy_team_leader') AND c.active = 1",
        (team_id,),
    )


async def audit(
    conn: aiosqlite.Connection,
    action: str,
    *,
    actor: Cadre | None = None,
    telegram_user_id: int | None = None,
    chat_id: int | None = None,
    subject: str = "",
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> None:
    """Record who did what, inside the caller's transaction."""
    await conn.execute(
        "INSERT INTO audit_log (at, actor_cadre_id, actor_telegram_id, chat_id, action, subject,"
        " before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            to_text(at) if at else utcnow_text(),
            actor.id if actor else None,
            telegram_user_id
            if telegram_user_id is not None
            else (actor.telegram_user_id if actor else None),
            chat_id,
            action,
            subject,
            None if before is None else json.dumps(before, ensure_ascii=False, default=str),
            None if after is None else json.dumps(after, ensure_ascii=False, default=str),
        ),
    )


# --- binding a Telegram account ------------------------------------------------------


class BindOutcome:
    BOUND = "bound"
    ALREADY = "already"  # this account is already bound to this cadre
    CADRE_TAKEN = "cadre_taken"  # the cadre is bound to another account
    ACCOUNT_TAKEN = "account_taken"  # this account is bound to another cadre
    INACTIVE = "inactive"


async def bind(
    db: Database,
    cadre_id: int,
    telegram_user_id: int,
    via: str,
    now: datetime,
    lang: str | None = None,
) -> str:
    """Bind a Telegram account to a cadre. ``lang``, the language the person's app
    speaks, is kept unless they chose one: messages sent to them later, with no update
    to read it from, are in it too."""
    async with db.write() as conn:
        outcome = await _bind(conn, cadre_id, telegram_user_id, via, now)
        if outcome == BindOutcome.BOUND and lang:
            await _keep_language(conn, telegram_user_id, lang)
        return outcome


async def bind_second(
    db: Database,
    cadre_id: int,
    telegram_user_id: int,
    via: str,
    now: datetime,
    lang: str | None = None,
) -> str:
    """Bind an account on the other channel as the cadre's second: it acts as them;
    what the bot sends on its own still goes to their first account."""
    async with db.write() as conn:
        outcome = await _bind(conn, cadre_id, telegram_user_id, via, now, "second_accounts")
        if outcome == BindOutcome.BOUND and lang:
            await _keep_language(conn, telegram_user_id, lang)
        return outcome


async def _keep_language(conn: aiosqlite.Connection, telegram_user_id: int, lang: str) -> None:
    await conn.execute(
        "INSERT INTO user_prefs (telegram_user_id, lang) VALUES (?, ?)"
        " ON CONFLICT (telegram_user_id) DO UPDATE SET lang = excluded.lang"
        " WHERE user_prefs.lang IS NULL",
        (telegram_user_id, lang),
    )


async def _bind(
    conn: aiosqlite.Connection,
    cadre_id: int,
    telegram_user_id: int,
    via: str,
    now: datetime,
    table: str = "telegram_bindings",
) -> str:
    """Bind the account as the cadre's first (``telegram_bindings``) or, when their
    first is on the other channel, as their second (``second_accounts``)."""
    async with conn.execute("SELECT active FROM cadres WHERE id = ?", (cadre_id,)) as cur:
        row = await cur.fetchone()
    if row is None or not row["active"]:
        return BindOutcome.INACTIVE
    async with conn.execute(
        "SELECT cadre_id, telegram_user_id FROM telegram_bindings"
        " WHERE cadre_id = ? OR telegram_user_id = ?",
        (cadre_id, telegram_user_id),
    ) as cur:
        existing = list(await cur.fetchall())
    async with conn.execute(
        "SELECT cadre_id, telegram_user_id FROM second_accounts"
        " WHERE cadre_id = ? OR telegram_user_id = ?",
        (cadre_id, telegram_user_id),
    ) as cur:
        second = list(await cur.fetchall())
    rows = [*existing, *second]
    if any(r["cadre_id"] == cadre_id and r["telegram_user_id"] == telegram_user_id for r in rows):
        return BindOutcome.ALREADY
    if any(r["telegram_user_id"] == telegram_user_id for r in rows):
        return BindOutcome.ACCOUNT_TAKEN
    has_first = any(r["cadre_id"] == cadre_id for r in existing)
    if table == "second_accounts" and not has_first:
        table = "telegram_bindings"  # the first was removed meanwhile: this one is it
    if has_first and (table == "telegram_bindings" or second):
        return BindOutcome.CADRE_TAKEN
    await conn.execute(
        f"INSERT INTO {table} (cadre_id, telegram_user_id, via, bound_at) VALUES (?, ?, ?, ?)",
        (cadre_id, telegram_user_id, via, to_text(now)),
    )
    await audit(
        conn,
        "bind" if table == "telegram_bindings" else "bind_second",
        telegram_user_id=telegram_user_id,
        subject=f"cadre:{cadre_id}",
        after={"via": via},
        at=now,
    )
    return BindOutcome.BOUND


async def unbind(db: Database, cadre_id: int, now: datetime) -> int | None:
    """Remove a cadre's binding; returns the Telegram id that was bound, if any."""
    async with db.write() as conn:
        async with conn.execute(
            "SELECT telegram_user_id FROM telegram_bindings WHERE cadre_id = ?", (cadre_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        # the second account goes too: it acted as the cadre through the first binding
        await conn.execute("DELETE FROM second_accounts WHERE cadre_id = ?", (cadre_id,))
        await conn.execute("DELETE FROM telegram_bindings WHERE cadre_id = ?", (cadre_id,))
        await audit(
            conn,
            "unbind",
            subject=f"cadre:{cadre_id}",
            before={"telegram_user_id": row["telegram_user_id"]},
            at=now,
        )
        return int(row["telegram_user_id"])


# --- invites ------------------------------------------------------------------------


async def create_invite(db: Database, cadre_id: int, now: datetime, ttl: timedelta) -> str:
    code = secrets.token_urlsafe(12)
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO invites (code, cadre_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (code, cadre_id, to_text(now), to_text(now + ttl)),
        )
        await audit(conn, "invite", subject=f"cadre:{cadre_id}", at=now)
    return code


class InviteOutcome:
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


async def redeem_invite(
    db: Database, code: str, telegram_user_id: int, now: datetime, lang: str | None = None
) -> str:
    """Bind by invite code; returns an InviteOutcome or a BindOutcome."""
    async with db.write() as conn:
        async with conn.execute(
            "SELECT cadre_id, expires_at, used_at, used_by FROM invites WHERE code = ?", (code,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return InviteOutcome.UNKNOWN
        if row["used_at"] is not None:
            if row["used_by"] == telegram_user_id:
                return BindOutcome.ALREADY
            return InviteOutcome.USED
        if row["expires_at"] <= to_text(now):
            return InviteOutcome.EXPIRED
        outcome = await _bind(conn, row["cadre_id"], telegram_user_id, "invite", now)
        if outcome == BindOutcome.BOUND:
            if lang:
                await _keep_language(conn, telegram_user_id, lang)
            await conn.execute(
                "UPDATE invites SET used_at = ?, used_by = ? WHERE code = ?",
                (to_text(now), telegram_user_id, code),
            )
        return outcome


# --- language -------------------------------------------------------------------------


async def saved_language(db: Database, telegram_user_id: int) -> str | None:
    row = await db.fetchone(
        "SELECT lang FROM user_prefs WHERE telegram_user_id = ?", (telegram_user_id,)
    )
    return row["lang"] if row else None


async def save_language(db: Database, telegram_user_id: int, lang: str) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO user_prefs (telegram_user_id, lang) VALUES (?, ?)"
            " ON CONFLICT (telegram_user_id) DO UPDATE SET lang = excluded.lang",
            (telegram_user_id, lang),
        )


# --- bound chats ----------------------------------------------------------------------


async def chat_binding(conn: aiosqlite.Connection, chat_id: int) -> BoundChat | None:
    """What this chat is bound to, with the team's name, read in the caller's transaction."""
    async with conn.execute(
        "SELECT b.chat_id, b.kind, b.team_id, b.title, COALESCE(t.name, '') AS team_name"
        " FROM bound_chats b LEFT JOIN teams t ON t.id = b.team_id WHERE b.chat_id = ?",
        (chat_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return BoundChat(row["chat_id"], row["kind"], row["team_id"], row["title"], row["team_name"])


async def bind_chat(
    conn: aiosqlite.Connection,
    chat_id: int,
    kind: str,
    team_id: int | None,
    title: str,
    by: Cadre,
    now: datetime,
) -> BoundChat | None:
    """Bind a team's chat or the office chat in the caller's transaction, replacing that
    side's earlier chat; returns the earlier one. Whether the chat may be taken is the
    caller's judgement (services/people.py)."""
    params: tuple[int | None, ...] = ()
    if kind == "team":
        where, params = "kind = 'team' AND team_id = ?", (team_id,)
    else:
        where = "kind = 'office'"
    async with conn.execute(
        f"SELECT chat_id, kind, team_id, title FROM bound_chats WHERE {where}", params
    ) as cur:
        old = await cur.fetchone()
    await conn.execute(f"DELETE FROM bound_chats WHERE {where}", params)
    await conn.execute("DELETE FROM bound_chats WHERE chat_id = ?", (chat_id,))
    await conn.execute(
        "INSERT INTO bound_chats (chat_id, kind, team_id, title, bound_by, bound_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (chat_id, kind, team_id, title, by.id, to_text(now)),
    )
    await audit(
        conn,
        f"bind_{kind}_chat",
        actor=by,
        chat_id=chat_id,
        subject=f"team:{team_id}" if team_id else "office",
        before=dict(old) if old else None,
        after={"chat_id": chat_id, "title": title},
        at=now,
    )
    return (
        BoundChat(int(old["chat_id"]), old["kind"], old["team_id"], old["title"]) if old else None
    )


async def bound_chat(db: Database, chat_id: int) -> BoundChat | None:
    """What this chat is bound to, with the team's name (/help in the chat names it)."""
    row = await db.fetchone(
        "SELECT b.chat_id, b.kind, b.team_id, b.title, COALESCE(t.name, '') AS team_name"
        " FROM bound_chats b LEFT JOIN teams t ON t.id = b.team_id WHERE b.chat_id = ?",
        (chat_id,),
    )
    if row is None:
        return None
    return BoundChat(row["chat_id"], row["kind"], row["team_id"], row["title"], row["team_name"])


async def team_chat(db: Database, team_id: int) -> BoundChat | None:
    row = await db.fetchone(
        "SELECT chat_id, kind, team_id, title FROM bound_chats WHERE kind = 'team' AND team_id = ?",
        (team_id,),
    )
    return BoundChat(row["chat_id"], row["kind"], row["team_id"], row["title"]) if row else None


async def office_chat(db: Database) -> BoundChat | None:
    row = await db.fetchone(
        "SELECT chat_id, kind, team_id, title FROM bound_chats WHERE kind = 'office'"
    )
    return BoundChat(row["chat_id"], row["kind"], row["team_id"], row["title"]) if row else None


# --- redelivered updates --------------------------------------------------------------


async def last_update_id(db: Database) -> int:
    row = await db.fetchone("SELECT MAX(update_id) AS top FROM processed_updates")
    return int(row["top"]) if row is not None and row["top"] is not None else -1


async def update_seen(db: Database, update_id: int) -> bool:
    row = await db.fetchone("SELECT 1 FROM processed_updates WHERE update_id = ?", (update_id,))
    return row is not None
