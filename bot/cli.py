"""The ``fieldbot`` command line: run, migrate, roster, invite, unbind, backup, restore,
outbox.

A user mistake (bad config, bad file) prints one line and exits with status 2; no
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import bulletin_cli, report_cli
from bot.commands import COMMANDS, UserError, command, say
from bot.wecom import cli as wecom_cli
from campaign.i18n import default_catalog
from campaign.phones import mask_phone, normalise_phone
from campaign.roster import (
    Roster,
    is_mass_deactivation,
    render_issue,
    roster_rows,
    sheet_label,
    validate,
)
from campaign.settings import (
    Settings,
    SettingsError,
    channels,
    load_settings,
    parse_settings,
    require_token,
)
from campaign.text import stamp
from services.runtime import system_clock
from storage import people
from storage.db import open_database
from storage.roster import ImportResult, active_cadre_count, import_roster, load_roster

if TYPE_CHECKING:  # imported when a roster command runs: openpyxl is slow to load
    from campaign.roster_files import RosterFileError

log = logging.getLogger("fieldbot")

DEFAULT_CONFIG = "config.toml"


def _common(top: bool) -> argparse.ArgumentParser:
    """--config and -v, accepted before or after the subcommand. On subcommands they
    default to nothing, so they never undo what was given before the subcommand."""
    p = argparse.ArgumentParser(add_help=False)
    default = argparse.SUPPRESS
    p.add_argument(
        "--config",
        default=None if top else default,
        help=f"config file (default: {DEFAULT_CONFIG} if present, else the built-in defaults)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", default=False if top else default, help="debug"
    )
    return p


def _version() -> str:
    try:
        return metadata.version("fieldbot")
    except metadata.PackageNotFoundError:
        return "unknown"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fieldbot", description="驻百村连千企进万家 campaign bot", parents=[_common(True)]
    )
    p.add_argument("--version", action="version", version=f"fieldbot {_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    common = [_common(False)]
    sub.add_parser("run", help="run the bot (polling or webhook, as configured)", parents=common)
    sub.add_parser("migrate", help="apply database migrations", parents=common)
    roster = sub.add_parser("roster", help="import or export the roster", parents=common)
    rsub = roster.add_subparsers(dest="roster_command", required=True)
    imp = rsub.add_parser(
        "import", help="import an XLSX workbook or a folder of CSV files", parents=common
    )
    imp.add_argument("path")
    imp.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    imp.add_argument(
        "--allow-mass-deactivation",
        action="store_true",
        help="import even if it would deactivate most active cadres",
    )
    exp = rsub.add_parser(
        "export", help="write the roster (also the template) as XLSX or CSV folder", parents=common
    )
    exp.add_argument("path")
    inv = sub.add_parser("invite", help="make a one-time join link for a cadre", parents=common)
    inv.add_argument("phone")
    unb = sub.add_parser("unbind", help="remove a cadre's Telegram binding", parents=common)
    unb.add_argument("phone")
    sub.add_parser(
        "backup", help="back up the database now (online; the bot may run)", parents=common
    )
    res = sub.add_parser(
        "restore", help="put a backup in place of the database (bot stopped)", parents=common
    )
    res.add_argument("path")
    obx = sub.add_parser(
        "outbox", help="the outgoing queue: counts, parked, unreachable chats", parents=common
    )
    obx.add_argument("--retry", type=int, metavar="ID", help="send a parked item again")
    cpy = sub.add_parser(
        "copy-db",
        help="copy a SQLite database into an empty PostgreSQL one (docs/postgresql.md)",
        parents=common,
    )
    cpy.add_argument("sqlite_file")
    cpy.add_argument("url", help="postgresql://user@host:port/database")
    report_cli.add_parsers(sub, common)
    _plan_parsers(sub, common)
    bulletin_cli.add_parsers(sub, common)
    wecom_cli.add_parsers(sub, common)
    return p


def _plan_parsers(sub: Any, common: list[argparse.ArgumentParser]) -> None:
    """``fieldbot plan template|import|export FILE.xlsx``: the clerk's plan workbook."""
    plan = sub.add_parser("plan", help="work plans: template, import, export", parents=common)
    psub = plan.add_subparsers(dest="plan_command", required=True)
    psub.add_parser("template", help="write the empty plan template", parents=common).add_argument(
        "path"
    )
    imp = psub.add_parser(
        "import", help="check the whole file, then write it (by code)", parents=common
    )
    imp.add_argument("path")
    imp.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    psub.add_parser("export", help="write the plans in force", parents=common).add_argument("path")


def _settings(args: argparse.Namespace) -> Settings:
    """The named config file; without --config, ./config.toml if there is one, else the
    documented defaults (config.example.toml), so a fresh clone runs with only the token."""
    if args.config is not None:
        return load_settings(Path(args.config))
    if Path(DEFAULT_CONFIG).exists():
        return load_settings(Path(DEFAULT_CONFIG))
    return parse_settings({}, "<defaults: no config.toml here>")


def _ensure_database_folder(settings: Settings) -> None:
    """A database in a folder that does not exist yet: make the folder and say so."""
    if settings.storage.url:  # PostgreSQL: no file of ours
        return
    folder = Path(settings.storage.database).parent
    if folder.exists():
        return
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        # Said plainly first; the error itself then stops the start like any other.
        log.error(
            "%s: key 'storage.database' (section [storage]): cannot create the folder %s (%s)",
            settings.source,
            folder,
            exc.strerror or exc,
        )
        raise
    log.info("created the folder %s for the database (storage.database)", folder)


@command("migrate")
async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async with open_database(settings.storage.location, migrate=False) as db:
        applied = await db.migrate()
    print(say(settings, "migrated", count=len(applied)) if applied else say(settings, "up_to_date"))
    return 0


async def _cadre_by_phone_arg(db: people.Database, raw: str, s: Settings) -> people.Cadre:
    phone = normalise_phone(raw)
    if phone is None:
        raise UserError(say(s, "not_a_phone", raw=repr(raw)))
    cadre = await people.cadre_by_phone(db, phone)
    if cadre is None:
        raise UserError(say(s, "no_such_phone", phone=mask_phone(phone)))
    if not cadre.active:
        raise UserError(say(s, "inactive", name=cadre.name))
    return cadre


@command("invite")
async def _invite(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.start import invite_payload

    username = settings.campaign.bot_username.strip().lstrip("@")
    if not username:
        raise UserError(
            f"{settings.source}: key 'campaign.bot_username' is empty; set it to the bot's "
            "username (as @BotFather gave it, without @) to make invite links"
        )
    async with open_database(settings.storage.location) as db:
        cadre = await _cadre_by_phone_arg(db, args.phone, settings)
        ttl = timedelta(hours=settings.campaign.invite_ttl_hours)
        now = system_clock()
        code = await people.create_invite(db, cadre.id, now, ttl)
    expires = stamp(now + ttl, settings.tz)
    link = f"https://t.me/{username}?start={invite_payload(code)}"
    print(
        say(
            settings, "invite_head", name=cadre.name, phone=mask_phone(cadre.phone), expires=expires
        )
    )
    print(say(settings, "invite_code", code=code))
    print(say(settings, "invite_link", link=link))
    return 0


@command("unbind")
async def _unbind(args: argparse.Namespace, settings: Settings) -> int:
    async with open_database(settings.storage.location) as db:
        cadre = await _cadre_by_phone_arg(db, args.phone, settings)
        old = await people.unbind(db, cadre.id, system_clock())
    if old is None:
        print(say(settings, "no_binding", name=cadre.name))
    else:
        print(say(settings, "unbound", name=cadre.name))
    return 0


def _changes_line(result: ImportResult, lang: str) -> str:
    catalog = default_catalog()
    parts = [
        catalog.t(
            lang,
            "roster.changes",
            sheet=sheet_label(sheet, lang),
            added=c.added,
            updated=c.updated,
            deactivated=c.deactivated,
        )
        for sheet, c in result.by_sheet().items()
    ]
    return catalog.t(lang, "roster.changes_sep").join(parts)


def _file_error(exc: RosterFileError, lang: str) -> UserError:
    return UserError(default_catalog().t(lang, f"roster.file.{exc.key}", **exc.params))


@command("roster import")
def _roster_import(args: argparse.Namespace, settings: Settings) -> int:
    from campaign.roster_files import RosterFileError, read_roster

    lang, catalog = settings.campaign.language, default_catalog()
    path = Path(args.path)
    try:
        sheets = read_roster(path)
    except RosterFileError as exc:
        raise _file_error(exc, lang) from None
    checked = validate(sheets)
    for issue in checked.warnings:
        text = render_issue(issue, catalog, lang)
        print(catalog.t(lang, "roster.warning", text=text), file=sys.stderr)
    if checked.roster is None:
        for issue in checked.errors:
            print(render_issue(issue, catalog, lang), file=sys.stderr)
        raise UserError(catalog.t(lang, "roster.failed", count=len(checked.errors)))
    database = settings.storage.location
    if args.dry_run and not settings.storage.url and not Path(database).exists():
        database = ":memory:"  # a dry run compares with an empty roster, creates no file

    async def apply(roster: Roster) -> ImportResult:
        async with open_database(database) as db:
            now = system_clock()
            if not args.dry_run and not args.allow_mass_deactivation:
                active = await active_cadre_count(db)
                trial = await import_roster(db, roster, now, source=str(path), dry_run=True)
                if is_mass_deactivation(active, trial.cadres.deactivated):
                    raise UserError(
                        catalog.t(
                            lang,
                            "roster.mass_deactivation",
                            count=trial.cadres.deactivated,
                            active=active,
                        )
                    )
            return await import_roster(db, roster, now, source=str(path), dry_run=args.dry_run)

    result = asyncio.run(apply(checked.roster))
    key = "roster.dry_run" if result.dry_run else "roster.imported"
    print(catalog.t(lang, key, changes=_changes_line(result, lang)))
    return 0


@command("roster export")
def _roster_export(args: argparse.Namespace, settings: Settings) -> int:
    from campaign.roster_files import RosterFileError, check_target, write_roster

    async def load() -> Roster:
        async with open_database(settings.storage.location) as db:
            return await load_roster(db)

    lang = settings.campaign.language
    try:
        check_target(Path(args.path))
        roster = asyncio.run(load())
        path = write_roster(Path(args.path), roster_rows(roster))
    except RosterFileError as exc:
        raise _file_error(exc, lang) from None
    print(default_catalog().t(lang, "roster.exported", path=path, **roster.counts()))
    return 0


@command("backup")
async def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from storage.backup import BackupError, backup

    s = settings.storage
    try:
        if s.url:  # PostgreSQL: pg_dump (storage/pg_ops.py)
            from storage.pg_ops import dump

            result = dump(s.url, s.backup_dir, s.backup_keep, system_clock())
        else:
            result = await backup(s.database, s.backup_dir, s.backup_keep, system_clock())
    except BackupError as exc:
        raise UserError(str(exc)) from None
    seconds = f"{result.seconds:.2f}"
    print(say(settings, "backup_written", path=result.path, size=result.size, seconds=seconds))
    for old in result.removed:
        print(say(settings, "backup_removed", name=old.name, keep=s.backup_keep))
    return 0


@command("restore")
def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from storage.backup import BackupError, check_backup, restore_file

    if settings.storage.url:  # PostgreSQL: pg_restore in one transaction
        from storage.pg_ops import restore

        try:
            restore(args.path, settings.storage.url)
        except BackupError as exc:
            raise UserError(str(exc)) from None
        print(say(settings, "restored_pg", path=args.path))
        print(say(settings, "restored_next"))
        return 0
    try:
        level = check_backup(args.path)
        aside = restore_file(args.path, settings.storage.database, system_clock())
    except BackupError as exc:
        raise UserError(str(exc)) from None
    database = settings.storage.database
    print(say(settings, "restored", path=args.path, database=database, level=f"{level:04d}"))
    if aside is not None:
        print(say(settings, "restored_aside", aside=aside))
    print(say(settings, "restored_next"))
    return 0


@command("outbox")
async def _outbox(args: argparse.Namespace, settings: Settings) -> int:
    from storage import outbox

    async with open_database(settings.storage.location) as db:
        if args.retry is not None:
            async with db.write() as conn:
                before = await outbox.requeue(conn, args.retry, system_clock())
                if before == "parked":
                    await people.audit(conn, "outbox_retry", subject=f"outbox:{args.retry}")
            if before is None:
                raise UserError(say(settings, "outbox_no_item", id=args.retry))
            if before != "parked":
                raise UserError(say(settings, "outbox_not_parked", id=args.retry, status=before))
            print(say(settings, "outbox_requeued", id=args.retry))
            return 0
        counts = await outbox.counts(db)
        listed = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(say(settings, "outbox_queue", counts=listed or say(settings, "outbox_empty")))
        items, total = await outbox.parked(db, 50)
        print(say(settings, "outbox_parked", count=total))
        for it in items:
            when = stamp(it.created_at, settings.tz)
            print(
                say(
                    settings,
                    "outbox_item",
                    id=it.id,
                    when=when,
                    method=it.method,
                    chat=it.chat_id,
                    tries=it.attempts,
                )
            )
            print(f"      {it.last_error}")
        chats, n = await outbox.unreachable(db, 50)
        print(say(settings, "outbox_unreachable", count=n))
        for c in chats:
            since = stamp(c.since, settings.tz)
            print(
                say(
                    settings,
                    "outbox_unreachable_item",
                    chat=c.chat_id,
                    since=since,
                    reason=c.reason,
                )
            )
    return 0


def _plan_months(settings: Settings) -> Any:
    from services.plan_files import campaign_months

    return campaign_months(settings, system_clock().astimezone(settings.tz).date())


@command("plan template")
def _plan_template(args: argparse.Namespace, settings: Settings) -> int:
    from campaign.roster_files import RosterFileError
    from services.plan_files import write_template

    lang = settings.campaign.language
    try:
        write_template(Path(args.path), default_catalog(), lang, _plan_months(settings))
    except RosterFileError as exc:
        raise _file_error(exc, lang) from None
    print(default_catalog().t(lang, "plans.cli.template", path=args.path))
    return 0


@command("plan import")
def _plan_import(args: argparse.Namespace, settings: Settings) -> int:
    from campaign.plan_files import read_plans
    from campaign.roster_files import RosterFileError
    from services import plan_files

    lang, catalog = settings.campaign.language, default_catalog()
    try:
        rows = read_plans(Path(args.path))
    except RosterFileError as exc:
        raise _file_error(exc, lang) from None

    async def run() -> plan_files.ImportResult:
        async with open_database(settings.storage.location) as db:
            checked = await plan_files.check(db, rows, _plan_months(settings))
            if checked.issues:
                for issue in checked.issues:
                    print(plan_files.render_issue(issue, catalog, lang), file=sys.stderr)
                raise UserError(catalog.t(lang, "plans.cli.failed", count=len(checked.issues)))
            return await plan_files.apply(db, checked, system_clock(), args.dry_run)

    result = asyncio.run(run())
    key = "plans.cli.dry_run" if result.dry_run else "plans.cli.imported"
    print(catalog.t(lang, key, added=result.added, updated=result.updated))
    return 0


@command("plan export")
def _plan_export(args: argparse.Namespace, settings: Settings) -> int:
    from campaign.roster_files import RosterFileError
    from services import plan_files

    lang, catalog = settings.campaign.language, default_catalog()

    async def run() -> int:
        async with open_database(settings.storage.location) as db:
            months = _plan_months(settings)
            return await plan_files.export(db, Path(args.path), catalog, lang, months)

    try:
        count = asyncio.run(run())
    except RosterFileError as exc:
        raise _file_error(exc, lang) from None
    print(catalog.t(lang, "plans.cli.exported", path=args.path, count=count))
    return 0


@command("run")
def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runner import run

    if channels(settings) == ("wecom",):  # WeCom alone: no Telegram token needed
        return wecom_cli.run_alone(settings)
    require_token(settings)
    return run(settings)


@command("copy-db")
def _copy_db(args: argparse.Namespace, settings: Settings) -> int:
    from storage.backup import BackupError
    from storage.pg_ops import copy_sqlite_sync

    try:
        result = copy_sqlite_sync(args.sqlite_file, args.url)
    except BackupError as exc:
        raise UserError(str(exc)) from None
    total = sum(result.rows.values())
    print(say(settings, "copied_db", rows=total, tables=len(result.rows)))
    return 0


# The commands that set a database up make its folder themselves, with a log line and
# a clear refusal when they cannot; the others leave that to storage (silently).
_SETS_UP = frozenset({"run", "migrate", "wecom run"})


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from bot.logs import setup_logging

    try:
        settings = _settings(args)
        w = settings.wecom  # the WeCom app's secrets are kept out of the log too
        setup_logging(
            logging.DEBUG if args.verbose else logging.INFO,
            [
                settings.telegram.token.get(),
                w.secret.get(),
                w.token.get(),
                w.encoding_aes_key.get(),
            ],
        )
        name = args.command if args.command != "roster" else f"roster {args.roster_command}"
        if args.command == "plan":
            name = f"plan {args.plan_command}"
        if args.command == "wecom":
            name = f"wecom {args.wecom_command}"
        fn = COMMANDS.get(name)
        if fn is None:
            raise UserError(f"command {name!r} is not available")
        if settings.source.startswith("<defaults"):
            log.info("no config.toml here: the defaults documented in config.example.toml apply")
        if name in _SETS_UP:
            _ensure_database_folder(settings)
        result = fn(args, settings)
        if asyncio.iscoroutine(result):
            return int(asyncio.run(result))
        return int(result)  # type: ignore[arg-type]
    except (SettingsError, UserError) as exc:
        print(f"fieldbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:  # through the log, so the redaction of token and phones applies
        log.critical("fieldbot stopped by an unexpected error", exc_info=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
