"""A cadre on both channels: joined on Telegram first, then on WeCom with the same roster
phone. The WeCom account acts as the same cadre; what the bot sends on its own still goes
to the first account; removing the binding removes both."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.wecom.channel import split_queue
from bot.wecom.cli import make_appchat
from campaign.channels import TELEGRAM, WECOM, channel_of
from campaign.i18n import default_catalog
from campaign.settings import Settings
from storage import people
from storage.db import Database
from tests.conftest import AppFactory, join
from tests.factories import Seed
from tests.fakebot import FakeClock
from tests.fakewecom import FakeWeCom
from tests.problem_helpers import deliver
from tests.test_wecom_story import deps_of, join_all, raise_problem
from tests.wecom_world import close_world, open_world

SECOND = default_catalog().t("zh-CN", "start.second")


def test_channel_of_an_internal_id() -> None:
    assert channel_of(601) == TELEGRAM and channel_of(-1001234567890) == TELEGRAM
    assert channel_of(2**52 + 1) == WECOM and channel_of(-(2**52 + 1)) == WECOM


async def test_a_cadre_on_both_channels(
    settings: Settings,
    db: Database,
    clock: FakeClock,
    seed: Seed,
    make_bot: AppFactory,
) -> None:
    telegram = await make_bot()
    await join(telegram, seed, "cadre1", 601)
    cadre1 = seed.cadres["cadre1"]
    with FakeWeCom(clock=lambda: clock().timestamp()) as fake:
        w = await open_world(settings, db, clock, seed, fake)
        split_queue(telegram.app, w.app)  # both channels: each sends to its own chats
        try:
            await join_all(w, "captain1", "deputy1", "office1")
            await w.text("cadre1", "/start")
            assert SECOND in w.seen("cadre1")
            wecom_id = await w.internal_id("cadre1")
            assert await people.account_of(db, cadre1) == 601  # the first stays first
            row = await db.fetchone(
                "SELECT cadre_id FROM second_accounts WHERE telegram_user_id = ?", (wecom_id,)
            )
            assert row is not None and row["cadre_id"] == cadre1
            found = await people.cadre_by_telegram(db, wecom_id)
            assert found is not None and found.id == cadre1
            # Writing again on WeCom is just the cadre writing: no second join.
            shown = len(fake.inbox("cadre1")) + len(fake.cards("cadre1"))
            await w.text("cadre1", "/start")
            assert len(fake.inbox("cadre1")) + len(fake.cards("cadre1")) > shown
            assert w.seen("cadre1").count(SECOND) == 1
            count = await db.fetchone("SELECT COUNT(*) AS n FROM second_accounts")
            assert count is not None and count["n"] == 1

            # The cadre raises a problem on WeCom; the captain solves it there.
            assert await make_appchat(deps_of(w), w.channel.api, "T1") is not None
            await raise_problem(w, "cadre1")
            problem = await db.fetchone("SELECT reporter_id FROM problems WHERE id = 1")
            assert problem is not None and problem["reporter_id"] == cadre1
            await w.deliver()
            await w.press_card("captain1", 1, "已解决")
            await w.text("captain1", "已协调交通局修复路面。")
            await w.deliver()
        finally:
            await close_world(w)
    # The reporter is told on the account they joined with first: Telegram.
    told = await db.fetchall(
        "SELECT chat_id FROM outbox WHERE payload LIKE '%交通局%' AND chat_id IN (?, ?)",
        (601, wecom_id),
    )
    assert [r["chat_id"] for r in told] == [601]
    calls = await deliver(telegram, db)
    assert any(
        c.params.get("chat_id") == 601 and "交通局" in str(c.params.get("text")) for c in calls
    )
    # On Telegram they are still the same cadre.
    me = await people.cadre_by_telegram(db, 601)
    assert me is not None and me.id == cadre1


async def test_unbinding_removes_both_accounts(db: Database, seed: Seed) -> None:
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    cadre1 = seed.cadres["cadre1"]
    second = 2**52 + 7
    assert await people.bind(db, cadre1, 601, "contact", now) == people.BindOutcome.BOUND
    assert await people.bind(db, cadre1, second, "contact", now) == people.BindOutcome.CADRE_TAKEN
    assert await people.bind_second(db, cadre1, second, "contact", now) == "bound"
    assert await people.bind_second(db, cadre1, second, "contact", now) == "already"
    # One second account per cadre; an account acts for one cadre only.
    assert await people.bind_second(db, cadre1, second + 1, "contact", now) == "cadre_taken"
    cadre2 = seed.cadres["cadre2"]
    assert await people.bind(db, cadre2, second, "contact", now) == "account_taken"
    assert await people.unbind(db, cadre1, now) == 601
    assert await people.cadre_by_telegram(db, second) is None
    assert await db.fetchone("SELECT 1 FROM second_accounts") is None
