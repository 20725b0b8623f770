"""``fieldbot wecom sync|menu|appchat``: the WeCom channel's set-up from the command line.

- ``sync``: map every roster phone not mapped yet to its directory userid
  (``user/getuserid``); run it after each roster import. A member not synced is still
  looked up on their first message.
- ``menu``: set the app menu (the WeCom form of Telegram's command list); ``run`` sets it
  too at every start.
- ``appchat TEAM|office``: make the app group chat (``appchat``) of a team (its members
  bound through WeCom) or of the office, and bind it as that team's or the office's chat:
  notices go there as plain text, cards with buttons to the owners individually.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands import UserError, command
from campaign.i18n import default_catalog
from campaign.phones import mask_phone
from campaign.settings import Settings
from services import people as people_service
from services.people import BindVerdict
from services.runtime import Deps, system_clock
from storage import people, wecom
from storage.db import Database, open_database


def add_parsers(sub: Any, common: list[argparse.ArgumentParser]) -> None:
    w = sub.add_parser("wecom", help="the WeCom channel: sync, menu, appchat", parents=common)
    wsub = w.add_subparsers(dest="wecom_command", required=True)
    wsub.add_parser("run", help="run the WeCom channel only", parents=common)
    wsub.add_parser("sync", help="map roster phones to WeCom userids", parents=common)
    wsub.add_parser("menu", help="set the WeCom app menu", parents=common)
    chat = wsub.add_parser(
        "appchat", help="make and bind a team's or the office's chat", parents=common
    )
    chat.add_argument("which", help="a team code (T1) or 'office'")


def _t(settings: Settings, key: str, **values: object) -> str:
    return default_catalog().t(settings.campaign.language, f"wecom.cli.{key}", **values)


def _enabled(settings: Settings) -> None:
    if not settings.wecom.enabled:
        raise UserError(_t(settings, "not_enabled"))


def _deps(settings: Settings, db: Database) -> Deps:
    return Deps(settings=settings, db=db, catalog=default_catalog(), clock=system_clock)


def run_alone(settings: Settings) -> int:
    """Run the WeCom channel, holding the database as ``fieldbot run`` does."""
    import asyncio
    import contextlib

    from bot.wecom.channel import serve
    from storage.backup import BackupError, hold_database

    _enabled(settings)
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(hold_database(settings.storage.database, shared=False))
        except BackupError as exc:
            raise UserError(str(exc)) from None
        asyncio.run(serve(settings))
    return 0


@command("wecom run")
def _run(args: argparse.Namespace, settings: Settings) -> int:
    from campaign.settings import channels

    if "telegram" in channels(settings):  # two processes would both drain the queue
        raise UserError("[wecom] telegram = true: 'fieldbot run' runs both channels")
    return run_alone(settings)


@command("wecom sync")
async def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot.wecom.channel import api_for
    from services import wecom as identity

    _enabled(settings)
    api = api_for(settings)
    try:
        async with open_database(settings.storage.location) as db:
            result = await identity.sync(_deps(settings, db), api.get_userid)
    finally:
        await api.close()
    print(
        _t(
            settings,
            "synced",
            mapped=result.mapped,
            missing=len(result.missing),
            failed=result.failed,
        )
    )
    for phone in result.missing:
        print(_t(settings, "missing_line", phone=mask_phone(phone)))
    return 0


@command("wecom menu")
async def _menu(args: argparse.Namespace, settings: Settings) -> int:
    from bot.wecom.channel import api_for, app_menu

    _enabled(settings)
    api = api_for(settings)
    try:
        await api.create_menu(app_menu(default_catalog(), settings.campaign.language))
    finally:
        await api.close()
    print(_t(settings, "menu_set"))
    return 0


async def make_appchat(d: Deps, api: Any, which: str) -> tuple[str, str, int, str] | None:
    """Create the app chat of a team (by code) or the office and bind it as a leader of
    it (or an office member) would with /bindteam or /bindoffice; returns (name, chatid,
    members, kind), or None when fewer than two of it joined through WeCom."""
    db = d.db
    if which.lower() == "office":
        kind, name = "office", "活动办"
        cadres = await people.cadres_where(db, "c.role = 'office' AND c.active = 1")
        binders = cadres
    else:
        row = await db.fetchone("SELECT id, name FROM teams WHERE code = ?", (which,))
        if row is None:
            raise UserError(f"no team with the code {which!r}")
        kind, name = "team", str(row["name"])
        cadres = await people.cadres_where(db, "c.team_id = ? AND c.active = 1", (row["id"],))
        binders = await people.team_leaders(db, int(row["id"]))
    members = await wecom.members_of_cadres(db, [c.id for c in cadres])
    by = next((c for c in binders if c.id in members), None)
    userids = list(dict.fromkeys(members.values()))
    if by is None or len(userids) < 2:  # WeCom's app chat needs two members at least
        return None
    chatid = await api.create_appchat(name, members[by.id], userids)
    account = await wecom.save_account(db, wecom.APPCHAT, chatid, None, d.now())
    bound = await people_service.bind_chat(d, account.internal_id, kind, name, by)
    if bound.verdict not in (BindVerdict.BIND, BindVerdict.ALREADY):
        raise UserError(f"the chat could not be bound: {bound.verdict.value}")
    return name, chatid, len(userids), kind


@command("wecom appchat")
async def _appchat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.wecom.channel import api_for

    _enabled(settings)
    api = api_for(settings)
    try:
        async with open_database(settings.storage.location) as db:
            made = await make_appchat(_deps(settings, db), api, args.which)
    finally:
        await api.close()
    if made is None:
        print(_t(settings, "appchat_none", name=args.which))
        return 1
    name, chatid, members, kind = made
    print(_t(settings, "appchat_made", name=name, chatid=chatid, members=members, kind=kind))
    return 0
