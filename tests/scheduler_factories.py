"""Rows for scheduler tests, written straight into the database: bindings, chats,
visits and problems as the visits and problem features would leave them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from campaign.settings import Settings
from campaign.workcalendar import WorkCalendar
from services.runtime import Deps
from storage.db import Database, to_text
from tests.factories import Seed
from tests.fakebot import FakeClock

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Telegram ids of the seeded cadres who joined the bot; cadre2 never did.
TG = {
    "cadre1": 601,
    "cadre3": 603,
    "cadre4": 604,
    "leader1": 611,
    "leader2": 612,
    "leader3": 613,
    "captain1": 621,
    "deputy1": 622,
    "captain2": 623,
    "office1": 631,
    "inspector1": 641,
}
ENGLISH = ("cadre4", "leader3")
OFFICE_CHAT = -1009001
TEAM1_CHAT = -1009002


def first_unknown_year() -> int:
    """2027 with the chinesecalendar release this was written against (it stops at
    2026); a later release that knows 2027 moves the tests to the next missing year."""
    cal = WorkCalendar()
    return next(y for y in range(2027, 2100) if not cal.has_official(y))


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def make_deps(settings: Settings, db: Database, clock: FakeClock) -> Deps:
    return Deps(settings=settings, db=db, clock=clock)


async def bind(db: Database, cadre_id: int, telegram_id: int, lang: str | None = None) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO telegram_bindings (cadre_id, telegram_user_id, via, bound_at)"
            " VALUES (?, ?, 'contact', '2026-01-01T00:00:00+00:00')",
            (cadre_id, telegram_id),
        )
        if lang is not None:
            await conn.execute(
                "INSERT INTO user_prefs (telegram_user_id, lang) VALUES (?, ?)", (telegram_id, lang)
            )


async def bind_world(db: Database, seed: Seed) -> Seed:
    """Everyone in ``TG`` joined (two of them chose English), and the office chat is bound."""
    for key, tg in TG.items():
        await bind(db, seed.cadres[key], tg, "en" if key in ENGLISH else None)
    await bind_chat(db, OFFICE_CHAT, "office", seed.cadres["office1"])
    return seed


async def bind_chat(
    db: Database, chat_id: int, kind: str, by: int, team_id: int | None = None
) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO bound_chats (chat_id, kind, team_id, title, bound_by, bound_at)"
            " VALUES (?, ?, ?, 'chat', ?, '2026-01-01T00:00:00+00:00')",
            (chat_id, kind, team_id, by),
        )


async def add_visit(
    db: Database,
    cadre_id: int,
    day: date,
    place_id: int,
    *,
    created_at: datetime | None = None,
    status: str = "active",
    model_case: bool = False,
    text: str = "走访农户，了解生产生活情况",
) -> int:
    made = created_at or datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(
        hours=15
    )
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO visits (cadre_id, team_id, group_id, place_id, visit_date, text, status,"
            " model_case, created_at, updated_at)"
            " SELECT id, team_id, group_id, ?, ?, ?, ?, ?, ?, ? FROM cadres WHERE id = ?",
            (
                place_id,
                day.isoformat(),
                text,
                status,
                int(model_case),
                to_text(made),
                to_text(made),
                cadre_id,
            ),
        )
        return int(cur.lastrowid or 0)


async def add_problem(
    db: Database,
    reporter_id: int,
    place_id: int,
    *,
    deadline: datetime,
    level: str = "group",
    status: str = "open",
    created_at: datetime | None = None,
    closed_at: datetime | None = None,
    owner_id: int | None = None,
    urgent: bool = False,
    category: str = "infrastructure",
    description: str = "村道塌方，急需修复",
) -> int:
    made = created_at or deadline - timedelta(days=7)
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO problems (reporter_id, team_id, group_id, place_id, category,"
            " description, urgent, level, status, owner_id, level_since, deadline, closed_at,"
            " created_at, updated_at)"
            " SELECT id, team_id, group_id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM cadres"
            " WHERE id = ?",
            (
                place_id,
                category,
                description,
                int(urgent),
                level,
                status,
                owner_id,
                to_text(made),
                to_text(deadline),
                to_text(closed_at) if closed_at else None,
                to_text(made),
                to_text(made),
                reporter_id,
            ),
        )
        return int(cur.lastrowid or 0)


@dataclass(frozen=True)
class Queued:
    key: str
    chat_id: int
    text: str
    urgent: bool
    method: str


async def queued(db: Database, prefix: str = "") -> list[Queued]:
    rows = await db.fetchall(
        "SELECT key, chat_id, payload, urgent, method FROM outbox WHERE key LIKE ? ORDER BY id",
        (prefix + "%",),
    )
    out = []
    for r in rows:
        payload: dict[str, Any] = json.loads(r["payload"])
        out.append(
            Queued(r["key"], r["chat_id"], payload.get("text", ""), bool(r["urgent"]), r["method"])
        )
    return out
