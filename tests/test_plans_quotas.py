"""Quotas that fit: by role (team leaders are not held to a field cadre's numbers) with
per-team and per-group overrides from config, used by /my, pace reminders, /summary."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest

from campaign.i18n import default_catalog
from campaign.periods import parse_period
from campaign.quotas import is_uniform, quota_for
from campaign.reporting import Scope
from campaign.settings import (
    QuotaSettings,
    RoleQuotaSettings,
    Settings,
    SettingsError,
    load_settings,
)
from services import quotas
from services import reports as service
from services.reminders import pace_items
from services.runtime import Deps
from storage.db import Database
from storage.people import Cadre, cadre_by_id
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import FakeClock, Harness
from tests.problem_helpers import last_text
from tests.scheduler_factories import bind_world, local, make_deps

FITTING = QuotaSettings(
    team_leader=RoleQuotaSettings(monthly_visits=2, monthly_days=3),
    overrides=("T2 monthly_visits=5", "G3 monthly_days=6"),
)


def test_the_rule_with_plain_values() -> None:
    assert is_uniform(QuotaSettings()) and not is_uniform(FITTING)
    cadre_t1 = quota_for(FITTING, "cadre", "T1", "G1")
    assert (cadre_t1.monthly_visits, cadre_t1.monthly_days) == (8, 10)
    cadre_g3 = quota_for(FITTING, "cadre", "T2", "G3")
    assert (cadre_g3.monthly_visits, cadre_g3.monthly_days, cadre_g3.quarterly_visits) == (
        5,
        6,
        24,
    )
    captain = quota_for(FITTING, "team_leader", "T2", None)
    assert (captain.monthly_visits, captain.monthly_days) == (2, 3)  # the role wins
    assert quota_for(FITTING, "group_leader", "T1", "G1").monthly_visits == 8


def test_config_reads_and_refuses(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[quotas]\noverrides = ["G1 monthly_visits=4"]\n[quotas.team_leader]\nmonthly_visits = 2\n',
        encoding="utf-8",
    )
    s = load_settings(path)
    assert (
        s.quotas.overrides == ("G1 monthly_visits=4",) and s.quotas.team_leader.monthly_visits == 2
    )
    path.write_text('[quotas]\noverrides = ["G1 monthly_visit=4"]\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="quotas.overrides"):
        load_settings(path)
    path.write_text("[quotas.team_leader]\nmonthly_days = -3\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="quotas.team_leader.monthly_days"):
        load_settings(path)


async def test_my_shows_the_fitting_quota(
    make_bot: object, seed: Seed, db: Database, settings: Settings
) -> None:
    s = dataclasses.replace(settings, quotas=FITTING)
    bot: Harness = await make_bot(quotas=s.quotas)  # type: ignore[operator]
    captain = await join(bot, seed, "captain2", 623)
    text = last_text(await bot.send(captain, "/my"))
    assert "0/2 次" in text and "0/3 天" in text
    cadre = await join(bot, seed, "cadre4", 604)
    text = last_text(await bot.send(cadre, "/my"))
    assert "0/5 次" in text and "0/6 天" in text


async def test_pace_reminders_and_summary_use_them(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    await bind_world(db, seed)
    d: Deps = make_deps(dataclasses.replace(settings, quotas=FITTING), db, clock)
    captain = await quotas.for_cadre(d, await _cadre(d, seed, "captain2"))
    assert captain.monthly_visits == 2
    due = local(2026, 11, 24, 9, 0)  # a Tuesday late in the month: everyone is behind
    clock.set(due)
    items = {i.key: i.text for i in await pace_items(d, due, due)}
    captain_text = next(
        t for k, t in items.items() if k.startswith(f"pace:{seed.cadres['captain2']}:")
    )
    assert "0/2" in captain_text
    ask = service.Ask(
        db_path=db.path,
        settings=d.settings,
        catalog=default_catalog(),
        lang="zh-CN",
        scope=Scope.team(seed.teams["T2"]),
        period=parse_period("2026-11", due.date()),
        now=datetime(2026, 11, 24, 1, 0, tzinfo=due.tzinfo),
    )
    data = service.summary_data(ask)
    # T2: captain2 (2 visits), leader3 and cadre4 in G3 (5 each, the team's override).
    assert data.total.target.visits == pytest.approx(12.0)


async def _cadre(d: Deps, seed: Seed, key: str) -> Cadre:
    found = await cadre_by_id(d.db, seed.cadres[key])
    assert found is not None
    return found
