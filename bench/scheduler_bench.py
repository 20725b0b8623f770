"""How long the scheduled jobs take on a county-sized database; prints the figures.

    .venv/bin/python bench/scheduler_bench.py [--cadres 1000] [--days 90]

Builds a throw-away database like the county's (11 teams, 144 groups, ~1000 cadres all
bound, a visit most working days, a few thousand problems), then times each job's
builder (the "who is due now" query and the rendering), the deadline check, the
bulletin's numbers and an online backup. Nothing is sent; outbox rows are counted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign.schedule import BULLETIN, NUDGE, PACE, PERIOD_END  # noqa: E402
from campaign.settings import Settings, StorageSettings  # noqa: E402
from campaign.workcalendar import WorkCalendar  # noqa: E402
from scheduler.runner import BUILDERS, check_deadlines, plan_by_id  # noqa: E402
from services.runtime import Deps  # noqa: E402
from storage.backup import backup  # noqa: E402
from storage.db import Database, open_database, to_text  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
TEAMS, GROUPS = 11, 144


async def build(db: Database, cadres: int, days: int, today: date) -> None:
    rng = random.Random(7)
    now = to_text(datetime.now(UTC))
    cal = WorkCalendar()
    async with db.write() as conn:
        for t in range(1, TEAMS + 1):
            await conn.execute(
                "INSERT INTO teams (id, code, name) VALUES (?, ?, ?)", (t, f"T{t}", f"第{t}工作队")
            )
        for g in range(1, GROUPS + 1):
            team = (g - 1) % TEAMS + 1
            await conn.execute(
                "INSERT INTO groups (id, code, name, team_id) VALUES (?, ?, ?, ?)",
                (g, f"G{g}", f"第{g}工作组", team),
            )
            await conn.execute(
                "INSERT INTO places (id, code, kind, name, group_id)"
                " VALUES (?, ?, 'village', ?, ?)",
                (g, f"P{g}", f"村{g}", g),
            )
        for c in range(1, cadres + 1):
            group = (c - 1) % GROUPS + 1
            team = (group - 1) % TEAMS + 1
            role = "group_leader" if c <= GROUPS else "cadre"
            await conn.execute(
                "INSERT INTO cadres (id, name, phone, role, team_id, group_id, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (c, f"干部{c}", f"+86139{c:08d}", role, team, group, now, now),
            )
            await conn.execute(
                "INSERT INTO telegram_bindings VALUES (?, ?, 'contact', ?)", (c, 10_000 + c, now)
            )
        await conn.execute(
            "INSERT INTO bound_chats VALUES (-100, 'office', NULL, 'office', 1, ?)", (now,)
        )
        visits = 0
        for back in range(days):
            day = today - timedelta(days=back)
            if not cal.is_workday(day):
                continue
            stamp = to_text(datetime.combine(day, datetime.min.time(), tzinfo=TZ))
            for c in range(1, cadres + 1):
                if rng.random() < 0.6:
                    group = (c - 1) % GROUPS + 1
                    await conn.execute(
                        "INSERT INTO visits (cadre_id, team_id, group_id, place_id, visit_date,"
                        " text, model_case, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, '走访', ?, ?, ?)",
                        (
                            c,
                            (group - 1) % TEAMS + 1,
                            group,
                            group,
                            day.isoformat(),
                            int(rng.random() < 0.002),
                            stamp,
                            stamp,
                        ),
                    )
                    visits += 1
        base = datetime.combine(today, datetime.min.time(), tzinfo=TZ)
        for _ in range(3000):
            c = rng.randint(1, cadres)
            group = (c - 1) % GROUPS + 1
            deadline = base + timedelta(hours=rng.randint(-24 * 20, 24 * 20))
            created = deadline - timedelta(days=7)
            await conn.execute(
                "INSERT INTO problems (reporter_id, team_id, group_id, place_id, category,"
                " description, level, status, level_since, deadline, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'other', '问题', ?, ?, ?, ?, ?, ?)",
                (
                    c,
                    (group - 1) % TEAMS + 1,
                    group,
                    group,
                    rng.choice(["group", "group", "team", "office"]),
                    rng.choice(["open", "open", "solved", "explained"]),
                    to_text(created),
                    to_text(deadline),
                    to_text(created),
                    to_text(created),
                ),
            )
    print(f"database: {cadres} cadres, {visits} visits over {days} days, 3000 problems")


async def timed(label: str, coro: object) -> object:
    started = time.perf_counter()
    result = await coro  # type: ignore[misc]
    ms = (time.perf_counter() - started) * 1000
    if isinstance(result, list):
        size = f"{len(result)} message(s)"
    elif isinstance(result, int):
        size = f"{result} queued"
    else:
        size = ""
    print(f"{label:<34} {ms:9.1f} ms   {size}")
    return result


async def main(cadres: int, days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        settings = Settings(
            storage=StorageSettings(database=str(path), backup_dir=str(Path(tmp) / "backups"))
        )
        async with open_database(path) as db:
            today = date(2026, 11, 26)  # a Thursday, three working days before month end
            started = time.perf_counter()
            await build(db, cadres, days, today)
            print(f"built in {time.perf_counter() - started:.1f} s, {path.stat().st_size} bytes")
            deps = Deps(settings=settings, db=db)

            def at(hh: int, mm: int) -> datetime:
                return datetime.combine(today, datetime.min.time(), tzinfo=TZ).replace(
                    hour=hh, minute=mm
                )

            for job, moment in (
                (NUDGE, at(19, 30)),
                (PACE, at(9, 0)),
                (PERIOD_END, at(9, 0)),
                (BULLETIN, at(8, 30)),
            ):
                plan_by_id(deps, job)
                await timed(f"{job} (builder)", BUILDERS[job](deps, moment, moment))
            await timed("deadline check", check_deadlines(deps, at(10, 0)))
            await timed("deadline check again", check_deadlines(deps, at(10, 15)))
            result = await timed(
                "online backup",
                backup(path, settings.storage.backup_dir, 3, datetime.now(UTC)),
            )
            print(f"backup file: {result.size} bytes")  # type: ignore[attr-defined]


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cadres", type=int, default=1000)
    ap.add_argument("--days", type=int, default=90)
    a = ap.parse_args()
    asyncio.run(main(a.cadres, a.days))
