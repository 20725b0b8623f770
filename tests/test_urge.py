"""督办 (issue 15): the office and a team leader urge an open problem below them from
/ledger and /overdue; the owner is told at once, the card and history show it, urged
problems sort first in the owner's /ledger; repeated, forged and stale presses refused."""

from __future__ import annotations

from typing import Any

from campaign import callbacks
from campaign.i18n import default_catalog
from storage.db import Database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import Harness
from tests.problem_helpers import alert, deliver, raise_via_chat
from tests.visits_support import texts

CAT = default_catalog()


def zh(key: str, **values: Any) -> str:
    return CAT.t("zh-CN", key, **values)


async def _urges(db: Database) -> list[tuple[Any, ...]]:
    rows = await db.fetchall("SELECT problem_id, actor_id, level FROM problem_urges ORDER BY id")
    return [tuple(r) for r in rows]


async def _urge_events(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM problem_events WHERE action = 'urge'")
    assert row is not None
    return int(row["n"])


async def test_office_urges_an_overdue_team_problem_and_sees_it_in_the_history(
    bot: Harness, seed: Seed, db: Database
) -> None:
    reporter = await join(bot, seed, "cadre1", 601)
    captain = await join(bot, seed, "captain1", 621)
    office = await join(bot, seed, "office1", 631)
    await raise_via_chat(bot, reporter, solvable=False)  # P-1 at the team
    await deliver(bot, db)
    bot.clock.advance(days=30)  # type: ignore[attr-defined]
    calls = await bot.send(office, "/overdue")
    assert zh("urge.offer_overdue", count=1) in texts(calls)
    calls = await bot.tap(office, "督办 P-1")
    assert alert(calls) == zh("urge.done", number="P-1", count=1)
    assert await _urges(db) == [(1, seed.cadres["office1"], "team")]
    sent = await deliver(bot, db)
    assert any(c.chat_id == captain.id and "郑红督办 P-1" in c.text for c in sent)
    # The history and the card say it.
    calls = await bot.press(office, callbacks.CARD.build("show", 1))
    shown = texts(calls)
    assert zh("problems.card.urged", count=1, names="郑红") in shown
    assert "郑红：督办" in shown
    # A second press within the hour says so and pings nobody.
    bot.clock.advance(minutes=30)  # type: ignore[attr-defined]
    calls = await bot.press(office, callbacks.URGE.build("go", 1))
    assert alert(calls) == zh(
        "urge.why.recent", number="P-1", who="郑红", when="12月16日 09:00", minutes=60
    )
    assert len(await _urges(db)) == 1 and await _urge_events(db) == 1
    assert [c for c in await deliver(bot, db) if c.chat_id == captain.id] == []
    # After the hour it may be urged again.
    bot.clock.advance(minutes=31)  # type: ignore[attr-defined]
    calls = await bot.press(office, callbacks.URGE.build("go", 1))
    assert alert(calls) == zh("urge.done", number="P-1", count=2)
    assert await _urge_events(db) == 2


async def test_team_leader_urges_own_groups_only_and_urged_sorts_first(
    bot: Harness, seed: Seed, db: Database
) -> None:
    reporter = await join(bot, seed, "cadre1", 601)
    leader = await join(bot, seed, "leader1", 611)
    captain = await join(bot, seed, "captain1", 621)
    captain2 = await join(bot, seed, "captain2", 623)
    await raise_via_chat(bot, reporter, solvable=True)  # P-1 at the group
    await raise_via_chat(bot, reporter, place="城南社区", solvable=True)  # P-2 at the group
    await deliver(bot, db)
    calls = await bot.send(captain, "/ledger")
    assert zh("urge.offer", count=2) in texts(calls)
    # Another team's leader may not urge it; a group leader urges nobody.
    for who in (captain2, leader):
        calls = await bot.press(who, callbacks.URGE.build("go", 2))
        assert alert(calls) == zh("urge.why.not_allowed")
    assert await _urges(db) == []
    calls = await bot.press(captain, callbacks.URGE.build("go", 2))
    assert alert(calls) == zh("urge.done", number="P-2", count=1)
    sent = await deliver(bot, db)
    assert any(c.chat_id == leader.id and "督办 P-2" in c.text for c in sent)
    # The urged problem comes first in the owner's ledger, though its deadline is later.
    ledger = texts(await bot.send(leader, "/ledger"))
    assert ledger.index("P-2") < ledger.index("P-1")


async def test_forged_stale_and_closed_urges_are_refused(
    bot: Harness, seed: Seed, db: Database
) -> None:
    reporter = await join(bot, seed, "cadre1", 601)
    office = await join(bot, seed, "office1", 631)
    await raise_via_chat(bot, reporter, solvable=True)
    calls = await bot.press(office, "urg:v1:go:abc")
    assert alert(calls) == zh("common.stale_button")
    calls = await bot.press(office, "urg:v1:go:1:2")
    assert alert(calls) == zh("common.stale_button")
    calls = await bot.press(office, callbacks.URGE.build("go", 99))
    assert alert(calls) == zh("urge.why.not_found")
    await db.fetchone("SELECT 1")
    async with db.write() as conn:
        await conn.execute("UPDATE problems SET status = 'solved' WHERE id = 1")
    calls = await bot.press(office, callbacks.URGE.build("go", 1))
    assert alert(calls) == zh("urge.why.closed", number="P-1")
    assert await _urges(db) == [] and await _urge_events(db) == 0


async def test_migration_0018_keeps_the_history(tmp_path: Any) -> None:
    """0018 rebuilds problem_events to admit 'urge': rows and indexes survive."""
    from storage.db import Database as Db
    from storage.db import discover_migrations
    from tests.factories import seed_roster

    db = Db(tmp_path / "old.sqlite3")
    await db.open()
    try:
        await db.migrate([m for m in discover_migrations() if m.number < 17])
        seed = await seed_roster(db)
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO problems (reporter_id, team_id, group_id, place_id, category,"
                " description, level, level_since, deadline, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'other', 'x', 'group', 't', 't', 't', 't')",
                (seed.cadres["cadre1"], seed.teams["T1"], seed.groups["G1"], seed.places["v1"]),
            )
            await conn.execute(
                "INSERT INTO problem_events (problem_id, at, actor_id, action, note)"
                " VALUES (1, 't', ?, 'raise', 'n')",
                (seed.cadres["cadre1"],),
            )
        assert (await db.migrate())[:2] == [17, 18]  # and any later ones
        rows = await db.fetchall("SELECT id, action, note FROM problem_events")
        assert [tuple(r) for r in rows] == [(1, "raise", "n")]
        names = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE tbl_name = 'problem_events' ORDER BY name"
        )
        assert [r["name"] for r in names] == [
            "problem_events",
            "problem_events_action",
            "problem_events_problem",
        ]
    finally:
        await db.close()
