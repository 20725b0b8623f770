"""Each person's quotas: [quotas] as the role and the unit make them fit (team leaders
are not held to a field cadre's numbers; a team or group may have its own). /my, the
visit receipt, pace reminders, /summary and the chart all ask here."""

from __future__ import annotations

from collections.abc import Callable

from campaign.quotas import is_uniform, quota_for
from campaign.settings import QuotaSettings
from services.runtime import Deps
from storage import plan_reports
from storage import plans as store
from storage.people import Cadre
from storage.reports import Conn

Resolver = Callable[[str, int | None, int | None], QuotaSettings]


def _resolver(q: QuotaSettings, teams: dict[int, str], groups: dict[int, str]) -> Resolver:
    def resolve(role: str, team_id: int | None, group_id: int | None) -> QuotaSettings:
        team = teams.get(team_id) if team_id is not None else None
        group = groups.get(group_id) if group_id is not None else None
        return quota_for(q, role, team, group)

    return resolve


async def resolver(d: Deps) -> Resolver:
    """Quotas by (role, team id, group id); no query when everyone has the same."""
    q = d.settings.quotas
    if is_uniform(q):
        return lambda role, team_id, group_id: q
    teams, groups = await store.unit_codes(d.db)
    return _resolver(q, teams, groups)


def resolver_on(conn: Conn, q: QuotaSettings) -> Resolver:
    """The same on the reports' snapshot connection."""
    if is_uniform(q):
        return lambda role, team_id, group_id: q
    teams, groups = plan_reports.unit_codes(conn)
    return _resolver(q, teams, groups)


async def for_cadre(d: Deps, cadre: Cadre) -> QuotaSettings:
    resolve = await resolver(d)
    return resolve(cadre.role.value, cadre.team_id, cadre.group_id)
