"""The roster in the database: apply a validated roster, and read it back for export.

An import is the whole roster, in one transaction. Teams, groups and places are matched
by code, cadres by phone. What changed is updated in place; what is no longer on the
roster is deactivated, never deleted, so visits, problems and Telegram bindings that
point at it stay intact (a deactivated cadre simply cannot use the bot). Every change
leaves an audit row.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from campaign.places import PlaceKind
from campaign.roles import Role
from campaign.roster import (
    SHEETS,
    CadreEntry,
    GroupEntry,
    PlaceEntry,
    Roster,
    TeamEntry,
    unit_contacts,
)
from storage.db import Database, to_text
from storage.people import audit


@dataclass(frozen=True)
class Changes:
    added: int = 0
    updated: int = 0  # includes a row brought back from deactivated
    deactivated: int = 0


@dataclass(frozen=True)
class ImportResult:
    teams: Changes
    groups: Changes
    cadres: Changes
    places: Changes
    dry_run: bool = False

    def by_sheet(self) -> dict[str, Changes]:
        return {s: getattr(self, s) for s in SHEETS}

    @property
    def changed(self) -> bool:
        return any(c != Changes() for c in self.by_sheet().values())


class _Counter:
    def __init__(self) -> None:
        self.added = self.updated = self.deactivated = 0

    def freeze(self) -> Changes:
        return Changes(self.added, self.updated, self.deactivated)


class _DryRun(Exception):
    """Raised inside the transaction so that it rolls back after counting."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__("dry run")
        self.result = result


# The columns each table takes from the roster (besides its key and ``active``).
_FIELDS = {
    "teams": ("name", "town"),
    "groups": ("name", "team_id"),
    "places": ("kind", "name", "town", "group_id", "village_id", "lat", "lon"),
    "cadres": ("name", "role", "team_id", "group_id", "unit"),
}
_SUBJECT = {"teams": "team", "groups": "group", "places": "place", "cadres": "cadre"}


class _Table:
    """One roster table during an import: its rows before, keyed by code or phone."""

    def __init__(self, conn: aiosqlite.Connection, table: str, key: str, now: datetime) -> None:
        self.conn = conn
        self.table = table
        self.key = key
        self.now = now
        self.fields = _FIELDS[table]
        self.existing: dict[str, dict[str, Any]] = {}
        self.ids: dict[str, int] = {}
        self.seen: set[str] = set()
        self.count = _Counter()
        self.stamped = table == "cadres"  # has created_at / updated_at

    async def load(self) -> None:
        cols = ", ".join(("id", self.key, *self.fields, "active"))
        async with self.conn.execute(f"SELECT {cols} FROM {self.table}") as cur:
            for row in await cur.fetchall():
                self.existing[row[self.key]] = dict(row)
                self.ids[row[self.key]] = row["id"]

    async def put(self, key: str, values: dict[str, Any]) -> int:
        """Insert or update one row to ``values``; returns its id."""
        self.seen.add(key)
        old = self.existing.get(key)
        subject = _SUBJECT[self.table]
        if old is None:
            cols = [self.key, *self.fields]
            params = [key, *(values[f] for f in self.fields)]
            if self.stamped:
                cols += ["created_at", "updated_at"]
                params += [to_text(self.now)] * 2
            marks = ", ".join("?" for _ in cols)
            cur = await self.conn.execute(
                f"INSERT INTO {self.table} ({', '.join(cols)}) VALUES ({marks})", params
            )
            new_id = int(cur.lastrowid or 0)
            self.ids[key] = new_id
            self.count.added += 1
            await audit(
                self.conn, "roster.add", subject=f"{subject}:{new_id}", after=values, at=self.now
            )
            return new_id
        before = {f: old[f] for f in self.fields} | {"active": bool(old["active"])}
        after = dict(values) | {"active": True}
        if before != after:
            sets = ", ".join(f"{f} = ?" for f in self.fields)
            params = [*(values[f] for f in self.fields)]
            if self.stamped:
                sets += ", updated_at = ?"
                params.append(to_text(self.now))
            await self.conn.execute(
                f"UPDATE {self.table} SET {sets}, active = 1 WHERE id = ?", [*params, old["id"]]
            )
            self.count.updated += 1
            changed = [k for k in after if before[k] != after[k]]
            await audit(
                self.conn,
                "roster.update",
                subject=f"{subject}:{old['id']}",
                before={k: before[k] for k in changed},
                after={k: after[k] for k in changed},
                at=self.now,
            )
        return int(old["id"])

    async def deactivate_unseen(self) -> None:
        for key, old in self.existing.items():
            if key in self.seen or not old["active"]:
                continue
            extra = ", updated_at = ?" if self.stamped else ""
            params: list[Any] = [to_text(self.now)] if self.stamped else []
            await self.conn.execute(
                f"UPDATE {self.table} SET active = 0{extra} WHERE id = ?", [*params, old["id"]]
            )
            self.count.deactivated += 1
            await audit(
                self.conn,
                "roster.deactivate",
                subject=f"{_SUBJECT[self.table]}:{old['id']}",
                before={self.key: key},
                at=self.now,
            )


async def _apply(conn: aiosqlite.Connection, roster: Roster, now: datetime) -> ImportResult:
    teams = _Table(conn, "teams", "code", now)
    groups = _Table(conn, "groups", "code", now)
    places = _Table(conn, "places", "code", now)
    cadres = _Table(conn, "cadres", "phone", now)
    for table in (teams, groups, places, cadres):
        await table.load()
    for t in roster.teams:
        await teams.put(t.code, {"name": t.name, "town": t.town})
    for g in roster.groups:
        await groups.put(g.code, {"name": g.name, "team_id": teams.ids[g.team]})
    # Villages first: a household points at its village's id.
    for p in sorted(roster.places, key=lambda p: p.kind is not PlaceKind.VILLAGE):
        await places.put(
            p.code,
            {
                "kind": p.kind.value,
                "name": p.name,
                "town": p.town,
                "group_id": groups.ids[p.group] if p.group else None,
                "village_id": places.ids[p.village] if p.village else None,
                "lat": p.lat,
                "lon": p.lon,
            },
        )
    for c in roster.cadres:
        await cadres.put(
            c.phone,
            {
                "name": c.name,
                "role": c.role.value,
                "team_id": teams.ids[c.team] if c.team else None,
                "group_id": groups.ids[c.group] if c.group else None,
                "unit": c.unit,
            },
        )
    await conn.execute("DELETE FROM unit_contacts")
    for unit, (contact, phone) in unit_contacts(roster).items():
        await conn.execute(
            "INSERT INTO unit_contacts (unit, contact, phone) VALUES (?, ?, ?)",
            (unit, contact, phone),
        )
    # Deactivate from the bottom up: a cadre before the group it belonged to.
    for table in (cadres, places, groups, teams):
        await table.deactivate_unseen()
    return ImportResult(
        teams.count.freeze(),
        groups.count.freeze(),
        cadres.count.freeze(),
        places.count.freeze(),
    )


async def import_roster(
    db: Database, roster: Roster, now: datetime, *, source: str = "", dry_run: bool = False
) -> ImportResult:
    """Make the database hold ``roster``, in one transaction. With ``dry_run`` the same
    work is done and counted, then rolled back."""
    try:
        async with db.write(long=True) as conn:
            result = await _apply(conn, roster, now)
            await audit(
                conn,
                "roster.import",
                subject="roster",
                after={"source": source, **{s: vars(c) for s, c in result.by_sheet().items()}},
                at=now,
            )
            if dry_run:
                raise _DryRun(dataclasses.replace(result, dry_run=True))
    except _DryRun as done:
        return done.result
    return result


async def load_roster(db: Database) -> Roster:
    """The active roster, in the order it was first imported."""
    teams = await db.fetchall("SELECT code, name, town FROM teams WHERE active = 1 ORDER BY id")
    groups = await db.fetchall(
        "SELECT g.code, g.name, t.code AS team FROM groups g JOIN teams t ON t.id = g.team_id"
        " WHERE g.active = 1 ORDER BY g.id"
    )
    cadres = await db.fetchall(
        "SELECT c.phone, c.name, c.role, t.code AS team, g.code AS grp, c.unit FROM cadres c"
        " LEFT JOIN teams t ON t.id = c.team_id LEFT JOIN groups g ON g.id = c.group_id"
        " WHERE c.active = 1 ORDER BY c.id"
    )
    contacts = {
        r["unit"]: r["contact"]
        for r in await db.fetchall("SELECT unit, contact FROM unit_contacts")
    }
    places = await db.fetchall(
        "SELECT p.code, p.kind, p.name, p.town, g.code AS grp, v.code AS village, p.lat, p.lon"
        " FROM places p LEFT JOIN groups g ON g.id = p.group_id"
        " LEFT JOIN places v ON v.id = p.village_id WHERE p.active = 1 ORDER BY p.id"
    )
    return Roster(
        teams=tuple(TeamEntry(r["code"], r["name"], r["town"]) for r in teams),
        groups=tuple(GroupEntry(r["code"], r["name"], r["team"]) for r in groups),
        cadres=tuple(
            CadreEntry(
                r["phone"],
                r["name"],
                Role(r["role"]),
                r["team"],
                r["grp"],
                r["unit"],
                contacts.get(r["unit"], ""),
            )  # fmt: skip
            for r in cadres
        ),
        places=tuple(
            PlaceEntry(
                r["code"],
                PlaceKind(r["kind"]),
                r["name"],
                r["town"],
                r["grp"],
                r["village"],
                r["lat"],
                r["lon"],
            )
            for r in places
        ),
    )


async def active_cadre_count(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM cadres WHERE active = 1")
    return int(row["n"]) if row else 0
