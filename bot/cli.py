"""The ``fieldbot`` command line: run, migrate, roster, invite, unbind.

A user mistake (bad config, bad file) prints one line and exits with status 2; no
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from campaign.phones import mask_phone, normalise_phone
from campaign.runtime import system_clock
from campaign.settings import Settings, SettingsError, load_settings, require_token
from storage import people
from storage.db import open_database

log = logging.getLogger("fieldbot")

Command = Callable[[argparse.Namespace, Settings], Awaitable[int] | int]
_COMMANDS: dict[str, Command] = {}


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        _COMMANDS[name] = fn
        return fn

    return register


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fieldbot", description="驻百村连千企进万家 campaign bot")
    p.add_argument("--config", default="config.toml", help="config file (default: config.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (polling or webhook, as configured)")
    sub.add_parser("migrate", help="apply database migrations")
    roster = sub.add_parser("roster", help="import or export the roster")
    rsub = roster.add_subparsers(dest="roster_command", required=True)
    imp = rsub.add_parser("import", help="import an XLSX workbook or a folder of CSV files")
    imp.add_argument("path")
    imp.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    exp = rsub.add_parser(
        "export", help="write the roster (also the template) as XLSX or CSV folder"
    )
    exp.add_argument("path")
    inv = sub.add_parser("invite", help="make a one-time join link for a cadre")
    inv.add_argument("phone")
    unb = sub.add_parser("unbind", help="remove a cadre's Telegram binding")
    unb.add_argument("phone")
    return p


def _settings(args: argparse.Namespace) -> Settings:
    path = Path(args.config)
    if not path.exists() and args.command != "run":
        example = Path("config.example.toml")
        if example.exists():
            return load_settings(example)
    return load_settings(path)


@command("migrate")
async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async with open_database(settings.storage.database, migrate=False) as db:
        applied = await db.migrate()
    print(f"applied {len(applied)} migration(s)" if applied else "database is up to date")
    return 0


async def _cadre_by_phone_arg(db: people.Database, raw: str) -> people.Cadre:
    phone = normalise_phone(raw)
    if phone is None:
        raise UserError(f"{raw!r} is not a phone number")
    cadre = await people.cadre_by_phone(db, phone)
    if cadre is None:
        raise UserError(f"no cadre with phone {mask_phone(phone)} on the roster")
    if not cadre.active:
        raise UserError(f"cadre {cadre.name} is no longer active on the roster")
    return cadre


@command("invite")
async def _invite(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.start import invite_payload

    async with open_database(settings.storage.database) as db:
        cadre = await _cadre_by_phone_arg(db, args.phone)
        ttl = timedelta(hours=settings.campaign.invite_ttl_hours)
        now = system_clock()
        code = await people.create_invite(db, cadre.id, now, ttl)
    expires = (now + ttl).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    username = settings.campaign.bot_username or "<bot_username>"
    print(f"invite for {cadre.name} ({mask_phone(cadre.phone)}), valid until {expires}:")
    print(f"  code: {code}")
    print(f"  link: https://t.me/{username}?start={invite_payload(code)}")
    return 0


@command("unbind")
async def _unbind(args: argparse.Namespace, settings: Settings) -> int:
    async with open_database(settings.storage.database) as db:
        cadre = await _cadre_by_phone_arg(db, args.phone)
        old = await people.unbind(db, cadre.id, system_clock())
    if old is None:
        print(f"{cadre.name} had no Telegram account bound")
    else:
        print(f"unbound {cadre.name}; they can now join again from another account")
    return 0


@command("run")
def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runner import run

    require_token(settings)
    return run(settings)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from bot.logs import setup_logging

    try:
        settings = _settings(args)
        setup_logging(
            logging.DEBUG if args.verbose else logging.INFO, [settings.telegram.token.get()]
        )
        name = args.command if args.command != "roster" else f"roster {args.roster_command}"
        fn = _COMMANDS.get(name)
        if fn is None:
            raise UserError(f"command {name!r} is not available")
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
