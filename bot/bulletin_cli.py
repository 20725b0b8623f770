"""``fieldbot bulletin export N``: a bulletin (快报, 第 N 期) as its Word document."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.commands import UserError, command, say
from campaign.settings import Settings
from services import bulletin_issues
from services.runtime import Deps
from storage.db import open_database


def add_parsers(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    bul = sub.add_parser(
        "bulletin",
        parents=parents,
        help="the numbered bulletin (快报)",
        description="Write bulletin No. N as a Word document (--out, or bulletin-N.docx).",
    )
    bul.add_argument("action", choices=("export",))
    bul.add_argument("number", type=int)
    bul.add_argument("--out", help="file to write (default: bulletin-N.docx)")


async def _export(settings: Settings, number: int, out: Path) -> Path | None:
    async with open_database(settings.storage.location) as db:
        return await bulletin_issues.export(Deps(settings=settings, db=db), number, out)


@command("bulletin")
def _bulletin(args: argparse.Namespace, settings: Settings) -> int:
    path = settings.storage.database
    if not settings.storage.url and not Path(path).exists():
        raise UserError(say(settings, "no_database", path=path))
    out = Path(args.out or f"bulletin-{args.number}.docx")
    written = asyncio.run(_export(settings, args.number, out))
    if written is None:
        raise UserError(say(settings, "no_bulletin", number=args.number))
    print(say(settings, "bulletin_written", number=args.number, path=written))
    return 0
