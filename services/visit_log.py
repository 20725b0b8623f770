"""After the fact: a cadre's progress and latest visits (/my), a group's visits (/group)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from campaign.periods import quarter_of
from campaign.quotas import Progress, month_progress, quarter_progress
from campaign.roles import Role
from campaign.runtime import Deps
from storage import visits
from storage.people import Cadre
from storage.visits import GroupPage, Visit

__all__ = ["GroupPage"]

RECENT = 5  # latest visits on /my
GROUP_DAYS = 30  # how far back /group looks
GROUP_PAGE = 8  # visits on a page of /group


@dataclass(frozen=True)
class MyProgress:
    month: Progress
    quarter: Progress
    recent: list[Visit]  # newest first, withdrawn ones included


async def my_progress(d: Deps, cadre: Cadre, today: date) -> MyProgress:
    """The cadre's progress against the quotas this month and quarter, and latest visits."""
    quarter = quarter_of(today)
    facts = await visits.facts_for(d.db, cadre.id, quarter.start, quarter.end)
    cal = d.calendar()
    month = month_progress(facts, today, d.settings.quotas, cal)
    whole = quarter_progress(facts, today, d.settings.quotas, cal)
    recent = await visits.recent_for_cadre(d.db, cadre.id, RECENT)
    return MyProgress(month, whole, recent)


async def group_page(d: Deps, cadre: Cadre, today: date, page: int) -> GroupPage | None:
    """A page of the visits of the group the cadre leads, dated in the last
    ``GROUP_DAYS`` days, flagged (far) ones first; None if they lead no group."""
    if cadre.role is not Role.GROUP_LEADER or cadre.group_id is None:
        return None
    since = today - timedelta(days=GROUP_DAYS - 1)
    return await visits.group_page(d.db, cadre.group_id, since, page * GROUP_PAGE, GROUP_PAGE)
