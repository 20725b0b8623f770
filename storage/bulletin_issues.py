"""The numbered bulletins (快报, 第 N 期) and the model cases each carries: drafted weekly,
signed off by the office, published (migration 0022)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from storage import drafts
from storage.db import Connection, Database, Row, from_text, to_text
from storage.model_cases import SelectedCase


@dataclass(frozen=True)
class Issue:
    number: int
    week: str
    first_day: date
    last_day: date
    body: str
    opening: str
    status: str
    created_at: datetime
    publish_at: datetime | None
    published_at: datetime | None

    @property
    def published(self) -> bool:
        return self.status == "published"


def _issue(r: Row) -> Issue:
    return Issue(
        number=r["number"],
        week=r["week"],
        first_day=date.fromisoformat(r["first_day"]),
        last_day=date.fromisoformat(r["last_day"]),
        body=r["body"],
        opening=r["opening"],
        status=r["status"],
        created_at=from_text(r["created_at"]),
        publish_at=from_text(r["publish_at"]) if r["publish_at"] else None,
        published_at=from_text(r["published_at"]) if r["published_at"] else None,
    )


async def create_draft(
    db: Database,
    week: str,
    first_day: date,
    last_day: date,
    body: str,
    now: datetime,
    publish_at: datetime | None,
) -> Issue:
    """The week's draft, numbered next; the one already drafted for that week if any. It
    starts with every selected model case no published bulletin has carried yet."""
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO bulletins (number, week, first_day, last_day, body, created_at,"
            " publish_at) SELECT COALESCE(MAX(number), 0) + 1, ?, ?, ?, ?, ?, ? FROM bulletins"
            " WHERE NOT EXISTS (SELECT 1 FROM bulletins WHERE week = ?)",
            (
                week,
                first_day.isoformat(),
                last_day.isoformat(),
                body,
                to_text(now),
                to_text(publish_at) if publish_at else None,
                week,
            ),
        )
        found = list(await conn.execute_fetchall("SELECT * FROM bulletins WHERE week = ?", (week,)))
        issue = _issue(found[0])
        if issue.status == "draft":
            await conn.execute(
                "INSERT INTO bulletin_cases (number, case_id) SELECT ?, m.id FROM model_cases m"
                " WHERE NOT EXISTS (SELECT 1 FROM bulletin_cases bc"
                "  JOIN bulletins b ON b.number = bc.number"
                "  WHERE bc.case_id = m.id AND (b.status = 'published' OR b.number = ?))",
                (issue.number, issue.number),
            )
    return issue


async def get(db: Database | Connection, number: int) -> Issue | None:
    sql, params = "SELECT * FROM bulletins WHERE number = ?", (number,)
    if isinstance(db, Database):
        row = await db.fetchone(sql, params)
    else:
        rows = list(await db.execute_fetchall(sql, params))
        row = rows[0] if rows else None
    return _issue(row) if row is not None else None


async def set_opening(
    conn: Connection, number: int, text: str, now: datetime, draft_id: int | None = None
) -> bool:
    """Inside the caller's transaction; False when the issue is not a draft any more.
    The dialog's draft that asked for the words is closed with it."""
    cur = await conn.execute(
        "UPDATE bulletins SET opening = ? WHERE number = ? AND status = 'draft'",
        (text, number),
    )
    saved = cur.rowcount == 1
    if draft_id is not None:
        await drafts.close(
            conn, draft_id, "submitted" if saved else "cancelled", now,
            result_id=number if saved else None,
        )  # fmt: skip
    return saved


_CASE_SELECT = (
    "SELECT m.id, m.visit_id, c.name AS cadre_name, COALESCE(t.name, '') AS team_name,"
    " c.unit, pl.name AS place_name, v.visit_date, m.title, m.writeup, m.selected_at"
    " FROM model_cases m JOIN visits v ON v.id = m.visit_id"
    " JOIN cadres c ON c.id = m.cadre_id JOIN places pl ON pl.id = v.place_id"
    " LEFT JOIN teams t ON t.id = v.team_id"
)


def _case(r: Row) -> SelectedCase:
    return SelectedCase(
        r["id"], r["visit_id"], r["cadre_name"], r["team_name"], r["unit"], r["place_name"],
        date.fromisoformat(r["visit_date"]), r["title"], r["writeup"],
        from_text(r["selected_at"]),
    )  # fmt: skip


async def carried(db: Database, number: int) -> list[SelectedCase]:
    """The model cases the issue carries, in the order they were selected."""
    rows = await db.fetchall(
        _CASE_SELECT + " JOIN bulletin_cases bc ON bc.case_id = m.id WHERE bc.number = ?"
        " ORDER BY m.selected_at, m.id",
        (number,),
    )
    return [_case(r) for r in rows]


async def offered(db: Database, number: int, limit: int = 20) -> list[tuple[SelectedCase, bool]]:
    """Cases the draft may carry (no published bulletin carried them), newest first, and
    whether it carries each."""
    rows = await db.fetchall(
        _CASE_SELECT + ", EXISTS (SELECT 1 FROM bulletin_cases x WHERE x.number = ?"
        " AND x.case_id = m.id) AS picked WHERE NOT EXISTS (SELECT 1 FROM bulletin_cases bc"
        " JOIN bulletins b ON b.number = bc.number WHERE bc.case_id = m.id"
        " AND b.status = 'published') ORDER BY m.selected_at DESC, m.id DESC LIMIT ?",
        (number, limit),
    )
    return [(_case(r), bool(r["picked"])) for r in rows]


async def toggle_case(db: Database, number: int, case_id: int) -> bool | None:
    """Carry the case or stop carrying it; None when the issue is no longer a draft or
    the case is not one it may carry."""
    async with db.write() as conn:
        issue = await get(conn, number)
        if issue is None or issue.published:
            return None
        ok = list(
            await conn.execute_fetchall(
                "SELECT 1 FROM model_cases m WHERE m.id = ? AND NOT EXISTS (SELECT 1"
                " FROM bulletin_cases bc JOIN bulletins b ON b.number = bc.number"
                " WHERE bc.case_id = m.id AND b.status = 'published')",
                (case_id,),
            )
        )
        if not ok:
            return None
        cur = await conn.execute(
            "DELETE FROM bulletin_cases WHERE number = ? AND case_id = ?", (number, case_id)
        )
        if cur.rowcount:
            return False
        await conn.execute(
            "INSERT INTO bulletin_cases (number, case_id) VALUES (?, ?)", (number, case_id)
        )
        return True


async def mark_published(conn: Connection, number: int, by: int | None, now: datetime) -> bool:
    """Inside the caller's transaction; False when it was published already."""
    cur = await conn.execute(
        "UPDATE bulletins SET status = 'published', published_at = ?, published_by = ?"
        " WHERE number = ? AND status = 'draft'",
        (to_text(now), by, number),
    )
    return cur.rowcount == 1


async def due_drafts(db: Database, now: datetime) -> list[int]:
    """Drafts whose moment to be published as they stand has come."""
    rows = await db.fetchall(
        "SELECT number FROM bulletins WHERE status = 'draft' AND publish_at IS NOT NULL"
        " AND publish_at <= ? ORDER BY number",
        (to_text(now),),
    )
    return [r["number"] for r in rows]
