"""``fieldbot report ...`` and ``fieldbot demo-data ...``: the office's reports from the
command line, and a county's year of realistic data for trying them out."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.commands import UserError, command
from campaign.i18n import LANGUAGES, default_catalog
from campaign.periods import EXAMPLES, PeriodError, month_of, parse_period
from campaign.phones import mask_phone
from campaign.reporting import REPORTS, Scope
from campaign.runtime import system_clock
from campaign.settings import Settings
from reports.chart import NoCJKFont
from services import reports as service
from storage.db import open_database

_DEFAULT_FORMAT = {"export": "xlsx", "chart": "png"}


def add_parsers(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    rep = sub.add_parser(
        "report",
        parents=parents,
        help="print or write an office report",
        description="Reports for the whole county, or one team with --team. Text goes to "
        "standard output (or --out); xlsx and png go to --out or a file named after the "
        "report and period.",
    )
    rep.add_argument("kind", choices=REPORTS)
    rep.add_argument("cadre", nargs="?", help="log: the cadre's name or phone number")
    rep.add_argument("--period", help=f"default: this month; e.g. {EXAMPLES}")
    rep.add_argument("--team", help="a team's code, name or town")
    rep.add_argument("--format", choices=("text", "xlsx", "png"))
    rep.add_argument("--out", help="file to write")
    rep.add_argument("--lang", choices=LANGUAGES, help="default: the campaign's language")
    demo = sub.add_parser(
        "demo-data",
        parents=parents,
        help="fill an empty database with a realistic county year (for trying and benchmarks)",
    )
    demo.add_argument("path", nargs="?", help="database file (default: the configured one)")
    demo.add_argument("--cadres", type=int, default=1000)
    demo.add_argument("--places", type=int, default=300)
    demo.add_argument("--visits", type=int, default=250_000)
    demo.add_argument("--problems", type=int, default=20_000)
    demo.add_argument("--year", type=int, default=2026)
    demo.add_argument("--seed", type=int, default=1)


async def _migrated(path: str) -> None:
    async with open_database(path):
        pass


def _ask(args: argparse.Namespace, settings: Settings) -> service.Ask:
    path = settings.storage.database
    if not Path(path).exists():
        raise UserError(f"no database at {path}")
    asyncio.run(_migrated(path))
    now = system_clock()
    today = now.astimezone(settings.tz).date()
    try:
        period = parse_period(args.period, today) if args.period else month_of(today)
    except PeriodError:
        raise UserError(f"cannot read the period {args.period!r}; try {EXAMPLES}") from None
    scope = Scope.everything()
    if args.team:
        matches, teams = service.find_teams(path, args.team)
        if len(matches) != 1:
            names = ", ".join(t.name for t in (matches or teams))
            raise UserError(f"no single team {args.team!r}; teams: {names}")
        scope = Scope.team(matches[0].id)
    return service.Ask(
        db_path=path,
        settings=settings,
        catalog=default_catalog(),
        lang=args.lang or settings.campaign.language,
        scope=scope,
        period=period,
        now=now,
    )


def _text(args: argparse.Namespace, ask: service.Ask) -> str:
    if args.kind == "log":
        if not args.cadre:
            raise UserError("report log needs the cadre's name or phone number")
        found = service.find_cadres(ask, args.cadre)
        if not found:
            raise UserError(f"no cadre {args.cadre!r}")
        if len(found) > 1:
            lines = [
                f"  {c.name} ({c.team_name} {c.group_name}, {mask_phone(c.phone)})" for c in found
            ]
            raise UserError(
                f"{len(found)} cadres match {args.cadre!r}; give the phone number:\n"
                + "\n".join(lines)
            )
        text = service.log_report(ask, found[0].id)
        assert text is not None  # found within the same scope
        return text
    run = {
        "summary": service.summary_report,
        "coverage": service.coverage_report,
        "overdue": service.overdue_report,
        "cases": service.cases_report,
    }.get(args.kind)
    if run is None:
        raise UserError(f"report {args.kind} has no text form; use --format xlsx or png")
    return run(ask)


@command("report")
def _report(args: argparse.Namespace, settings: Settings) -> int:
    ask = _ask(args, settings)
    fmt = args.format or _DEFAULT_FORMAT.get(args.kind, "text")
    if fmt == "text":
        text = _text(args, ask)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
            print(f"wrote {args.out}")
        else:
            sys.stdout.write(text + "\n")
        return 0
    out = Path(args.out or f"{service.file_stem(ask, args.kind)}.{fmt}")
    if fmt == "xlsx":
        service.export_to_file(ask, out)
    else:
        try:
            out.write_bytes(service.chart_png(ask))
        except NoCJKFont:
            raise UserError(
                "no Chinese font for the chart; apt-get install fonts-noto-cjk (Noto Sans "
                "CJK SC), or set FIELDBOT_CJK_FONT to a font file or family name"
            ) from None
    print(f"wrote {out}")
    return 0


@command("demo-data")
async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import generate

    path = args.path or settings.storage.database
    shown = -1

    def progress(stage: str, done: int, total: int) -> None:
        # One line per tenth: a county-year takes minutes and should not look stuck.
        nonlocal shown
        tenth = 10 * done // total if total else 10
        if stage == "roster":
            print(f"{path}: writing the roster, then {total:,} visits ...", flush=True)
        elif tenth > shown:
            shown = tenth
            print(f"  visits {done:,} / {total:,} ({tenth * 10}%)", flush=True)

    async with open_database(path) as db:
        try:
            counts = await generate(
                db,
                cadres=args.cadres,
                places=args.places,
                visits=args.visits,
                problems=args.problems,
                year=args.year,
                seed=args.seed,
                timezone=settings.campaign.timezone,
                problem_settings=settings.problems,
                now=system_clock(),
                progress=progress,
            )
        except ValueError as exc:
            raise UserError(str(exc)) from None
    print(
        f"{path}: {counts.teams} teams, {counts.groups} groups, {counts.cadres} cadres, "
        f"{counts.places} places, {counts.visits} visits, {counts.problems} problems "
        f"({counts.events} problem events)"
    )
    return 0
