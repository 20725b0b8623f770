"""Work plans: items (plan_items), their owners (plan_owners), progress reports
(plan_progress) and the visits that served them (visit_plan_items). SQL only; the rules
are in campaign/plans.py, the use cases in services/plans.py.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from campaign.plans import CadreRef, GroupRef, Index, PlaceRef, PlanRow, TeamRef, quarter_of
from storage.db import Connection, Database, Row, Writer, to_text
from storage.plan_reports import Completion, completion_query, completions

# --- values ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    id: int
    name: str


@dataclass(frozen=True)
class Item:
    id: int
    code: str
    team_id: int
    team_name: str
    group_id: int | None
    group_name: str
    place_id: int | None
    place_name: str
    month: str
    quarter: int
    due_date: date
    title: str
    measure: str
    target: float | None
    unit: str
    kind: str | None
    status: str
    cancel_reason: str
    progress: float
    updated_at: str
    owners: tuple[Owner, ...] = ()

    def owned_by(self, cadre_id: int) -> bool:
        return any(o.id == cadre_id for o in self.owners)


@dataclass(frozen=True)
class Progress:
    id: int
    item_id: int
    cadre_name: str
    at: str
    note: str
    amount: float | None
    completes: bool
    photos: tuple[str, ...]


@dataclass(frozen=True)
class PlanTally:
    """An owner's items in a period: ``due`` has a due date in it, ``done`` of those
    completed, ``overdue`` of those neither done nor cancelled and past due at its end.
    Cancelled items count in none."""

    due: int
    done: int
    overdue: int


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    dry_run: bool


@dataclass(frozen=True)
class NewItem:
    team_id: int
    group_id: int | None
    place_id: int | None
    month: str
    due_date: date
    title: str
    measure: str
    target: float | None
    unit: str
    kind: str | None
    owners: tuple[int, ...]


@dataclass(frozen=True)
class Reminder:
    """An open item and the people to tell about it (owners, or leaders)."""

    item_id: int
    code: str
    title: str
    due_date: date
    team_id: int
    group_id: int | None
    chat_id: int
    cadre_id: int
    lang: str | None


_SELECT = """
SELECT i.*, t.name AS team_name, COALESCE(g.name, '') AS group_name,
       COALESCE(p.name, '') AS place_name
FROM plan_items i
JOIN teams t ON t.id = i.team_id
LEFT JOIN groups g ON g.id = i.group_id
LEFT JOIN places p ON p.id = i.place_id
"""


def _item(row: Row, owners: tuple[Owner, ...]) -> Item:
    return Item(
        id=int(row["id"]),
        code=str(row["code"]),
        team_id=int(row["team_id"]),
        team_name=str(row["team_name"]),
        group_id=row["group_id"],
        group_name=str(row["group_name"]),
        place_id=row["place_id"],
        place_name=str(row["place_name"]),
        month=str(row["month"]),
        quarter=int(row["quarter"]),
        due_date=date.fromisoformat(row["due_date"]),
        title=str(row["title"]),
        measure=str(row["measure"]),
        target=row["target"],
        unit=str(row["unit"]),
        kind=row["kind"],
        status=str(row["status"]),
        cancel_reason=str(row["cancel_reason"]),
        progress=float(row["progress"]),
        updated_at=str(row["updated_at"]),
        owners=owners,
    )


async def _owners(db: Database, ids: Sequence[int]) -> dict[int, tuple[Owner, ...]]:
    out: dict[int, list[Owner]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        rows = await db.fetchall(
            "SELECT o.item_id, c.id, c.name FROM plan_owners o JOIN cadres c ON c.id = o.cadre_id"
            f" WHERE o.item_id IN ({','.join('?' * len(chunk))}) ORDER BY o.item_id, c.id",
            chunk,
        )
        for r in rows:
            out[int(r["item_id"])].append(Owner(int(r["id"]), str(r["name"])))
    return {k: tuple(v) for k, v in out.items()}


async def _items(
    db: Database, where: str, params: Iterable[Any], limit: int = 5000, owners: bool = True
) -> list[Item]:
    rows = await db.fetchall(
        f"{_SELECT} WHERE {where} ORDER BY i.due_date, i.id LIMIT {int(limit)}", tuple(params)
    )
    if not owners:
        return [_item(r, ()) for r in rows]
    found = await _owners(db, [int(r["id"]) for r in rows])
    return [_item(r, found[int(r["id"])]) for r in rows]


async def with_owners(db: Database, items: Sequence[Item]) -> list[Item]:
    """The items with their owners (a list read without them, then cut to what shows)."""
    found = await _owners(db, [i.id for i in items])
    return [dataclasses.replace(i, owners=found[i.id]) for i in items]


# --- reading ---------------------------------------------------------------------------


async def get(db: Database, item_id: int) -> Item | None:
    found = await _items(db, "i.id = ?", (item_id,), 1)
    return found[0] if found else None


# An item is listed for a period when it falls due in it, or when it is still open and
# fell due before it (overdue items stay on the list until they are done or cancelled).
_IN_PERIOD = "((i.due_date BETWEEN ? AND ?) OR (i.due_date < ? AND i.status IN ('todo', 'doing')))"


def _period(start: date, end: date) -> tuple[str, str, str]:
    return start.isoformat(), end.isoformat(), start.isoformat()


async def for_owner(
    db: Database, cadre_id: int, start: date, end: date, owners: bool = True
) -> list[Item]:
    where = f"i.id IN (SELECT item_id FROM plan_owners WHERE cadre_id = ?) AND {_IN_PERIOD}"
    return await _items(db, where, (cadre_id, *_period(start, end)), owners=owners)


async def for_group(
    db: Database, group_id: int, start: date, end: date, owners: bool = True
) -> list[Item]:
    where = f"i.group_id = ? AND {_IN_PERIOD}"
    return await _items(db, where, (group_id, *_period(start, end)), owners=owners)


async def for_team(
    db: Database, team_id: int, start: date, end: date, owners: bool = True
) -> list[Item]:
    """A team's items (its own and its groups') for the period: ``owners`` False leaves
    them out (a long list is cut before they are read)."""
    where = f"i.team_id = ? AND {_IN_PERIOD}"
    return await _items(db, where, (team_id, *_period(start, end)), owners=owners)


async def progress_of(db: Database, item_id: int, limit: int = 5) -> list[Progress]:
    rows = await db.fetchall(
        "SELECT p.*, c.name AS cadre_name FROM plan_progress p JOIN cadres c ON c.id = p.cadre_id"
        " WHERE p.item_id = ? ORDER BY p.id DESC LIMIT ?",
        (item_id, limit),
    )
    return [
        Progress(
            id=int(r["id"]),
            item_id=int(r["item_id"]),
            cadre_name=str(r["cadre_name"]),
            at=str(r["at"]),
            note=str(r["note"]),
            amount=r["amount"],
            completes=bool(r["completes"]),
            photos=tuple(json.loads(r["photos"])),
        )
        for r in rows
    ]


_TALLY = """
SELECT {key}, COUNT(*) AS due,
       SUM(CASE WHEN i.status = 'done' THEN 1 ELSE 0 END) AS done,
       SUM(CASE WHEN i.status IN ('todo', 'doing') AND i.due_date < ? THEN 1 ELSE 0 END)
           AS overdue
FROM plan_items i {join}
WHERE i.due_date BETWEEN ? AND ? AND i.status <> 'cancelled' {extra}
GROUP BY {key}
"""


async def owner_tallies(db: Database, start: date, end: date) -> dict[int, PlanTally]:
    """Each owner's items due in [start, end], by cadre id: how many, done, and overdue
    (open and past due at ``end``). Cancelled items count in none."""
    sql = _TALLY.format(key="o.cadre_id", join="JOIN plan_owners o ON o.item_id = i.id", extra="")
    rows = await db.scan(sql, (end.isoformat(), start.isoformat(), end.isoformat()))
    return {
        int(r["cadre_id"]): PlanTally(int(r["due"]), int(r["done"] or 0), int(r["overdue"] or 0))
        for r in rows
    }


async def team_completion(db: Database, start: date, end: date, today: date) -> list[Completion]:
    """Completion by team for items due in [start, end] (the office's /plan list), the
    statement of the reports' (storage/plan_reports.completion) on the bot's connection;
    overdue is judged at ``today`` (or the day after the period, if earlier)."""
    cut = min(today, end + timedelta(days=1))
    sql, params = completion_query(start, end, cut)
    return completions(await db.scan(sql, params))


async def overdue_items(db: Database, today: date, limit: int = 2000) -> list[Item]:
    """Open items past due, oldest first (the bulletin and leaders' reminders)."""
    return await _items(
        db, "i.due_date < ? AND i.status IN ('todo', 'doing')", (today.isoformat(),), limit
    )


async def all_items(db: Database) -> list[Item]:
    """Every item not cancelled, for the export (what is in force)."""
    rows = await db.scan(f"{_SELECT} ORDER BY i.team_id, i.group_id, i.due_date, i.id")
    owners = await _owners(db, [int(r["id"]) for r in rows])
    return [_item(r, owners[int(r["id"])]) for r in rows]


async def open_for_visit(
    db: Database, cadre_id: int, place_id: int, kinds: Sequence[str], day: date
) -> list[Item]:
    """The cadre's open items a visit could serve: for that place, or of one of the
    visit's kinds (items without a place), due this month or later."""
    marks = ",".join("?" * len(kinds)) or "''"
    where = (
        "i.id IN (SELECT item_id FROM plan_owners WHERE cadre_id = ?)"
        " AND i.status IN ('todo', 'doing') AND i.month >= ?"
        f" AND (i.place_id = ? OR (i.place_id IS NULL AND i.kind IN ({marks})))"
    )
    month = f"{day.year:04d}-{day.month:02d}"
    return await _items(db, where, (cadre_id, month, place_id, *kinds), 8)


async def load_index(db: Database) -> Index:
    teams = await db.scan("SELECT id, code, name, town FROM teams WHERE active = 1")
    groups = await db.scan("SELECT id, code, name, team_id FROM groups WHERE active = 1")
    cadres = await db.scan("SELECT id, name, phone, team_id, group_id FROM cadres WHERE active = 1")
    places = await db.scan("SELECT id, code, name, group_id FROM places WHERE active = 1")
    return Index(
        teams=[TeamRef(r["id"], r["code"], r["name"], r["town"]) for r in teams],
        groups=[GroupRef(r["id"], r["code"], r["name"], r["team_id"]) for r in groups],
        cadres=[
            CadreRef(r["id"], r["name"], r["phone"], r["team_id"], r["group_id"]) for r in cadres
        ],
        places=[PlaceRef(r["id"], r["code"], r["name"], r["group_id"]) for r in places],
    )


async def export_refs(
    db: Database,
) -> tuple[dict[int, str], dict[int, str], dict[int, str], dict[int, str]]:
    """Codes of teams, groups and places and cadres' phones, by id (the export)."""
    out: list[dict[int, str]] = []
    for sql in (
        "SELECT id, code AS v FROM teams",
        "SELECT id, code AS v FROM groups",
        "SELECT id, code AS v FROM places",
        "SELECT id, phone AS v FROM cadres",
    ):
        out.append({int(r["id"]): str(r["v"]) for r in await db.scan(sql)})
    return out[0], out[1], out[2], out[3]


async def unit_members(db: Database, team_id: int, group_id: int | None) -> list[tuple[int, str]]:
    """Active cadres who may own a unit's item: the group's, or (a team item) the team's."""
    if group_id is not None:
        where, param = "group_id = ?", group_id
    else:
        where, param = "team_id = ?", team_id
    rows = await db.fetchall(
        f"SELECT id, name FROM cadres WHERE active = 1 AND {where} AND role IN"
        " ('cadre', 'group_leader', 'team_leader', 'deputy_team_leader') ORDER BY id",
        (param,),
    )
    return [(int(r["id"]), str(r["name"])) for r in rows]


async def codes(db: Database) -> dict[str, int]:
    rows = await db.scan("SELECT code, id FROM plan_items")
    return {str(r["code"]): int(r["id"]) for r in rows}


# --- writing ---------------------------------------------------------------------------


async def _set_owners(conn: Writer, item_id: int, owners: Iterable[int]) -> None:
    await conn.execute("DELETE FROM plan_owners WHERE item_id = ?", (item_id,))
    for cadre_id in owners:
        await conn.execute(
            "INSERT OR IGNORE INTO plan_owners (item_id, cadre_id) VALUES (?, ?)",
            (item_id, cadre_id),
        )


async def import_rows(
    db: Database, rows: Sequence[PlanRow], now: datetime, dry_run: bool = False
) -> ImportResult:
    """Write the checked rows in ONE transaction: an item whose code exists is updated
    (its progress, reports and links kept), a new code adds an item."""
    known = await codes(db)
    added = sum(1 for r in rows if r.code not in known)
    if dry_run:
        return ImportResult(added, len(rows) - added, True)
    stamp = to_text(now)
    async with db.write(long=True) as conn:
        for r in rows:
            fields = (
                r.team_id, r.group_id, r.place_id, r.month, quarter_of(r.month),
                r.due_date.isoformat(), r.title, r.measure, r.target, r.unit, r.kind,
            )  # fmt: skip
            item_id = known.get(r.code)
            if item_id is None:
                cur = await conn.execute(
                    "INSERT INTO plan_items (code, team_id, group_id, place_id, month, quarter,"
                    " due_date, title, measure, target, unit, kind, status, cancel_reason,"
                    " created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (r.code, *fields, r.status or "todo", r.cancel_reason, stamp, stamp),
                )
                item_id = int(cur.lastrowid or 0)
            else:
                await conn.execute(
                    "UPDATE plan_items SET team_id = ?, group_id = ?, place_id = ?, month = ?,"
                    " quarter = ?, due_date = ?, title = ?, measure = ?, target = ?, unit = ?,"
                    " kind = ?, status = COALESCE(?, status),"
                    " cancel_reason = CASE WHEN CAST(? AS TEXT) IS NULL THEN cancel_reason"
                    " ELSE ? END,"
                    " updated_at = ? WHERE id = ?",
                    (*fields, r.status, r.status, r.cancel_reason, stamp, item_id),
                )
            await _set_owners(conn, item_id, r.owners)
        await conn.execute(
            "INSERT INTO audit_log (at, action, subject, after) VALUES (?, 'plan_import', ?, ?)",
            (stamp, "plans", json.dumps({"added": added, "updated": len(rows) - added})),
        )
    return ImportResult(added, len(rows) - added, False)


async def add_item(conn: Connection, new: NewItem, cadre_id: int, now: datetime) -> int:
    """A new item entered in the bot; its code is ``JH`` and its number."""
    stamp = to_text(now)
    cur = await conn.execute(
        "INSERT INTO plan_items (code, team_id, group_id, place_id, month, quarter, due_date,"
        " title, measure, target, unit, kind, created_by, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            f"new-{uuid.uuid4().hex}",
            new.team_id,
            new.group_id,
            new.place_id,
            new.month,
            quarter_of(new.month),
            new.due_date.isoformat(),
            new.title,
            new.measure,
            new.target,
            new.unit,
            new.kind,
            cadre_id,
            stamp,
            stamp,
        ),
    )
    item_id = int(cur.lastrowid or 0)
    await conn.execute("UPDATE plan_items SET code = ? WHERE id = ?", (f"JH{item_id:05d}", item_id))
    await _set_owners(conn, item_id, new.owners)
    return item_id


async def update_item(conn: Connection, item_id: int, new: NewItem, now: datetime) -> None:
    await conn.execute(
        "UPDATE plan_items SET place_id = ?, month = ?, quarter = ?, due_date = ?, title = ?,"
        " measure = ?, target = ?, unit = ?, kind = ?, updated_at = ? WHERE id = ?",
        (
            new.place_id,
            new.month,
            quarter_of(new.month),
            new.due_date.isoformat(),
            new.title,
            new.measure,
            new.target,
            new.unit,
            new.kind,
            to_text(now),
            item_id,
        ),
    )
    await _set_owners(conn, item_id, new.owners)


async def cancel_item(
    conn: Connection, item_id: int, reason: str, cadre_id: int, now: datetime
) -> None:
    stamp = to_text(now)
    await conn.execute(
        "UPDATE plan_items SET status = 'cancelled', cancel_reason = ?, updated_at = ?"
        " WHERE id = ? AND status IN ('todo', 'doing')",
        (reason, stamp, item_id),
    )
    await conn.execute(
        "INSERT INTO audit_log (at, actor_cadre_id, action, subject, after)"
        " VALUES (?, ?, 'plan_cancel', ?, ?)",
        (stamp, cadre_id, f"plan:{item_id}", json.dumps({"reason": reason}, ensure_ascii=False)),
    )


async def add_progress(
    conn: Connection,
    *,
    item_id: int,
    cadre_id: int,
    note: str,
    amount: float | None,
    completes: bool,
    photos: Sequence[str],
    draft_id: int | None,
    now: datetime,
) -> int:
    stamp = to_text(now)
    cur = await conn.execute(
        "INSERT INTO plan_progress (item_id, cadre_id, at, note, amount, completes, photos,"
        " draft_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (item_id, cadre_id, stamp, note, amount, int(completes), json.dumps(list(photos)),
         draft_id),
    )  # fmt: skip
    status = "done" if completes else "doing"
    await conn.execute(
        "UPDATE plan_items SET progress = progress + COALESCE(?, 0), status = ?,"
        " done_at = CASE WHEN ? = 'done' THEN ? ELSE done_at END, updated_at = ?"
        " WHERE id = ?",
        (amount, status, status, stamp, stamp, item_id),
    )
    return int(cur.lastrowid or 0)


async def link_visit(conn: Writer, visit_id: int, item_id: int) -> None:
    await conn.execute(
        "INSERT OR IGNORE INTO visit_plan_items (visit_id, item_id) VALUES (?, ?)",
        (visit_id, item_id),
    )


async def visit_links(db: Database, visit_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT item_id FROM visit_plan_items WHERE visit_id = ? ORDER BY item_id", (visit_id,)
    )
    return [int(r["item_id"]) for r in rows]


# --- reminders -------------------------------------------------------------------------

_NOT_MUTED = "NOT EXISTS (SELECT 1 FROM reminder_mutes m WHERE m.cadre_id = c.id AND m.until > ?)"


async def owners_due(db: Database, first: date, last: date, now: datetime) -> list[Reminder]:
    """Open items due in [first, last], one row per bound, active owner who has not
    paused reminders (/mute)."""
    rows = await db.scan(
        "SELECT i.id, i.code, i.title, i.due_date, i.team_id, i.group_id, b.telegram_user_id,"
        " c.id AS cadre_id, u.lang FROM plan_items i"
        " JOIN plan_owners o ON o.item_id = i.id"
        " JOIN cadres c ON c.id = o.cadre_id AND c.active = 1"
        " JOIN telegram_bindings b ON b.cadre_id = c.id"
        " LEFT JOIN user_prefs u ON u.telegram_user_id = b.telegram_user_id"
        " WHERE i.status IN ('todo', 'doing') AND i.due_date BETWEEN ? AND ?"
        f" AND {_NOT_MUTED} ORDER BY b.telegram_user_id, i.due_date, i.id",
        (first.isoformat(), last.isoformat(), to_text(now)),
    )
    return [_reminder(r) for r in rows]


async def leader_chats(conn: Connection, item_id: int) -> list[tuple[int, int, str | None]]:
    """(cadre id, private chat, language) of the leaders an item answers to: the group
    leaders of a group's item, the team leaders and deputies of a team's own item."""
    cur = await conn.execute(
        "SELECT c.id, b.telegram_user_id, u.lang FROM plan_items i"
        " JOIN cadres c ON c.active = 1 AND ("
        "   (i.group_id IS NOT NULL AND c.role = 'group_leader' AND c.group_id = i.group_id)"
        "   OR (i.group_id IS NULL AND c.role IN ('team_leader', 'deputy_team_leader')"
        "       AND c.team_id = i.team_id))"
        " JOIN telegram_bindings b ON b.cadre_id = c.id"
        " LEFT JOIN user_prefs u ON u.telegram_user_id = b.telegram_user_id"
        " WHERE i.id = ? ORDER BY c.id",
        (item_id,),
    )
    return [(int(r[0]), int(r[1]), r[2]) for r in await cur.fetchall()]


async def leaders_overdue(db: Database, today: date, now: datetime) -> list[Reminder]:
    """Open items past due, one row per leader to tell (not paused): the group leaders
    of a group's item, the team leaders (and deputies) of a team's own item."""
    rows = await db.scan(
        "SELECT i.id, i.code, i.title, i.due_date, i.team_id, i.group_id, b.telegram_user_id,"
        " c.id AS cadre_id, u.lang FROM plan_items i"
        " JOIN cadres c ON c.active = 1 AND ("
        "   (i.group_id IS NOT NULL AND c.role = 'group_leader' AND c.group_id = i.group_id)"
        "   OR (i.group_id IS NULL AND c.role IN ('team_leader', 'deputy_team_leader')"
        "       AND c.team_id = i.team_id))"
        " JOIN telegram_bindings b ON b.cadre_id = c.id"
        " LEFT JOIN user_prefs u ON u.telegram_user_id = b.telegram_user_id"
        " WHERE i.status IN ('todo', 'doing') AND i.due_date < ?"
        f" AND {_NOT_MUTED} ORDER BY b.telegram_user_id, i.due_date, i.id",
        (today.isoformat(), to_text(now)),
    )
    return [_reminder(r) for r in rows]


def _reminder(r: Row) -> Reminder:
    return Reminder(
        item_id=int(r["id"]),
        code=str(r["code"]),
        title=str(r["title"]),
        due_date=date.fromisoformat(r["due_date"]),
        team_id=int(r["team_id"]),
        group_id=r["group_id"],
        chat_id=int(r["telegram_user_id"]),
        cadre_id=int(r["cadre_id"]),
        lang=r["lang"],
    )


# --- unit codes (quota overrides name teams and groups by code) -------------------------


async def unit_codes(db: Database) -> tuple[dict[int, str], dict[int, str]]:
    teams = await db.fetchall("SELECT id, code FROM teams")
    groups = await db.fetchall("SELECT id, code FROM groups")
    return (
        {int(r["id"]): str(r["code"]) for r in teams},
        {int(r["id"]): str(r["code"]) for r in groups},
    )
