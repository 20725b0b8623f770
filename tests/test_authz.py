"""The authorisation matrix: every command and every button against every role and a
stranger, built from campaign/roles.py so that a new command or menu button is covered
the day it is added.

A command in a role's ROLE_COMMANDS (GUEST_COMMANDS for a stranger) must do its work in
the private chat or in a group chat (an answer that is not a refusal). A command not in
the list must be refused or ignored in both: only refusal texts (catalogue keys ending
in ``refused``, ``not_allowed``, ``not_joined``, ``unknown_command``, ``stale_button``,
``_in_private``, ``group_chat``) or silence, and no row changed.

Buttons are found, not listed: each member sends /start, /help and /lang, presses every
menu button it was shown, and the buttons on all those answers are collected. Every
button is then pressed by every member and the stranger: one shown to the presser (or a
menu button for a command the presser may use) must work; any other must get an alert
and change nothing.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from telegram.ext import ContextTypes

from bot.app import REPEAT_SECONDS
from campaign import callbacks
from campaign.i18n import LANGUAGES, default_catalog
from campaign.roles import GUEST_COMMANDS, ROLE_COMMANDS, Role
from campaign.settings import Settings
from storage.db import Database
from tests.conftest import AppFactory
from tests.factories import Seed
from tests.fakebot import Call, Harness, StoredMessage, TgUser, shown
from tests.test_hostile import changed, snapshot

# Who plays each role (a key of tests/factories.py CADRES), and a stranger.
PLAYERS: dict[str, str | None] = {
    "cadre": "cadre1",
    "group_leader": "leader1",
    "team_leader": "captain1",
    "deputy_team_leader": "deputy1",
    "office": "office1",
    "inspector": "inspector1",
    "stranger": None,
}
assert set(PLAYERS) - {"stranger"} == {r.value for r in Role}, "a role has no player"
USER_IDS = {name: 801 + i for i, name in enumerate(PLAYERS)}
LOOSE_GROUP = -5005
COMMANDS = sorted(set(GUEST_COMMANDS) | {c for cs in ROLE_COMMANDS.values() for c in cs})
_REFUSAL_KEY = re.compile(
    r"(refused|not_allowed|not_joined|not_joined_short|unknown_command|stale_button"
    r"|_in_private|group_chat|_only|not_for_you|not_for_role|not_field_role)$"
)


def _refusal_prefixes() -> list[str]:
    cat = default_catalog()
    out = []
    for lang in LANGUAGES:
        for key, text in cat.messages[lang].items():
            if _REFUSAL_KEY.search(key):
                out.append(text.split("{", 1)[0].strip())
    return [p for p in out if p]


REFUSALS = _refusal_prefixes()


async def _settle() -> None:
    """Let reports built off the update path (export, chart) finish, so their files are
    not counted as answers to the next command."""
    pending = [
        t for t in asyncio.all_tasks() if t.get_name().startswith("report-") and not t.done()
    ]
    await asyncio.gather(*pending, return_exceptions=True)


def is_refusal(text: str) -> bool:
    return any(text.strip().startswith(p) for p in REFUSALS)


def allowed_commands(player: str) -> tuple[str, ...]:
    return GUEST_COMMANDS if player == "stranger" else ROLE_COMMANDS[Role(player)]


@dataclass
class Matrix:
    bot: Harness
    users: dict[str, TgUser]
    group_of: dict[str, int]  # the group chat each player would use
    errors: list[BaseException]
    database: Path


@pytest.fixture
async def matrix(make_bot: AppFactory, seed: Seed, settings: Settings) -> Matrix:
    bot = await make_bot()
    errors: list[BaseException] = []

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error or RuntimeError("error handler without an error"))

    bot.app.add_error_handler(record)
    users: dict[str, TgUser] = {}
    group_of: dict[str, int] = {}
    for name, key in PLAYERS.items():
        users[name] = TgUser(USER_IDS[name], f"u{name}", "zh-hans")
        if key is not None:
            await bot.contact(users[name], seed.phones[key])
        team = _team_of(seed, key)
        group_of[name] = -3000 - team if team else LOOSE_GROUP
    assert errors == []
    return Matrix(bot, users, group_of, errors, Path(settings.storage.database))


def _team_of(seed: Seed, key: str | None) -> int | None:
    from tests.factories import CADRES

    for k, _, _, _, team, _, _ in CADRES:
        if k == key and team:
            return seed.teams[team]
    return None


def _texts(calls: list[Call], chat: int) -> list[str]:
    texts = [c.text for c in shown(calls) if c.chat_id == chat]
    texts += [c.text for c in calls if c.method == "answerCallbackQuery" and c.text]
    return texts


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("player", list(PLAYERS))
async def test_command(command: str, player: str, matrix: Matrix) -> None:
    user = matrix.users[player]
    allowed = command in allowed_commands(player)
    outcomes: list[tuple[int, list[str], set[str]]] = []
    for chat in (user.id, matrix.group_of[player]):
        before = snapshot(matrix.database)
        calls = await matrix.bot.send(user, f"/{command}", chat_id=chat)
        await _settle()
        rows = changed(before, snapshot(matrix.database))
        outcomes.append((chat, _texts(calls, chat), rows))
        strays = [c.chat_id for c in shown(calls) if c.chat_id != chat]
        assert strays == [], f"/{command} by {player} answered in other chats {strays}"
    assert matrix.errors == [], f"/{command} by {player} raised {matrix.errors!r}"
    if allowed:
        worked = [o for o in outcomes if o[1] and not all(is_refusal(t) for t in o[1])]
        assert worked, f"/{command} is in {player}'s list but was refused: {outcomes!r}"
    else:
        for chat, texts, rows in outcomes:
            refusals_only = all(is_refusal(t) for t in texts)
            assert refusals_only, f"/{command} by {player} in {chat} was not refused: {texts!r}"
            assert rows == set(), f"/{command} by {player} in {chat} changed {sorted(rows)}"


# --- buttons ------------------------------------------------------------------------------


def _buttons(bot: Harness, calls: list[Call]) -> list[tuple[StoredMessage, str]]:
    found = []
    for c in shown(calls):
        for _, data in c.buttons:
            if data and not data.startswith("http"):
                found.append((bot.message_of(c), data))
    return found


async def discover(matrix: Matrix) -> dict[str, dict[str, StoredMessage]]:
    """Per player: every button data shown to them (and the message it was on)."""
    seen: dict[str, dict[str, StoredMessage]] = {}
    for player, user in matrix.users.items():
        mine: dict[str, StoredMessage] = {}
        for command in ("/start", "/help", "/lang"):
            for message, data in _buttons(matrix.bot, await matrix.bot.send(user, command)):
                mine.setdefault(data, message)
        for data, message in list(mine.items()):
            if data.startswith(f"{callbacks.encode('menu', 'x')[:-1]}"):
                calls = await matrix.bot.press(user, data, message)
                for m, d in _buttons(matrix.bot, calls):
                    mine.setdefault(d, m)
        seen[player] = mine
    return seen


# Buttons that start or move a step-by-step report (its draft), by namespace or data.
FLOW_NAMESPACES = {"vis", "prn", "pra"}
FLOW_ENTRIES = {"menu:v1:visit", "menu:v1:problem"}


def _menu_command(data: str) -> str | None:
    try:
        decoded = callbacks.decode(data, "menu")
    except callbacks.CallbackError:
        return None
    return decoded.action


async def test_buttons(matrix: Matrix) -> None:
    seen = await discover(matrix)
    everything = sorted({d for mine in seen.values() for d in mine})
    assert any(d.startswith("menu:") for d in everything) and any(
        d.startswith("lang:") for d in everything
    )
    report: list[str] = []
    for data in everything:
        for player, user in matrix.users.items():
            menu_command = _menu_command(data)
            allowed = data in seen[player] or (
                menu_command is not None and menu_command in allowed_commands(player)
            )
            # A real message of the presser's own chat carries the data (a forger's client
            # can put any data on any message it shows).
            own = next(iter(seen[player].values()), None)
            message = seen[player].get(data, own)
            before = snapshot(matrix.database)
            calls = await matrix.bot.press(user, data, message)
            rows = changed(before, snapshot(matrix.database))
            answers = [c for c in calls if c.method == "answerCallbackQuery"]
            where = f"{data} pressed by {player}"
            if len(answers) != 1:
                report.append(f"{where}: answered {len(answers)} times")
            if matrix.errors:
                report.append(f"{where}: raised {matrix.errors!r}")
                matrix.errors.clear()
            if allowed:
                # A step of a report changes that report's draft, and the buttons of a
                # draft that a later press closed or replaced are rightly refused: the
                # flow tests check those; here only who may press matters.
                flow = data.split(":", 1)[0] in FLOW_NAMESPACES or data in FLOW_ENTRIES
                if flow:
                    rows -= {"drafts"}
                refused = answers and answers[0].params.get("show_alert") and not shown(calls)
                if refused and not flow:
                    report.append(f"{where}: refused although shown to them")
                if rows - {"user_prefs", "cache_generations"}:  # a saved language bumps it
                    report.append(f"{where}: changed {sorted(rows)}")
            else:
                alert = answers[-1].params if answers else {}
                if not alert.get("show_alert") or shown(calls):
                    report.append(f"{where}: not refused ({[c.method for c in calls]})")
                if rows:
                    report.append(f"{where}: changed {sorted(rows)}")
    assert report == [], "\n".join(report)


def test_matrix_covers_every_command_and_role() -> None:
    for role in Role:
        for command in ROLE_COMMANDS[role]:
            assert command in COMMANDS
    assert len(COMMANDS) * len(PLAYERS) >= 35
    assert all(isinstance(p, str) and p for p in REFUSALS)
    assert is_refusal(default_catalog().t("en", "bindchat.team_refused"))
    assert not is_refusal(default_catalog().t("en", "help.intro", role="x"))


# --- re-binding a chat that is already bound (issue 12 #2) ---------------------------------


async def test_rebinding_a_bound_chat(matrix: Matrix, seed: Seed, db: Database) -> None:
    """Every member and the stranger send /bindteam and /bindoffice in a chat bound to
    their own team, to another team and to the office: no binding moves; only the chat's
    own side gets a plain (non-refusal) answer, and it changes nothing."""
    bot, users = matrix.bot, matrix.users
    other_captain = TgUser(899, "ucaptain2", "zh-hans")
    await bot.contact(other_captain, seed.phones["captain2"])
    team_a, team_b, office = -3001 - 700, -3002 - 700, -3900
    await bot.send(users["team_leader"], "/bindteam", chat_id=team_a)
    await bot.send(other_captain, "/bindteam", chat_id=team_b)
    await bot.send(users["office"], "/bindoffice", chat_id=office)
    bound = await _bound(db)
    assert len(bound) == 3
    report: list[str] = []
    for player, user in matrix.users.items():
        own_team = _team_of(seed, PLAYERS[player])
        for chat, owner in (
            (team_a, ("team", seed.teams["T1"])),
            (team_b, ("team", seed.teams["T2"])),
            (office, ("office", None)),
        ):
            for command, kind in (("bindteam", "team"), ("bindoffice", "office")):
                before = snapshot(matrix.database)
                # Past the window in which a repeated group command is not answered again.
                bot.clock.advance(seconds=REPEAT_SECONDS + 1)  # type: ignore[attr-defined]
                calls = await bot.send(user, f"/{command}", chat_id=chat)
                rows = changed(before, snapshot(matrix.database))
                texts = _texts(calls, chat)
                where = f"/{command} by {player} in the {owner[0]} chat of {owner[1]}"
                own_side = kind == owner[0] and (
                    (
                        kind == "team"
                        and own_team == owner[1]
                        and player in ("team_leader", "deputy_team_leader")
                    )
                    or (kind == "office" and player == "office")
                )
                if rows:
                    report.append(f"{where}: changed {sorted(rows)}")
                if own_side:
                    if not texts or any(is_refusal(t) for t in texts):
                        report.append(f"{where}: own chat, answered {texts!r}")
                elif not all(is_refusal(t) for t in texts):
                    report.append(f"{where}: not refused: {texts!r}")
    assert await _bound(db) == bound
    assert matrix.errors == []
    assert report == [], "\n".join(report)


async def _bound(db: Database) -> list[tuple[int, str, int | None]]:
    rows = await db.fetchall("SELECT chat_id, kind, team_id FROM bound_chats ORDER BY chat_id")
    return [(r[0], r[1], r[2]) for r in rows]
