"""The clerk's plan workbook as use cases: check a whole file against the roster and
the campaign's months, import it (by code: a re-import keeps progress), export what is
in force, and write the empty template. The command line (bot/cli.py) calls these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from campaign.i18n import Catalog
from campaign.plan_files import write_plans
from campaign.plans import (
    KIND_WORDS,
    STATUS_WORDS,
    Issue,
    PlanRow,
    Window,
    check_rows,
    number_text,
    window,
)
from campaign.settings import Settings
from campaign.vocabulary import WORK_KINDS
from storage import plans as store
from storage.db import Database
from storage.plans import ImportResult

_KIND_NAMES = {code: word for word, code in KIND_WORDS.items() if word != code}
_STATUS_NAMES = {"todo": "未开始", "doing": "进行中", "done": "已完成", "cancelled": "已取消"}


def campaign_months(settings: Settings, today: date) -> Window:
    return window(settings.plans.first_month, settings.plans.last_month, today)


@dataclass(frozen=True)
class Checked:
    rows: list[PlanRow]
    issues: list[Issue]


async def check(db: Database, rows: Sequence[Sequence[str]], months: Window) -> Checked:
    """Every row checked against the active roster; nothing written."""
    found, issues = check_rows(rows, await store.load_index(db), months)
    return Checked(found, issues)


async def apply(db: Database, checked: Checked, now: datetime, dry_run: bool) -> ImportResult:
    """Write a file that passed the check, in one transaction (or count, for a dry run)."""
    if checked.issues:
        raise ValueError("a file with mistakes is never written")
    return await store.import_rows(db, checked.rows, now, dry_run=dry_run)


def render_issue(issue: Issue, catalog: Catalog, lang: str) -> str:
    text = catalog.t(lang, f"plans.file.{issue.key}", **issue.params)
    if issue.row:
        return catalog.t(lang, "plans.file.at_row", row=issue.row, text=text)
    return text


def _lists(catalog: Catalog, lang: str, months: Window) -> dict[str, list[str]]:
    return {
        "months": months.months(),
        "kinds": [_KIND_NAMES[k] for k in WORK_KINDS],
        "statuses": [w for w in STATUS_WORDS if w in _STATUS_NAMES.values()],
        "instructions": catalog.t(lang, "plans.template.instructions").split("\n"),
    }


def write_template(path: Path, catalog: Catalog, lang: str, months: Window) -> None:
    write_plans(path, [], **_lists(catalog, lang, months))


async def export(db: Database, path: Path, catalog: Catalog, lang: str, months: Window) -> int:
    """Every item in force (cancelled ones too, with their reason) in the template's
    form, so the file can be corrected and imported again; returns how many."""
    items = await store.all_items(db)
    teams, groups, places, phones = await store.export_refs(db)
    rows = [
        [
            i.code,
            teams.get(i.team_id, ""),
            groups.get(i.group_id, "") if i.group_id else "",
            places.get(i.place_id, "") if i.place_id else "",
            i.month,
            i.due_date.isoformat(),
            i.title,
            i.measure,
            number_text(i.target),
            i.unit,
            _KIND_NAMES.get(i.kind or "", ""),
            "、".join(phones.get(o.id, o.name) for o in i.owners),
            _STATUS_NAMES[i.status],
            i.cancel_reason,
        ]
        for i in items
    ]
    write_plans(path, rows, **_lists(catalog, lang, months))
    return len(rows)
