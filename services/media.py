"""The kept media of visits and problems, written out: ``fieldbot export-media PERIOD
DIR`` copies every saved file of the period into DIR/<team>/<group>/<cadre>/<date>/,
named as the report workbook's column names it, with an ``index.xlsx`` listing each
file, its folder and its record."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from campaign.i18n import Catalog
from campaign.media import export_name, folder_name
from campaign.periods import Period
from campaign.problem_cards import number
from campaign.settings import Settings
from reports.xlsxstream import HEADER, StreamingWorkbook
from storage import media
from storage.db import Database
from storage.media import SavedFile

INDEX = "index.xlsx"
_WIDTHS = (30, 40, 14, 12, 9, 11, 12, 6, 12)


@dataclass(frozen=True)
class Exported:
    files: int  # copied
    missing: int  # saved once, but no longer in the media folder
    index: Path


def _folder(f: SavedFile) -> Path:
    return (
        Path(folder_name(f.team_id, f.team_name))
        / folder_name(f.group_id, f.group_name)
        / folder_name(f.cadre_id, f.cadre_name)
        / f.day.isoformat()
    )


def _source(root: Path, relative: str) -> Path | None:
    """The saved file, if it is (still) inside the media folder."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


def _copy_all(root: Path, out: Path, files: list[SavedFile]) -> list[tuple[SavedFile, Path, bool]]:
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for f in files:
        where = _folder(f)
        src = _source(root, f.path)
        if src is not None:
            (out / where).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, out / where / export_name(f.owner, f.owner_id, f.kind, f.id))
        done.append((f, where, src is not None))
    return done


def _index(
    path: Path, rows: list[tuple[SavedFile, Path, bool]], catalog: Catalog, lang: str
) -> None:
    t = partial(catalog.t, lang)
    with path.open("wb") as out, StreamingWorkbook(out) as wb:
        sheet = wb.sheet(t("media.export.sheet"), _WIDTHS, freeze_rows=1)
        keys = ("file", "folder", "team", "group", "cadre", "date", "record", "kind", "size")
        sheet.append([t(f"media.export.{k}") for k in keys], style=HEADER)
        sheet.filter_from(1)
        for f, where, present in rows:
            name = export_name(f.owner, f.owner_id, f.kind, f.id)
            record = (
                t("media.export.visit", id=f.owner_id)
                if f.owner == "visit"
                else t("media.export.problem", number=number(f.owner_id))
            )
            sheet.append(
                [
                    name if present else f"{name} {t('media.export.missing')}",
                    where.as_posix(),
                    f.team_name,
                    f.group_name,
                    f.cadre_name,
                    f.day,
                    record,
                    t(f"media.export.{f.kind}"),
                    f.size,
                ]
            )


async def export(
    db: Database, settings: Settings, catalog: Catalog, lang: str, period: Period, out: Path
) -> Exported:
    """Copy the period's saved files into ``out`` and write its index."""
    files = await media.saved_between(db, period.start, period.end, settings.tz)
    where = settings.media.folder_for(settings.storage.database)
    root = Path(where) if where else out / ".none"
    rows = await asyncio.to_thread(_copy_all, root, out, files)
    index = out / INDEX
    await asyncio.to_thread(_index, index, rows, catalog, lang)
    copied = sum(1 for _, _, present in rows if present)
    return Exported(copied, len(rows) - copied, index)
