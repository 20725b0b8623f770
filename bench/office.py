#!/usr/bin/env python3
"""The office's reports at a county's full year, through the real Application.

    python bench/office.py [DB] [--runs N] [--only-plans]

DB defaults to a temporary file; when it does not exist it is filled by
``fieldbot demo-data`` (1,000 cadres, 300 places, 250,000 visits, 20,000 problems) in a
separate process, so the generator's memory is not counted here. Prints:

- /summary for a month and for the year, /coverage, /overdue: p50 and p95 of the time
  the office waits for the reply (the update through the Application, the report read
  in a worker thread on its own read-only connection);
- /export of the year: from the command to the workbook delivered, and /chart;
- the p95 reply time of a cadre sending /help every 50 ms while the export runs, and
  the same without an export running;
- peak memory (RSS) of this process;
- work plans at county scale (every group × 12 months × 10 items, added once to the
  database): /summary of a month (with plan completion) and /plan for a team leader.

Targets: month summary p95 <= 50 ms, year <= 300 ms; year export <= 15 s; a cadre's
reply p95 <= 100 ms during the export; peak RSS <= 250 MB; with plans, month summary
p95 <= 50 ms and a team's /plan p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_application  # noqa: E402
from campaign.i18n import default_catalog  # noqa: E402
from campaign.periods import parse_period  # noqa: E402
from campaign.plans import PlanRow, month_end  # noqa: E402
from campaign.reporting import Scope  # noqa: E402
from campaign.settings import Settings, StorageSettings, TelegramSettings  # noqa: E402
from handlers import reports as report_handlers  # noqa: E402
from services import plan_reports  # noqa: E402
from services import reports as report_service  # noqa: E402
from storage import plans as plan_store  # noqa: E402
from storage.db import Database, database_for  # noqa: E402
from tests.fakebot import TOKEN, FakeBotAPI, FakeClock, Harness, TgUser  # noqa: E402

NOW = datetime(2026, 12, 31, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, ms: list[float], target: float | None = None) -> str:
    p50, p95 = statistics.median(ms), pct(ms, 95)
    verdict = "" if target is None else ("  ok" if p95 <= target else f"  OVER {target:.0f} ms")
    return f"{name:<34} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   (n={len(ms)}){verdict}"


def make_data(path: Path) -> None:
    config = path.with_suffix(".toml")
    config.write_text(f'[storage]\ndatabase = "{path}"\n', encoding="utf-8")
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))",
            *("--config", str(config), "demo-data", str(path), "--whole-year"),
        ],
        check=True,
        cwd=ROOT,
    )
    print(f"demo data written in {time.perf_counter() - started:.1f} s")


async def timed(bot: Harness, u: TgUser, text: str) -> float:
    started = time.perf_counter()
    calls = await bot.send(u, text)
    elapsed = (time.perf_counter() - started) * 1000
    if not calls:
        raise SystemExit(f"{text!r} got no answer")
    return elapsed


async def run(path: Path | str, runs: int, only_plans: bool = False) -> None:
    settings = Settings(
        telegram=TelegramSettings(rate_limit=False),
        storage=StorageSettings(database=str(path)),
    )
    clock = FakeClock(NOW)
    api = FakeBotAPI(clock)
    db = database_for(path)  # a postgresql:// address: PostgreSQL
    await db.open()
    await db.migrate()
    app = build_application(
        settings, token=TOKEN, db=db, request=api, updates_request=api, clock=clock
    )
    await app.initialize()
    try:
        await measure(app, api, clock, db, runs, only_plans)
    finally:
        await app.shutdown()
        await db.close()


async def measure(
    app: Any, api: FakeBotAPI, clock: FakeClock, db: Database, runs: int, only_plans: bool
) -> None:
    bot = Harness(app, api, clock)
    # A database benched before remembers its update ids; carry on after them.
    seen = await db.fetchone("SELECT COALESCE(MAX(update_id), 0) AS n FROM processed_updates")
    bot._update_ids = itertools.count(int(seen["n"] if seen else 0) + 1)
    office_phone = await db.fetchone("SELECT phone FROM cadres WHERE role = 'office' LIMIT 1")
    cadre_phone = await db.fetchone("SELECT phone FROM cadres WHERE role = 'cadre' LIMIT 1")
    assert office_phone and cadre_phone, "no office member or cadre in the demo data"
    office, cadre = TgUser(90001), TgUser(90002)
    await bot.contact(office, office_phone["phone"])
    await bot.contact(cadre, cadre_phone["phone"])
    counts = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM visits) AS v, (SELECT COUNT(*) FROM problems) AS p,"
        " (SELECT COUNT(*) FROM cadres) AS c, (SELECT COUNT(*) FROM places) AS pl"
    )
    assert counts is not None
    print(
        f"data: {counts['c']} cadres, {counts['pl']} places, {counts['v']} visits, "
        f"{counts['p']} problems; now = {NOW:%Y-%m-%d %H:%M %Z}"
    )

    if only_plans:
        await measure_plans(bot, db, office, runs)
        return
    for text in ("/summary 2026-12", "/summary 2026"):  # warm the page cache
        await timed(bot, office, text)
    print(
        line(
            "/summary 2026-12 (a month)",
            [await timed(bot, office, "/summary 2026-12") for _ in range(runs)],
            50,
        )
    )
    print(
        line(
            "/summary 2026 (the year)",
            [await timed(bot, office, "/summary 2026") for _ in range(runs)],
            300,
        )
    )
    print(
        line(
            "/coverage 2026-12",
            [await timed(bot, office, "/coverage 2026-12") for _ in range(runs)],
        )
    )
    print(line("/coverage 2026", [await timed(bot, office, "/coverage 2026") for _ in range(runs)]))
    print(line("/overdue", [await timed(bot, office, "/overdue") for _ in range(runs)]))
    idle = [await timed(bot, cadre, "/help") for _ in range(runs * 2)]
    print(line("cadre /help, nothing else running", idle))

    for text, label, target in (("/export 2026", "export", 15.0), ("/chart 2026", "chart", None)):
        sent_before = len(api.calls)
        started = time.perf_counter()
        await bot.send(office, text)
        during: list[float] = []
        while report_handlers._jobs(app):
            during.append(await timed(bot, cadre, "/help"))
            await asyncio.sleep(0.05)
        await report_handlers.wait_for_jobs(app)
        took = time.perf_counter() - started
        delivered = [
            c for c in api.calls[sent_before:] if c.method in ("sendDocument", "sendPhoto")
        ]
        verdict = "" if target is None else ("  ok" if took <= target else f"  OVER {target:.0f} s")
        print(f"{text + ' (delivered)':<34} {took:8.2f} s   files sent: {len(delivered)}{verdict}")
        if during:
            print(line(f"cadre /help during {label}", during, 100 if label == "export" else None))

    await measure_plans(bot, db, office, runs)

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdict = "  ok" if rss_mb <= 250 else "  OVER 250 MB"
    print(f"{'peak RSS of this process':<34} {rss_mb:8.1f} MB{verdict}")


PLAN_MONTHS = 12
PLAN_ITEMS = 10  # per group and month


async def seed_plans(db: Database) -> int:
    """Every group × 12 months × 10 items, owned by one or two of its members; about a
    fifth done, some overdue. Added once: a database benched before keeps its plans."""
    have = await db.fetchone("SELECT COUNT(*) AS n FROM plan_items")
    if have is not None and have["n"]:
        return int(have["n"])
    groups = await db.fetchall("SELECT id, team_id FROM groups ORDER BY id")
    members: dict[int, list[int]] = {}
    for r in await db.fetchall("SELECT id, group_id FROM cadres WHERE group_id IS NOT NULL"):
        members.setdefault(int(r["group_id"]), []).append(int(r["id"]))
    rows = []
    for g in groups:
        owners = members.get(int(g["id"])) or []
        if not owners:
            continue
        for m in range(1, PLAN_MONTHS + 1):
            month = f"2026-{m:02d}"
            for n in range(PLAN_ITEMS):
                k = (int(g["id"]) * 131 + m * 17 + n) % 100
                rows.append(
                    PlanRow(
                        row=0,
                        code=f"B{int(g['id']):03d}-{m:02d}-{n:02d}",
                        team_id=int(g["team_id"]),
                        group_id=int(g["id"]),
                        place_id=None,
                        month=month,
                        due_date=month_end(month),
                        title=f"计划事项 {m}月 第{n + 1}项",
                        measure="走访 10 户",
                        target=10.0,
                        unit="户",
                        kind=None,
                        owners=tuple(owners[(n + i) % len(owners)] for i in range(1 + n % 2)),
                        status="done" if k < 20 or m < 11 and k < 80 else None,
                        cancel_reason="",
                    )
                )
    started = time.perf_counter()
    await plan_store.import_rows(db, rows, NOW)
    print(f"plans written: {len(rows)} items in {time.perf_counter() - started:.1f} s")
    return len(rows)


async def measure_plans(bot: Harness, db: Database, office: TgUser, runs: int) -> None:
    items = await seed_plans(db)
    groups = await db.fetchone("SELECT COUNT(*) AS n FROM groups")
    leader = await db.fetchone("SELECT phone FROM cadres WHERE role = 'team_leader' LIMIT 1")
    assert leader is not None and groups is not None, "no team leader in the demo data"
    captain = TgUser(90003)
    await bot.contact(captain, leader["phone"])
    print(f"plans: {items} items ({groups['n']} groups x {PLAN_MONTHS} months x {PLAN_ITEMS})")
    for text in ("/summary 2026-12", "/plan 2026-12"):  # warm
        await timed(bot, office if text.startswith("/summary") else captain, text)
    print(
        line(
            "/summary 2026-12 with plans",
            [await timed(bot, office, "/summary 2026-12") for _ in range(runs)],
            50,
        )
    )
    ask = report_service.Ask(
        db_path=db.path,
        settings=Settings(),
        catalog=default_catalog(),
        lang="zh-CN",
        scope=Scope.everything(),
        period=parse_period("2026-12", NOW.date()),
        now=NOW,
    )
    section: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        plan_reports.summary_section(ask)
        section.append((time.perf_counter() - started) * 1000)
    print(line("  of which the plan lines", section))
    print(
        line(
            "/plan 2026-12 (a team leader)",
            [await timed(bot, captain, "/plan 2026-12") for _ in range(runs)],
            50,
        )
    )
    print(
        line(
            "/plan (the office, by team)", [await timed(bot, office, "/plan") for _ in range(runs)]
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("db", nargs="?", help="database file (default: a new temporary one)")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--only-plans", action="store_true", help="measure the plans only")
    p.add_argument(
        "--db",
        dest="pg",
        metavar="postgresql://...",
        help="also run every figure on PostgreSQL: the SQLite data copied (copy-db) into a"
        " scratch database on that server, printed after SQLite's",
    )
    args = p.parse_args()
    if args.db:
        path = Path(args.db).resolve()
    else:
        path = Path(tempfile.mkdtemp(prefix="fieldbot-bench-")) / "office.sqlite3"
    if not path.exists():
        make_data(path)
    print(f"== SQLite ({path}); load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    asyncio.run(run(path, args.runs, args.only_plans))
    if args.pg:
        run_pg(path, args.pg, args.runs, args.only_plans)


def run_pg(path: Path, server: str, runs: int, only_plans: bool) -> None:
    """The same figures on PostgreSQL, from a copy of the SQLite data."""
    import uuid

    from storage.pg_ops import copy_sqlite
    from tests.pgtest import _admin, with_database

    name = f"fieldbot_office_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server, f"CREATE DATABASE {name}"))
    try:
        url = with_database(server, name)
        asyncio.run(copy_sqlite(path, url))
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        print(f"== PostgreSQL (a copy of the same data); load {load}")
        asyncio.run(run(url, runs, only_plans))
    finally:
        asyncio.run(_admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


if __name__ == "__main__":
    main()
