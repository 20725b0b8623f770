"""Visits and problems written straight into the tables the visit and problem features
own, so report tests do not depend on those conversations. Team and group are copied
from the cadre, as the visit log and the problem ledger do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from storage.db import Database, to_text
from tests.factories import Seed

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


async def _team_group(db: Database, cadre_id: int) -> tuple[int | None, int | None]:
    row = await db.fetchone("SELECT team_id, group_id FROM cadres WHERE id = ?", (cadre_id,))
    assert row is not None, cadre_id
    return row["team_id"], row["group_id"]


async def add_visit(
    db: Database,
    cadre_id: int,
    place_id: int,
    day: date,
    kinds: Iterable[str] = ("policy",),
    *,
    text: str = "入户走访，宣讲政策",
    status: str = "active",
    model_case: bool = False,
    people_met: int | None = None,
    photos: int = 0,
    voice: bool = False,
    far: bool = False,
    distance_km: float | None = None,
) -> int:
    team_id, group_id = await _team_group(db, cadre_id)
    created = to_text(datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(hours=18))
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO visits (cadre_id, team_id, group_id, place_id, visit_date, text,"
            " voice_file_id, people_met, distance_km, far, model_case, status, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cadre_id,
                team_id,
                group_id,
                place_id,
                day.isoformat(),
                text,
                "voice-file" if voice else None,
                people_met,
                distance_km,
                int(far),
                int(model_case),
                status,
                created,
                created,
            ),
        )
        visit_id = int(cur.lastrowid or 0)
        for kind in kinds:
            await conn.execute(
                "INSERT INTO visit_kinds (visit_id, kind) VALUES (?, ?)", (visit_id, kind)
            )
        for pos in range(photos):
            await conn.execute(
                "INSERT INTO visit_photos (visit_id, position, file_id) VALUES (?, ?, ?)",
                (visit_id, pos, f"ph{visit_id}-{pos}"),
            )
    return visit_id


@dataclass(frozen=True)
class Event:
    at: datetime
    action: str
    actor_id: int | None = None
    from_level: str | None = None
    to_level: str | None = None
    note: str = ""


async def add_problem(
    db: Database,
    reporter_id: int,
    place_id: int,
    created: datetime,
    *,
    level: str = "group",
    status: str = "open",
    deadline: datetime | None = None,
    closed: datetime | None = None,
    owner_id: int | None = None,
    department: str | None = None,
    category: str = "infrastructure",
    description: str = "村道路灯损坏，夜间出行不便",
    urgent: bool = False,
    resolution: str | None = None,
    events: Iterable[Event] = (),
) -> int:
    team_id, group_id = await _team_group(db, reporter_id)
    deadline = deadline or created + timedelta(days=7)
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO problems (reporter_id, team_id, group_id, place_id, category,"
            " description, urgent, level, status, owner_id, department, level_since, deadline,"
            " resolution, closed_at, watch, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reporter_id,
                team_id,
                group_id,
                place_id,
                category,
                description,
                int(urgent),
                level,
                status,
                owner_id,
                department,
                to_text(created),
                to_text(deadline),
                resolution,
                to_text(closed) if closed else None,
                int(status == "explained"),
                to_text(created),
                to_text(closed or created),
            ),
        )
        problem_id = int(cur.lastrowid or 0)
        all_events = [Event(created, "raise", reporter_id, None, "group"), *events]
        for e in all_events:
            await conn.execute(
                "INSERT INTO problem_events (problem_id, at, actor_id, action, from_level,"
                " to_level, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (problem_id, to_text(e.at), e.actor_id, e.action, e.from_level, e.to_level, e.note),
            )
    return problem_id


@dataclass(frozen=True)
class November:
    """The hand-computed month of tests/test_reports*.py (see ``november``)."""

    visits: dict[str, int]
    problems: dict[str, int]


async def november(db: Database, seed: Seed) -> November:
    """A small November 2026 whose numbers are worked out by hand in the tests.

    Visits (active unless said): cadre1 v1 11-02 policy+survey; cadre1 v1 11-02 service;
    cadre1 c1 11-05 party; cadre2 e1 11-03 enterprise, model case; cadre3 v2 11-10
    policy; cadre4 v3 11-04 stability+policy; cadre4 v3 11-12 survey WITHDRAWN; leader1
    h1 10-30 policy (October); captain1 v2 11-06 party.

    Problems (now: 2026-11-16 09:00): P1 cadre1 v1 raised 11-02, group, open, deadline
    11-09 (overdue, unclaimed); P2 cadre3 v2 raised 11-03, team, claimed by captain1,
    deadline 11-30; P3 cadre4 v3 raised 10-20, solved 11-05 at group; P4 cadre2 e1
    raised 11-04, explained 11-10 at group; P5 cadre4 e2 raised 10-01, office, open,
    with 县水利局, deadline 11-01 (overdue), urgent; P6 cadre1 c1 raised 09-01, solved
    09-20.
    """
    c, p = seed.cadres, seed.places
    v = {
        "v1": await add_visit(db, c["cadre1"], p["v1"], date(2026, 11, 2), ("policy", "survey")),
        "v2": await add_visit(db, c["cadre1"], p["v1"], date(2026, 11, 2), ("service",)),
        "v3": await add_visit(db, c["cadre1"], p["c1"], date(2026, 11, 5), ("party",)),
        "v4": await add_visit(
            db,
            c["cadre2"],
            p["e1"],
            date(2026, 11, 3),
            ("enterprise",),
            model_case=True,
            text="帮助建材厂对接银行贷款，解决流动资金难题",
            people_met=6,
            photos=2,
        ),
        "v5": await add_visit(db, c["cadre3"], p["v2"], date(2026, 11, 10), ("policy",)),
        "v6": await add_visit(db, c["cadre4"], p["v3"], date(2026, 11, 4), ("stability", "policy")),
        "v7": await add_visit(
            db, c["cadre4"], p["v3"], date(2026, 11, 12), ("survey",), status="withdrawn"
        ),
        "v8": await add_visit(db, c["leader1"], p["h1"], date(2026, 10, 30), ("policy",)),
        "v9": await add_visit(db, c["captain1"], p["v2"], date(2026, 11, 6), ("party",)),
    }
    pr = {
        "P1": await add_problem(
            db, c["cadre1"], p["v1"], local(2026, 11, 2), deadline=local(2026, 11, 9)
        ),
        "P2": await add_problem(
            db,
            c["cadre3"],
            p["v2"],
            local(2026, 11, 3),
            level="team",
            status="claimed",
            owner_id=c["captain1"],
            deadline=local(2026, 11, 30),
            events=[
                Event(local(2026, 11, 4), "escalate", c["leader2"], "group", "team"),
                Event(local(2026, 11, 5), "claim", c["captain1"]),
            ],
        ),
        "P3": await add_problem(
            db,
            c["cadre4"],
            p["v3"],
            local(2026, 10, 20),
            status="solved",
            closed=local(2026, 11, 5),
            owner_id=c["leader3"],
            resolution="已修复",
            events=[Event(local(2026, 11, 5), "solve", c["leader3"], note="已修复")],
        ),
        "P4": await add_problem(
            db,
            c["cadre2"],
            p["e1"],
            local(2026, 11, 4),
            status="explained",
            closed=local(2026, 11, 10),
            owner_id=c["leader1"],
            resolution="资金不足，已向群众解释",
        ),
        "P5": await add_problem(
            db,
            c["cadre4"],
            p["e2"],
            local(2026, 10, 1),
            level="office",
            department="县水利局",
            deadline=local(2026, 11, 1),
            urgent=True,
            description="茶厂取水口淤塞，需要疏浚",
            events=[
                Event(local(2026, 10, 9), "auto_escalate", None, "group", "team"),
                Event(local(2026, 10, 20), "escalate", c["captain2"], "team", "office"),
            ],
        ),
        "P6": await add_problem(
            db,
            c["cadre1"],
            p["c1"],
            local(2026, 9, 1),
            status="solved",
            closed=local(2026, 9, 20),
        ),
    }
    return November(v, pr)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def has_cjk_font() -> bool:
    """Charts need a Chinese font (Debian: fonts-noto-cjk, which .ci/system-packages
    installs); on a machine without one, the chart checks are skipped, not failed."""
    from reports.chart import NoCJKFont, find_cjk_font

    try:
        find_cjk_font()
    except NoCJKFont:
        return False
    return True
