"""The month's assessment, on the first working day of the next month (job
``monthly-assessment``): each team leader gets the team's cadres furthest behind, the
office chat the same list by sending unit, and each sending unit's contact who joined
the bot the unit's summary. All through the outgoing queue."""

from __future__ import annotations

from datetime import datetime, timedelta

from campaign.assessment import Level, Member, Score, laggards, rank
from campaign.periods import Period, month_of
from campaign.reporting import quota_share
from campaign.text import MESSAGE_LIMIT, Tr, shorten
from reports.text import number, period_text
from services import assessment, people
from services.jobs import Outgoing, lang_of, local_day, tr
from services.runtime import Deps
from storage import assessment as store

SHOWN = 5  # laggards per team
LISTED = 60  # lines in the office's list


def last_month(deps: Deps, due: datetime) -> Period:
    return month_of(month_of(local_day(deps, due)).start - timedelta(days=1))


def _numbers(s: Score, qv: float, qd: float) -> dict[str, str]:
    tl = s.tallies
    return {
        "score": f"{s.total:.1f}",
        "visits": number(tl["visits"]),
        "qv": number(qv),
        "days": number(tl["days"]),
        "qd": number(qd),
        "raised": number(tl["problems_raised"]),
        "solved": number(tl["problems_solved"]),
        "explained": number(tl["problems_explained"]),
    }


async def monthly_items(deps: Deps, due: datetime, now: datetime) -> list[Outgoing]:
    month = last_month(deps, due)
    scored = await assessment.scores(deps.db, deps.settings, month, now)
    quota = quota_share(month, deps.settings.quotas)
    behind = laggards(scored, quota.visits, quota.days, SHOWN)
    items: list[Outgoing] = []
    for leader in await store.team_leaders(deps.db):
        mine = behind.get(leader.team_id or 0)
        if not mine:
            continue
        t = tr(deps, lang_of(deps, leader.lang))
        lines = [t("monthly.leader_head", team=mine[0][0].team_name, month=period_text(t, month))]
        lines += [
            t("monthly.laggard_line", name=m.name, where=m.group_name or m.team_name,
              **_numbers(s, quota.visits, quota.days))
            for m, s in mine
        ]  # fmt: skip
        key = f"laggards:{month.label}:{leader.cadre_id}"
        items.append(Outgoing(key, leader.chat_id, _one("\n".join(lines))))
    office = await people.office_chat(deps)
    if office is not None and behind:
        t = tr(deps, deps.settings.campaign.language)
        text = _by_unit(t, month, behind, quota.visits, quota.days)
        items.append(Outgoing(f"laggards-office:{month.label}", office.chat_id, text))
    items += await _unit_summaries(deps, month, scored, quota.visits, quota.days)
    return items


def _one(text: str) -> str:
    return shorten(text, MESSAGE_LIMIT - 96, one_line=False)


def _by_unit(
    t: Tr,
    month: Period,
    behind: dict[int, list[tuple[Member, Score]]],
    qv: float,
    qd: float,
) -> str:
    units: dict[str, list[tuple[Member, Score]]] = {}
    for rows in behind.values():
        for m, s in rows:
            units.setdefault(m.unit, []).append((m, s))
    lines = [t("monthly.office_head", month=period_text(t, month), n=SHOWN)]
    for unit in sorted(units, key=lambda u: (u == "", u)):
        lines.append(t("monthly.office_unit", unit=unit or t("monthly.no_unit")))
        for m, s in sorted(units[unit], key=lambda ms: ms[1].total):
            lines.append(
                t("monthly.laggard_line", name=m.name, where=m.team_name, **_numbers(s, qv, qd))
            )
    if len(lines) > LISTED:
        lines = [*lines[:LISTED], t("monthly.more", n=len(lines) - LISTED)]
    return _one("\n".join(lines))


async def _unit_summaries(
    deps: Deps, month: Period, scored: list[tuple[Member, Score]], qv: float, qd: float
) -> list[Outgoing]:
    contacts = await store.unit_contacts(deps.db)
    if not contacts:
        return []
    units = {line.name: line for line in rank(Level.UNIT, scored).lines}
    items = []
    for contact in contacts:
        line = units.get(contact.unit)
        if line is None:
            continue
        t = tr(deps, lang_of(deps, contact.lang))
        lines = [
            t(
                "monthly.unit_head", unit=contact.unit, month=period_text(t, month),
                n=line.cadres, score=f"{line.score.total:.1f}", rank=line.rank, total=len(units),
            )
        ]  # fmt: skip
        mine = sorted(
            ((m, s) for m, s in scored if m.unit == contact.unit), key=lambda ms: -ms[1].total
        )
        lines += [
            t("monthly.unit_line", name=m.name, where=m.team_name, **_numbers(s, qv, qd))
            for m, s in mine
        ]
        key = f"unit-month:{month.label}:{contact.cadre_id}:{contact.unit}"
        items.append(Outgoing(key[:200], contact.chat_id, _one("\n".join(lines))))
    return items
