#!/usr/bin/env python3
"""How long raising problems and the overdue climb take on this machine.

Raises N problems (each one transaction with its draft, event, cards and notices), then
moves them all up with ``services.problems.escalate_overdue`` as the scheduler would,
twice (the second run must move nothing), and runs the scheduler's deadline check
(colour warnings, queued through the outbox) twice at the same moment: the second has
nothing new to queue. Prints wall time and the trips to the SQLite writing thread
(each aiosqlite call, or fsync of the WAL in a thread, is one hand-over, about 80 us on
2 cores) of every phase, with the load; asserts nothing on time. A repeated deadline
check should take a few ms. Each phase starts after a full garbage collection.

    python3 bench/escalate.py [N]
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign.i18n import default_catalog  # noqa: E402
from campaign.settings import Settings  # noqa: E402
from scheduler.runner import check_deadlines  # noqa: E402
from services import problems as problem_service  # noqa: E402
from services.runtime import Deps  # noqa: E402
from storage import drafts, people, problems  # noqa: E402
from storage.db import open_database, utcnow_text  # noqa: E402

TRIPS = [0]


def count_trips() -> None:
    """Count every hand-over to a thread: each call into aiosqlite's thread (one queue
    put each), and each fsync of the WAL sent to a thread of the loop's pool."""
    import aiosqlite.core

    real = aiosqlite.core.Connection._execute
    real_to_thread = asyncio.to_thread

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        TRIPS[0] += 1
        return await real(self, fn, *args, **kwargs)

    async def to_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
        TRIPS[0] += 1
        return await real_to_thread(fn, *args, **kwargs)

    aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]
    asyncio.to_thread = to_thread  # type: ignore[assignment]


def settled() -> tuple[float, int]:
    """The start of a timed phase: a full collection first, so that one the earlier
    phases made due does not land in this one (one took 21 ms of a 31 ms deadline check),
    as ``timeit`` keeps collections out of what it times."""
    gc.collect()
    return time.perf_counter(), TRIPS[0]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def main(n: int) -> None:
    count_trips()
    print(f"load before: {load()}")
    settings, catalog = Settings(), default_catalog()
    start = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        async with open_database(Path(folder) / "bench.sqlite3") as db:
            now_text = utcnow_text()
            async with db.write() as conn:
                await conn.execute("INSERT INTO teams (id, code, name) VALUES (1, 'T1', '一队')")
                await conn.execute(
                    "INSERT INTO groups (id, code, name, team_id) VALUES (1, 'G1', '一组', 1)"
                )
                await conn.execute(
                    "INSERT INTO places (id, code, kind, name, group_id)"
                    " VALUES (1, 'V1', 'village', '东风村', 1)"
                )
                for cid, role, group in (
                    (1, "cadre", 1),
                    (2, "group_leader", 1),
                    (3, "team_leader", None),
                    (4, "office", None),
                ):
                    await conn.execute(
                        "INSERT INTO cadres (id, name, phone, role, team_id, group_id,"
                        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            cid,
                            f"c{cid}",
                            f"+86138{cid:08d}",
                            role,
                            1 if role != "office" else None,
                            group,
                            now_text,
                            now_text,
                        ),
                    )
                    await conn.execute(
                        "INSERT INTO telegram_bindings VALUES (?, ?, 'contact', ?)",
                        (cid, 1000 + cid, now_text),
                    )
                await conn.execute(
                    "INSERT INTO bound_chats (chat_id, kind, team_id, bound_by, bound_at)"
                    " VALUES (-1001, 'team', 1, 3, ?)",
                    (now_text,),
                )
            reporter = await people.cadre_by_id(db, 1)
            assert reporter is not None
            new = problems.NewProblem(1, "infrastructure", "道路塌陷" * 20, False, True)
            deps = Deps(settings, db, catalog, clock=lambda: start)
            t0, trips0 = settled()
            for i in range(n):
                draft = await drafts.start(db, "problem", 1, 1001 + i, 1001, "summary", {}, start)
                await problem_service.raise_problem(
                    deps,
                    draft_id=draft.id,
                    reporter=reporter,
                    new=new,
                    chat_id=1001,
                    lang="zh-CN",
                )
            raised, raise_trips = time.perf_counter() - t0, TRIPS[0] - trips0
            later = start + timedelta(days=8)
            t0, trips0 = settled()
            moved = await problem_service.escalate_overdue(deps, later)
            climbed, climb_trips = time.perf_counter() - t0, TRIPS[0] - trips0
            t0, trips0 = settled()
            again = await problem_service.escalate_overdue(deps, later)
            idle, idle_trips = time.perf_counter() - t0, TRIPS[0] - trips0
            checks = []
            for _ in range(2):  # past the new deadlines: every problem gets its red warning
                t0, trips0 = settled()
                queued_now = await check_deadlines(deps, later + timedelta(days=30))
                checks.append((time.perf_counter() - t0, TRIPS[0] - trips0, queued_now))
            row = await db.fetchone("SELECT COUNT(*) AS n FROM outbox")
            queued = row["n"] if row else 0
    print(f"problems raised:            {n}")
    print(
        f"raise, per problem:         {raised / n * 1000:.2f} ms ({raised:.2f} s total),"
        f" {raise_trips / n:.1f} trips each"
    )
    print(
        f"escalate_overdue moved:     {len(moved)} in {climbed:.2f} s"
        f" ({climbed / max(len(moved), 1) * 1000:.2f} ms, "
        f"{climb_trips / max(len(moved), 1):.1f} trips each; {climb_trips} trips)"
    )
    print(
        f"second run at the same now: moved {len(again)} in {idle * 1000:.1f} ms,"
        f" {idle_trips} trips"
    )
    for k, (took, trips, q) in enumerate(checks, 1):
        verdict = "" if k == 1 else ("  ok" if took <= 0.02 else "  missed (target <= 20 ms)")
        print(
            f"deadline check #{k}:          queued {q} in {took * 1000:.1f} ms,"
            f" {trips} trips{verdict}"
        )
    print(f"outbox items queued:        {queued}")
    print(f"load after: {load()}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
