"""The report roll-ups of migration 0027 (visits per cadre per day and per month, kinds
per month) agree with the visits after random changes, and /summary read from them
gives the same numbers as counting the visits themselves, for whole months, odd days
and ranges across months, in every scope."""

from __future__ import annotations

import random
from datetime import date, datetime

from campaign.periods import parse_period, split_months
from campaign.reporting import Scope, quota_share
from campaign.settings import Settings
from storage import reports as q
from storage.db import Database
from tests.factories import Seed
from tests.report_factories import SHANGHAI, add_problem, add_visit, november

NOW = datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI)
KINDS = ["policy", "survey", "party", "service", "stability", "enterprise"]
# Around two month ends, so that whole months and odd days both get visits.
DAYS = [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)]
DAYS += [date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 3)]


async def _random_changes(db: Database, seed: Seed, rng: random.Random, steps: int) -> None:
    """Inserts, withdrawals, moves (day, cadre, team, group), kind edits and deletes."""
    cadres = [seed.cadres[k] for k in ("cadre1", "cadre2", "cadre4", "captain1")]
    places = [seed.places["v1"], seed.places["h1"]]
    ids: list[int] = []
    for _ in range(steps):
        op = rng.random()
        if op < 0.4 or not ids:
            ids.append(
                await add_visit(
                    db,
                    rng.choice(cadres),
                    rng.choice(places),
                    rng.choice(DAYS),
                    rng.sample(KINDS, rng.randint(1, 3)),
                    status=rng.choice(["active", "active", "withdrawn"]),
                )
            )
            continue
        v = rng.choice(ids)
        async with db.write() as conn:
            if op < 0.55:
                await conn.execute(
                    "UPDATE visits SET status = ? WHERE id = ?",
                    (rng.choice(["active", "withdrawn"]), v),
                )
            elif op < 0.65:
                await conn.execute(
                    "UPDATE visits SET visit_date = ?, team_id = ?, group_id = ? WHERE id = ?",
                    (
                        rng.choice(DAYS).isoformat(),
                        rng.choice([seed.teams["T1"], seed.teams["T2"], None]),
                        rng.choice([seed.groups["G1"], None]),
                        v,
                    ),
                )
            elif op < 0.72:
                await conn.execute(
                    "UPDATE visits SET cadre_id = ? WHERE id = ?", (rng.choice(cadres), v)
                )
            elif op < 0.8:
                await conn.execute("DELETE FROM visit_kinds WHERE visit_id = ?", (v,))
                for k in rng.sample(KINDS, rng.randint(1, 3)):
                    await conn.execute(
                        "INSERT INTO visit_kinds (visit_id, kind) VALUES (?, ?)", (v, k)
                    )
            elif op < 0.9:
                await conn.execute("DELETE FROM visits WHERE id = ?", (v,))
                ids.remove(v)
            else:
                await conn.execute("UPDATE visits SET text = 'edited' WHERE id = ?", (v,))


def _rows(found: list[object]) -> list[tuple[object, ...]]:
    return sorted(tuple(r) for r in found)  # type: ignore[call-overload]


async def test_roll_ups_follow_every_change(db: Database, seed: Seed) -> None:
    await _random_changes(db, seed, random.Random(11), 300)
    days = await db.fetchall(
        "SELECT visit_date, cadre_id, IFNULL(team_id, 0), IFNULL(group_id, 0), COUNT(*)"
        " FROM visits WHERE status = 'active' GROUP BY 1, 2, 3, 4"
    )
    kept_days = await db.fetchall(
        "SELECT visit_date, cadre_id, team_id, group_id, visits FROM report_cadre_days"
    )
    assert _rows(days) == _rows(kept_days)
    assert len(days) > 10
    months = await db.fetchall(
        "SELECT substr(visit_date, 1, 7), cadre_id, IFNULL(team_id, 0), IFNULL(group_id, 0),"
        " COUNT(*), COUNT(DISTINCT visit_date) FROM visits WHERE status = 'active'"
        " GROUP BY 1, 2, 3, 4"
    )
    kept_months = await db.fetchall(
        "SELECT month, cadre_id, team_id, group_id, visits, days FROM report_cadre_months"
    )
    assert _rows(months) == _rows(kept_months)
    assert {r[0] for r in months} == {"2026-10", "2026-11", "2026-12"}
    kinds = await db.fetchall(
        "SELECT substr(v.visit_date, 1, 7), IFNULL(v.team_id, 0), IFNULL(v.group_id, 0),"
        " k.kind, COUNT(*) FROM visits v JOIN visit_kinds k ON k.visit_id = v.id"
        " WHERE v.status = 'active' GROUP BY 1, 2, 3, 4"
    )
    kept_kinds = await db.fetchall(
        "SELECT month, team_id, group_id, kind, visits FROM report_kind_months WHERE visits != 0"
    )
    assert _rows(kinds) == _rows(kept_kinds)


async def test_summary_from_roll_ups_equals_counting_visits(db: Database, seed: Seed) -> None:
    await november(db, seed)
    await _random_changes(db, seed, random.Random(5), 150)
    await add_problem(
        db, seed.cadres["cadre1"], seed.places["v1"], datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
    )
    settings = Settings()
    scopes = [
        Scope.everything(),
        Scope.team(seed.teams["T1"]),
        Scope.group(seed.groups["G1"], seed.teams["T1"]),
    ]
    periods = ["2026-11", "2026-Q4", "2026", "2026-W45", "2026-10-31..2026-12-01", "2026-11-30"]
    for text in periods:
        period = parse_period(text, NOW.date())
        for scope in scopes:
            for rows_kind in (None, "team", "group", "cadre"):
                with q.reading(db.path) as conn:
                    fast, slow = (
                        q.summary(
                            conn,
                            scope,
                            period,
                            now=NOW,
                            tz=settings.tz,
                            per_cadre=quota_share(period, settings.quotas),
                            rows_kind=rows_kind,
                            rollups=rollups,
                        )
                        for rollups in (True, False)
                    )
                assert fast == slow, (text, scope, rows_kind)
    with q.reading(db.path) as conn:
        year = q.cadre_work(conn, Scope.everything(), parse_period("2026", NOW.date()))
    assert sum(w.visits for w in year) > 10


def test_split_months() -> None:
    s = split_months(date(2026, 12, 1), date(2027, 1, 1))
    assert (s.first_month, s.last_month, s.spans) == ("2026-12", "2026-12", ())
    s = split_months(date(2026, 1, 1), date(2027, 1, 1))
    assert (s.first_month, s.last_month, s.spans) == ("2026-01", "2026-12", ())
    s = split_months(date(2026, 11, 5), date(2027, 1, 3))
    assert (s.first_month, s.last_month) == ("2026-12", "2026-12")
    assert s.spans == (
        (date(2026, 11, 5), date(2026, 12, 1)),
        (date(2027, 1, 1), date(2027, 1, 3)),
    )
    s = split_months(date(2026, 11, 30), date(2026, 12, 7))
    assert (s.first_month, s.spans) == (None, ((date(2026, 11, 30), date(2026, 12, 7)),))
    assert split_months(date(2026, 11, 1), date(2026, 11, 1)).spans == ()
