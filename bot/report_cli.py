"""``fieldbot report ...`` and ``fieldbot demo-data ...``: the office's reports from the
command line, and a county's year of realistic data for trying them out."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.commands import UserError, command, say
from campaign.assessment import Level
from campaign.i18n import LANGUAGES, default_catalog
from campaign.periods import EXAMPLES, PeriodError, month_of, parse_period
from campaign.phones import mask_phone
from campaign.reporting import REPORTS, Scope
from campaign.settings import Settings
from reports.chart import NoCJKFont
from services import assessment
from services import reports as service
from services.export_parts import ExportFailed
from services.runtime import system_clock
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
    rep.add_argument("kind", choices=(*REPORTS, "rank"))
    rep.add_argument("cadre", nargs="?", help="log: the cadre's name or phone number")
    rep.add_argument("--period", help=f"default: this month; e.g. {EXAMPLES}")
    rep.add_argument("--team", help="a team's code, name or town")
    rep.add_argument("--format", choices=("text", "xlsx", "png"))
    rep.add_argument("--out", help="file to write")
    rep.add_argument("--lang", choices=LANGUAGES, help="default: the campaign's language")
    rep.add_argument(
        "--level",
        choices=[lv.value for lv in Level],
        default=Level.CADRE.value,
        help="rank: what to rank as text (xlsx has every level)",
    )
    demo = sub.add_parser(
        "demo-data",
        parents=parents,
        help="fill an empty database with a realistic county year (for trying and benchmarks)",
    )
    demo.add_argument(
        "path",
        nargs="?",
        help="database file or postgresql:// address (default: the configured one)",
    )
    demo.add_argument("--cadres", type=int, default=1000)
    demo.add_argument("--places", type=int, default=300)
    demo.add_argument("--visits", type=int, default=250_000)
    demo.add_argument("--problems", type=int, default=20_000)
    demo.add_argument("--year", type=int, default=2026)
    demo.add_argument("--seed", type=int, default=1)
    med = sub.add_parser(
        "export-media",
        parents=parents,
        help="copy the kept photos and voice notes of a period into a folder, with index.xlsx",
    )
    med.add_argument("period", help=f"e.g. {EXAMPLES}")
    med.add_argument("dir", help="an empty or new folder: DIR/team/group/cadre/date/")
    med.add_argument("--lang", choices=LANGUAGES, help="default: the campaign's language")
    demo.add_argument(
        "--whole-year",
        action="store_true",
        help="fill the whole year even past today (benchmarks that pretend it is 31 December)",
    )


async def _migrated(path: str) -> None:
    async with open_database(path):
        pass


def _existing(settings: Settings) -> str:
    """What to open: ``[storage] url`` when set, else the file, which must be there."""
    if settings.storage.url:
        return settings.storage.url
    path = settings.storage.database
    if not Path(path).exists():
        raise UserError(say(settings, "no_database", path=path))
    return path


def _ask(args: argparse.Namespace, settings: Settings) -> service.Ask:
    path = _existing(settings)
    asyncio.run(_migrated(path))
    now = system_clock()
    today = now.astimezone(settings.tz).date()
    try:
        period = parse_period(args.period, today) if args.period else month_of(today)
    except PeriodError:
        raise UserError(
            say(settings, "bad_period", period=repr(args.period), examples=EXAMPLES)
        ) from None
    scope = Scope.everything()
    if args.team:
        matches, teams = service.find_teams(path, args.team)
        if len(matches) != 1:
            names = ", ".join(t.name for t in (matches or teams))
            raise UserError(say(settings, "no_single_team", team=repr(args.team), names=names))
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
            raise UserError(say(ask.settings, "log_needs_cadre"))
        found = service.find_cadres(ask, args.cadre)
        if not found:
            raise UserError(say(ask.settings, "no_cadre", cadre=repr(args.cadre)))
        if len(found) > 1:
            lines = [
                f"  {c.name} ({c.team_name} {c.group_name}, {mask_phone(c.phone)})" for c in found
            ]
            raise UserError(
                say(ask.settings, "many_cadres", count=len(found), cadre=repr(args.cadre))
                + "\n"
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
        raise UserError(say(ask.settings, "no_text_form", kind=args.kind))
    return run(ask)


def _rank(args: argparse.Namespace, ask: service.Ask) -> int:
    """``fieldbot report rank``: the county's assessment ranking (text: one level; xlsx:
    cadres, groups, teams and sending units, every component)."""
    fmt = args.format or "text"
    if fmt == "png":
        raise UserError(say(ask.settings, "rank_formats"))
    if fmt == "text":
        text = assessment.rank_report(
            ask.db_path, ask.settings, ask.catalog, ask.lang, ask.period, Level(args.level), ask.now
        )
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
            print(say(ask.settings, "wrote", path=args.out))
        else:
            sys.stdout.write(text + "\n")
        return 0
    out = Path(args.out or f"{service.file_stem(ask, 'rank')}.xlsx")
    with out.open("wb") as f:
        assessment.rank_workbook(
            f, ask.db_path, ask.settings, ask.catalog, ask.lang, ask.period, ask.now
        )
    print(say(ask.settings, "wrote", path=out))
    return 0


@command("report")
def _report(args: argparse.Namespace, settings: Settings) -> int:
    ask = _ask(args, settings)
    if args.kind == "rank":
        return _rank(args, ask)
    fmt = args.format or _DEFAULT_FORMAT.get(args.kind, "text")
    if fmt == "text":
        text = _text(args, ask)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
            print(say(settings, "wrote", path=args.out))
        else:
            sys.stdout.write(text + "\n")
        return 0
    out = Path(args.out or f"{service.file_stem(ask, args.kind)}.{fmt}")
    if fmt == "xlsx":
        try:
            service.export_to_file(ask, out)
        except ExportFailed as e:
            raise UserError(say(settings, "export_failed", reason=e)) from None
    else:
        try:
            out.write_bytes(service.chart_png(ask))
        except NoCJKFont:
            raise UserError(say(settings, "no_font")) from None
    print(say(settings, "wrote", path=out))
    return 0


@command("demo-data")
async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import generate

    path = args.path or settings.storage.location
    shown = -1

    def progress(stage: str, done: int, total: int) -> None:
        # One line per tenth: a county-year takes minutes and should not look stuck.
        nonlocal shown
        tenth = 10 * done // total if total else 10
        if stage == "roster":
            print(say(settings, "demo_start", path=path, total=f"{total:,}"), flush=True)
        elif tenth > shown:
            shown = tenth
            line = say(
                settings, "demo_progress", done=f"{done:,}", total=f"{total:,}", pct=tenth * 10
            )
            print(line, flush=True)

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
                now=None if args.whole_year else system_clock(),
                progress=progress,
            )
        except ValueError as exc:
            raise UserError(str(exc)) from None
    print(
        say(
            settings,
            "demo_done",
            path=path,
            teams=counts.teams,
            groups=counts.groups,
            cadres=counts.cadres,
            places=counts.places,
            visits=counts.visits,
            problems=counts.problems,
            events=counts.events,
        )
    )
    return 0


@command("export-media")
def _export_media(args: argparse.Namespace, settings: Settings) -> int:
    from services import media

    path = _existing(settings)
    today = system_clock().astimezone(settings.tz).date()
    try:
        period = parse_period(args.period, today)
    except PeriodError:
        raise UserError(
            say(settings, "bad_period", period=repr(args.period), examples=EXAMPLES)
        ) from None
    out = Path(args.dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(say(settings, "export_media_not_empty", folder=out))
    lang = args.lang or settings.campaign.language

    async def run() -> media.Exported:
        async with open_database(path) as db:
            return await media.export(db, settings, default_catalog(), lang, period, out)

    done = asyncio.run(run())
    missing = say(settings, "export_media_missing", n=done.missing) if done.missing else ""
    print(
        say(
            settings,
            "export_media_done",
            files=done.files,
            folder=out,
            index=done.index,
            missing=missing,
        )
    )
    return 0
