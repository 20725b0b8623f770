#!/usr/bin/env python3
"""How long raising problems and the overdue climb take on this machine.

Raises N problems (each one transaction with its draft, event, cards and notices), then
moves them all up with ``services.problems.escalate_overdue`` as the scheduler would,
twice (the second run must move nothing). Prints the figures; asserts nothing on time.

    python3 bench/escalate.py [N]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign.i18n import default_catalog  # noqa: E402
from campaign.runtime import Deps  # noqa: E402
from campaign.settings import Settings  # noqa: E402
from services import problems as problem_service  # noqa: E402
from storage import drafts, people, problems  # noqa: E402
from storage.db import open_database, utcnow_text  # noqa: E402


async def main(n: int) -> None:
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
            t0 = time.perf_counter()
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
            raised = time.perf_counter() - t0
            later = start + timedelta(days=8)
            t0 = time.perf_counter()
            moved = await problem_service.escalate_overdue(deps, later)
            climbed = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = await problem_service.escalate_overdue(deps, later)
            idle = time.perf_counter() - t0
            row = await db.fetchone("SELECT COUNT(*) AS n FROM outbox")
            queued = row["n"] if row else 0
    print(f"problems raised:            {n}")
    print(f"raise, per problem:         {raised / n * 1000:.2f} ms ({raised:.2f} s total)")
    print(
        f"escalate_overdue moved:     {len(moved)} in {climbed:.2f} s"
        f" ({climbed / max(len(moved), 1) * 1000:.2f} ms each)"
    )
    print(f"second run at the same now: moved {len(again)} in {idle * 1000:.1f} ms")
    print(f"outbox items queued:        {queued}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
