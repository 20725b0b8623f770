"""The registry of ``fieldbot`` subcommands, apart from the parser so that command
modules (bot/cli.py, bot/report_cli.py) register into it without importing each other."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from campaign.settings import Settings

Command = Callable[[argparse.Namespace, Settings], Awaitable[int] | int]
COMMANDS: dict[str, Command] = {}


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


def say(settings: Settings, key: str, **params: object) -> str:
    """A command-line message from the catalogue (``cli.<key>``), in the campaign's
    language: zh-CN unless the config says otherwise."""
    from campaign.i18n import default_catalog

    return default_catalog().t(settings.campaign.language, f"cli.{key}", **params)
