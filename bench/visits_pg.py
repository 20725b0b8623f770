#!/usr/bin/env python3
# ruff: noqa: E402  (the repository root goes on sys.path first, for tests/fakebot.py)
"""The visit flow on PostgreSQL beside SQLite: ``bench/visits.py --db postgresql://...``.

    .venv/bin/python bench/visits.py --db postgresql://postgres@127.0.0.1:5432/postgres \
        [--cadres 300] [--procs 3] [--concurrency 8] [--photos 1]

Every figure is taken on a scratch database made (and dropped) on the named server, so
the bench never touches data. It prints, in one run:

1. One process, cadre after cadre (as bench/visits.py measures SQLite): updates a
   second, p50/p95/p99 per update and the process's CPU per update, for SQLite (a
   temporary file) and for PostgreSQL; and the statements each update sends to
   PostgreSQL (round trips).
2. Several processes on one PostgreSQL database, as webhook processes behind a proxy:
   ``--procs`` processes, each with its own cadres, each handling ``--concurrency``
   cadres at a time (a process handles many chats at once). Updates a second across
   all of them (every update of every process, over the span from the common start
   to the last one's end), and each process's p50/p95.

Target (issue 18): the visit flow >= 1,000 updates/s across the processes; a missed
target prints "missed". The load of the machine is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.visits import (
    FIRST_USER,
    Ours,
    add_history,
    figures,
    make_roster,
    run_ours,
)
from bot.app import build_application
from campaign.settings import MediaSettings
from storage import pg
from storage.db import database_for
from tests.fakebot import TOKEN, Harness, TgUser
from tests.pgtest import _admin, with_database

TARGET_UPDATES_PER_SECOND = 1000


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


class Counted:
    """Counts the statements PgConn sends (each one round trip to the server)."""

    def __init__(self) -> None:
        self.statements = 0
        self._run = pg.PgConn.run
        self._many = pg.PgConn.executemany

    def __enter__(self) -> Counted:
        counter = self
        run, many = self._run, self._many

        async def counted_run(conn: pg.PgConn, sql: str, params: Any) -> pg.PgCursor:
            counter.statements += 1
            return await run(conn, sql, params)

        async def counted_many(conn: pg.PgConn, sql: str, params: Any) -> pg.PgCursor:
            counter.statements += 1
            return await many(conn, sql, params)

        pg.PgConn.run = counted_run  # type: ignore[method-assign,assignment]
        pg.PgConn.executemany = counted_many  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        pg.PgConn.run = self._run  # type: ignore[method-assign]
        pg.PgConn.executemany = self._many  # type: ignore[method-assign]


# --- one process of several ---------------------------------------------------------------


class Shared(Ours):
    """``Ours`` on a database another process filled: no roster made here."""

    async def open_shared(self) -> None:
        await self.db.open()
        self.app = build_application(
            self.settings,
            token=TOKEN,
            db=self.db,
            request=self.api,
            updates_request=self.api,
            clock=self.clock,
        )
        await self.app.initialize()
        self.h = Harness(self.app, self.api, self.clock)


async def worker(url: str, first: int, count: int, concurrency: int, photos: int) -> None:
    ours = Shared(url, MediaSettings(download=False))
    await ours.open_shared()
    users = [TgUser(FIRST_USER + i, f"u{i}", "zh-hans") for i in range(first, first + count)]
    queue = list(enumerate(users, start=first))
    print("ready", flush=True)
    sys.stdin.readline()  # "go": every process starts at once
    started, cpu = time.perf_counter(), time.process_time()

    async def lane() -> None:
        while queue:
            n, u = queue.pop()
            await ours.visit(u, n, photos)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    ended = time.time()
    await ours.app.shutdown()
    await ours.db.close()
    q = statistics.quantiles(ours.latencies, n=100, method="inclusive")
    print(
        json.dumps(
            {
                "updates": len(ours.latencies),
                "wall": wall,
                "ended": ended,
                "cpu_us": cpu / len(ours.latencies) * 1e6,
                "p50": q[49] * 1000,
                "p95": q[94] * 1000,
            }
        ),
        flush=True,
    )


# --- the bench ----------------------------------------------------------------------------


async def _prepare(url: str, cadres: int, history: int) -> None:
    db = database_for(url)
    await db.open()
    try:
        await db.migrate()
        await make_roster(db, cadres)
        if history:
            await add_history(db, cadres, history)
        async with db.write() as conn:
            await conn.execute("ANALYZE")
    finally:
        await db.close()


def _scratch(server: str) -> tuple[str, str]:
    name = f"fieldbot_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server, f"CREATE DATABASE {name}"))
    return name, with_database(server, name)


def _drop(server: str, name: str) -> None:
    asyncio.run(_admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def several(server: str, procs: int, per_proc: int, concurrency: int, photos: int) -> None:
    name, url = _scratch(server)
    try:
        asyncio.run(_prepare(url, procs * per_proc, 0))
        me = str(Path(__file__).resolve())
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    me,
                    "--worker",
                    url,
                    "--first",
                    str(i * per_proc),
                    "--count",
                    str(per_proc),
                    "--concurrency",
                    str(concurrency),
                    "--photos",
                    str(photos),
                ],  # fmt: skip
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for i in range(procs)
        ]
        for c in children:
            assert c.stdout is not None
            line = c.stdout.readline().strip()
            assert line == "ready", line
        load = _load()
        began = time.time()
        for c in children:
            assert c.stdin is not None
            c.stdin.write("go\n")
            c.stdin.flush()
        results = []
        for c in children:
            out, _ = c.communicate(timeout=1800)
            results.append(json.loads(out.strip().splitlines()[-1]))
        span = max(r["ended"] for r in results) - began
        total = sum(r["updates"] for r in results)
        rate = total / span
        print(
            f"PostgreSQL, {procs} processes x {concurrency} cadres at a time, {per_proc}"
            f" cadres each ({total} updates): {rate:.0f} updates/s across the processes"
            f" (target >= {TARGET_UPDATES_PER_SECOND})"
            + ("  ok" if rate >= TARGET_UPDATES_PER_SECOND else "  missed")
            + f"; load at the start {load}, at the end {_load()}"
        )
        for i, r in enumerate(results):
            print(
                f"  process {i}: {r['updates'] / r['wall']:.0f} updates/s, p50"
                f" {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, CPU {r['cpu_us']:.0f} µs/update"
                " (the whole process: making and parsing the updates too)"
            )
    finally:
        _drop(server, name)


def pg_main(args: argparse.Namespace) -> int:
    """SQLite and PostgreSQL in one run, figures side by side (see the module's text)."""
    server = args.db
    cadres = args.cadres
    rows: list[tuple[str, tuple[float, float, float, float], float]] = []
    load = _load()
    with tempfile.TemporaryDirectory(prefix="fieldbot-bench-") as tmp:
        lat, cpu, _ = asyncio.run(
            run_ours(Path(tmp) / "bench.sqlite3", cadres, None, args.history, args.photos)
        )
        rows.append(("sqlite", figures(lat), sum(cpu) / len(cpu) * 1e6))
    name, url = _scratch(server)
    try:
        with Counted() as counted:
            lat, cpu, _ = asyncio.run(run_ours(url, cadres, None, args.history, args.photos))
        rows.append(("postgresql", figures(lat), sum(cpu) / len(cpu) * 1e6))
        # The roster and the history are counted too; BEGIN and COMMIT are not.
        per_update = counted.statements / len(lat)
    finally:
        _drop(server, name)
    print(
        f"visit flow, one process, cadre after cadre: {cadres} cadres, {args.photos} photo(s)"
        f" a visit; load before {load}, after {_load()}"
    )
    print(f"{'':12}{'updates/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'CPU µs':>9}")
    for label, f, c in rows:
        print(f"{label:12}{f[0]:11.0f}{f[1]:9.2f}{f[2]:9.2f}{f[3]:9.2f}{c:9.0f}")
    print(f"PostgreSQL statements per update (BEGIN and COMMIT not counted): {per_update:.1f}")
    if args.procs:
        several(server, args.procs, args.per_proc or cadres, args.concurrency, args.photos)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description="one process of bench/visits.py --procs")
    p.add_argument("--worker", required=True)
    p.add_argument("--first", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--photos", type=int, default=1)
    args = p.parse_args()
    asyncio.run(worker(args.worker, args.first, args.count, args.concurrency, args.photos))
    return 0


if __name__ == "__main__":
    sys.exit(main())
