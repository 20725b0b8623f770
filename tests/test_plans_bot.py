"""/plan in the bot: the lists by role, an item's card, a progress report, a leader's
new item; and every bad input the issue lists (another group's item, an owner outside
the unit, a month outside the campaign, a report on someone else's item, forged and
stale buttons): a clear answer, nothing changed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from campaign.callbacks import PLAN, PLAN_ITEM
from campaign.i18n import default_catalog
from campaign.plans import PlanRow
from storage import plans as store
from storage.db import Database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import Call, Harness, TgUser
from tests.problem_helpers import alert, last_text

T = default_catalog()


def zh(key: str, **values: object) -> str:
    return T.t("zh-CN", key, **values)


def row(seed: Seed, code: str, group: str | None, owners: list[str], **kw: Any) -> PlanRow:
    team = "T2" if group == "G3" else kw.pop("team", "T1")
    values: dict[str, Any] = {
        "row": 2,
        "code": code,
        "team_id": seed.teams[team],
        "group_id": seed.groups[group] if group else None,
        "place_id": None,
        "month": "2026-11",
        "due_date": date(2026, 11, 30),
        "title": f"事项{code}",
        "measure": "",
        "target": None,
        "unit": "",
        "kind": None,
        "owners": tuple(seed.cadres[o] for o in owners),
        "status": None,
        "cancel_reason": "",
    }
    values.update(kw)
    return PlanRow(**values)


async def plans(db: Database, seed: Seed) -> dict[str, int]:
    rows = [
        row(seed, "A1", "G1", ["cadre1"], title="入户走访脱贫户", measure="36 户", target=36.0,
            unit="户", kind="policy"),
        row(seed, "A2", "G1", ["cadre1", "cadre2"], due_date=date(2026, 11, 10)),  # overdue
        row(seed, "A3", "G1", ["cadre2"], month="2026-12", due_date=date(2026, 12, 31)),
        row(seed, "B1", "G2", ["cadre3"]),
        row(seed, "T1", None, ["captain1"], title="全队党建观摩"),
        row(seed, "C1", "G3", ["cadre4"]),
    ]  # fmt: skip
    await store.import_rows(db, rows, datetime(2026, 11, 1, tzinfo=UTC))
    return await store.codes(db)


def texts(calls: list[Call]) -> str:
    return "\n".join(c.text for c in calls)


async def counts(db: Database) -> tuple[int, ...]:
    out = []
    for table in ("plan_items", "plan_owners", "plan_progress"):
        found = await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
        assert found is not None
        out.append(int(found["n"]))
    changed = await db.fetchone("SELECT MAX(updated_at) AS u FROM plan_items")
    return (*out, hash(changed["u"] if changed else None))


async def test_a_cadre_sees_own_items_overdue_first(bot: Harness, seed: Seed, db: Database) -> None:
    await plans(db, seed)
    u = await join(bot, seed, "cadre1", 601)
    text = last_text(await bot.send(u, "/plan"))
    assert zh("plans.list.scope_mine") in text
    lines = text.splitlines()
    assert lines[1].startswith(zh("plans.list.overdue") + "A2")
    assert "A1" in lines[2] and "（0/36户）" in lines[2]
    assert "B1" not in text and "A3" not in text
    assert zh("plans.list.totals", count=2, done=0, overdue=1) in text
    # Another period: December holds A3 (not mine) and the overdue A2 still.
    text = last_text(await bot.send(u, "/plan 2026年12月"))
    assert "A2" in text and "A3" not in text
    text = last_text(await bot.send(u, "/plan 十三月"))
    assert text.startswith(zh("plans.list.bad_period", text="十三月", examples="")[:8])


async def test_leaders_and_office_see_their_scope(bot: Harness, seed: Seed, db: Database) -> None:
    await plans(db, seed)
    leader = await join(bot, seed, "leader1", 611)
    calls = await bot.send(leader, "/plan")
    text = last_text(calls)
    assert "城关一组" in text and "A1" in text and "A2" in text and "B1" not in text
    assert zh("plans.list.add") in [b for b, _ in calls[-1].buttons]
    captain = await join(bot, seed, "captain1", 621)
    text = last_text(await bot.send(captain, "/plan"))
    for code in ("A1", "A2", "B1", "T1"):
        assert code in text
    assert "C1" not in text
    office = await join(bot, seed, "office1", 631)
    text = last_text(await bot.send(office, "/plan"))
    assert zh("plans.list.team_line", team="城关镇工作队", due=4, done=0, overdue=1) in text
    assert zh("plans.list.team_line", team="河口镇工作队", due=1, done=0, overdue=0) in text


async def _card(bot: Harness, u: TgUser, code: str) -> list[Call]:
    await bot.send(u, "/plan")
    return await bot.tap(u, code)


async def test_progress_then_done_from_the_card(bot: Harness, seed: Seed, db: Database) -> None:
    ids = await plans(db, seed)
    leader = await join(bot, seed, "leader1", 611)
    u = await join(bot, seed, "cadre1", 601)
    card = last_text(await _card(bot, u, "A1 入户走访"))
    assert "入户走访脱贫户" in card and "36 户" in card and "宣讲政策" in card
    calls = await bot.tap(u, zh("plans.card.note_button"))
    assert "写一下进展" in last_text(calls)
    await bot.send(u, "走访了东风村12户脱贫户")
    calls = await bot.send(u, "十二")
    assert zh("plans.progress.not_a_number") in last_text(calls)
    await bot.send(u, "12")
    await bot.photo(u, file_id="p1")
    await bot.tap(u, "完成（已收到 1 张）")
    calls = await bot.tap(u, zh("plans.progress.submit_button"))
    assert last_text(calls) == zh("plans.progress.saved", code="A1", title="入户走访脱贫户")
    item = await store.get(db, ids["A1"])
    assert item is not None and (item.progress, item.status) == (12.0, "doing")
    reports = await store.progress_of(db, ids["A1"])
    assert [(r.note, r.amount, r.photos, r.completes) for r in reports] == [
        ("走访了东风村12户脱贫户", 12.0, ("p1",), False)
    ]
    card = last_text(await _card(bot, u, "A1 入户走访"))
    assert "（12/36户）" in card and "走访了东风村12户脱贫户" in card
    await bot.tap(u, zh("plans.card.done_button"))
    await bot.send(u, "36户全部走访")
    await bot.send(u, "24")
    await bot.tap(u, zh("plans.progress.skip_button"))
    calls = await bot.tap(u, zh("plans.progress.submit_button"))
    assert last_text(calls) == zh("plans.progress.done", code="A1", title="入户走访脱贫户")
    item = await store.get(db, ids["A1"])
    assert item is not None and (item.progress, item.status) == (36.0, "done")
    # The group leader hears of it (a progress report alone told nobody).
    told = await db.fetchall("SELECT chat_id, payload FROM outbox WHERE key LIKE 'plan-done:%'")
    assert [r["chat_id"] for r in told] == [leader.id]
    assert "36户全部走访" in told[0]["payload"] and "A1" in told[0]["payload"]
    # Done: the card offers no more reports, and an old 进展 button is refused.
    card_calls = await _card(bot, u, "A1 入户走访")
    assert zh("plans.card.note_button") not in [b for b, _ in card_calls[-1].buttons]
    before = await counts(db)
    calls = await bot.press(u, PLAN.build("prg", ids["A1"], 0))
    assert alert(calls) == zh("plans.refused.closed")
    assert await counts(db) == before


async def test_reports_on_someone_elses_item_and_forged_buttons(
    bot: Harness, seed: Seed, db: Database
) -> None:
    ids = await plans(db, seed)
    u = await join(bot, seed, "cadre2", 602)
    before = await counts(db)
    calls = await bot.press(u, PLAN.build("prg", ids["A1"], 1))  # cadre1's item
    assert alert(calls) == zh("plans.refused.not_owner")
    calls = await bot.press(u, PLAN.build("show", ids["B1"]))  # another group's
    assert alert(calls) == zh("plans.refused.not_yours")
    calls = await bot.press(u, PLAN.build("show", 999999))
    assert alert(calls) == zh("plans.refused.not_yours")
    for data in ("pln:v1:prg:abc:0", "pln:v1:prg:1:7", "pln:v0:show:1", "pln:v1:show"):
        calls = await bot.press(u, data)
        assert alert(calls) == zh("common.stale_button"), data
    calls = await bot.press(u, PLAN.build("add"))  # a cadre is no leader
    assert alert(calls) == zh("plans.refused.not_your_unit")
    # A leader of another group may not change this group's item.
    leader = await join(bot, seed, "leader2", 612)
    calls = await bot.press(leader, PLAN.build("ed", ids["A1"]))
    assert alert(calls) == zh("plans.refused.not_your_unit")
    assert await counts(db) == before
    drafts = await db.fetchone("SELECT COUNT(*) AS n FROM drafts WHERE kind LIKE 'plan%'")
    assert drafts is not None and drafts["n"] == 0
    # A button of a closed report dialog says so.
    await bot.press(u, PLAN.build("prg", ids["A2"], 0))
    await bot.send(u, "/cancel")
    draft_id = (await db.fetchone("SELECT MAX(id) AS i FROM drafts"))["i"]  # type: ignore[index]
    calls = await bot.press(u, f"plp:v1:ok:{draft_id}")
    assert alert(calls) == zh("plans.progress.draft_closed")
    assert await counts(db) == before


async def test_a_group_leader_adds_an_item(bot: Harness, seed: Seed, db: Database) -> None:
    await plans(db, seed)
    leader = await join(bot, seed, "leader1", 611)
    await bot.send(leader, "/plan")
    calls = await bot.tap(leader, zh("plans.list.add"))
    assert "城关一组" in last_text(calls)
    await bot.send(leader, "帮扶城关建材厂招工")
    await bot.send(leader, "招工 20 人")
    await bot.tap(leader, "服务企业")
    calls = await bot.send(leader, "2027年3月1日")  # outside the campaign (2026)
    assert zh("plans.edit.month_outside", month="2027-03", first="2026-01", last="2026-12") in (
        last_text(calls)
    )
    await bot.tap(leader, "2026-12")
    calls = await bot.tap(leader, "张伟")
    assert "✅ 张伟" in texts(calls) or any("✅ 张伟" in b for b, _ in calls[-1].buttons)
    # A forged owner from another group is refused at the step and at submit.
    draft = await db.fetchone("SELECT id FROM drafts WHERE kind = 'plan_item' AND status = 'open'")
    assert draft is not None
    calls = await bot.press(leader, PLAN_ITEM.build("own", draft["id"], seed.cadres["cadre4"]))
    assert zh("plans.edit.owner_outside") in last_text(calls)
    await bot.tap(leader, "选好了")
    calls = await bot.tap(leader, zh("plans.edit.submit_button"))
    assert last_text(calls).startswith("已新增计划事项 JH")
    new = await db.fetchone("SELECT * FROM plan_items WHERE title = '帮扶城关建材厂招工'")
    assert new is not None
    assert (new["group_id"], new["month"], new["due_date"], new["kind"]) == (
        seed.groups["G1"],
        "2026-12",
        "2026-12-31",
        "enterprise",
    )
    assert (new["target"], new["unit"]) == (20.0, "人")
    owners = await db.fetchall("SELECT cadre_id FROM plan_owners WHERE item_id = ?", (new["id"],))
    assert [r["cadre_id"] for r in owners] == [seed.cadres["cadre1"]]


async def test_a_team_leader_changes_a_team_item(bot: Harness, seed: Seed, db: Database) -> None:
    ids = await plans(db, seed)
    captain = await join(bot, seed, "captain1", 621)
    await _card(bot, captain, "T1 全队")
    calls = await bot.tap(captain, zh("plans.card.edit_button"))
    assert "全队党建观摩" in last_text(calls)
    await bot.tap(captain, zh("plans.edit.field_title"))
    await bot.send(captain, "全队党建观摩（第二批）")
    await bot.tap(captain, zh("plans.edit.field_owners"))
    await bot.tap(captain, "周丽")
    await bot.tap(captain, "选好了")
    calls = await bot.tap(captain, zh("plans.edit.submit_button"))
    assert last_text(calls) == zh("plans.edit.changed", code="T1", title="全队党建观摩（第二批）")
    item = await store.get(db, ids["T1"])
    assert item is not None and item.title == "全队党建观摩（第二批）"
    assert [o.name for o in item.owners] == ["黄海", "周丽"]


async def test_a_visit_asks_which_plan_item_it_served(
    bot: Harness, seed: Seed, db: Database
) -> None:
    from tests.visits_support import flow

    ids = await plans(db, seed)  # A1: cadre1's, kind policy, no place
    u = await join(bot, seed, "cadre1", 601)
    calls = await flow(bot, u)  # 城南社区, 宣讲政策
    assert last_text(calls) == zh("plans.visit.ask")
    labels = [b for b, _ in calls[-1].buttons]
    assert labels == [zh("plans.visit.item_button", code="A1", title="入户走访脱贫户"),
                      zh("plans.visit.none_button")]  # fmt: skip
    await bot.tap(u, "A1")
    links = await db.fetchall("SELECT visit_id, item_id FROM visit_plan_items")
    visit = await db.fetchone("SELECT id FROM visits")
    assert visit is not None and [tuple(r) for r in links] == [(visit["id"], ids["A1"])]
    # A visit of a kind no open item of mine has: nothing asked.
    calls = await flow(bot, u, kinds=("调查研究",))
    assert zh("plans.visit.ask") not in texts(calls)
    assert len(await db.fetchall("SELECT * FROM visit_plan_items")) == 1
    # Another cadre with no items is never asked.
    other = await join(bot, seed, "cadre3", 603)
    calls = await flow(bot, other, place="红旗村")
    assert zh("plans.visit.ask") not in texts(calls)


async def test_a_forged_plan_item_at_visit_submit_is_not_linked(
    bot: Harness, seed: Seed, db: Database
) -> None:
    from tests.visits_support import flow

    ids = await plans(db, seed)
    u = await join(bot, seed, "cadre1", 601)
    await flow(bot, u)
    draft = await db.fetchone("SELECT id FROM drafts WHERE kind = 'visit' AND status = 'open'")
    assert draft is not None
    await bot.press(u, f"vis:v1:pi:{draft['id']}:{ids['B1']}")  # not cadre1's item
    assert await db.fetchone("SELECT id FROM visits") is not None
    assert await db.fetchall("SELECT * FROM visit_plan_items") == []


async def test_a_report_is_judged_again_at_submit_and_survives_a_restart(
    bot: Harness, make_bot: Any, seed: Seed, db: Database
) -> None:
    ids = await plans(db, seed)
    u = await join(bot, seed, "cadre1", 601)
    await bot.press(u, PLAN.build("prg", ids["A2"], 0))
    await bot.send(u, "召开院坝会一次")
    again = await make_bot()  # a restart mid-dialog: the draft carries on
    calls = await again.send(u, "/cancel")
    assert zh("plans.progress.cancelled") in last_text(calls)
    await again.press(u, PLAN.build("prg", ids["A2"], 0))
    await again.send(u, "召开院坝会一次")
    await again.tap(u, zh("plans.progress.skip_button"))
    # Meanwhile the clerk's re-import hands the item to cadre2 alone.
    await store.import_rows(
        db,
        [row(seed, "A2", "G1", ["cadre2"], due_date=date(2026, 11, 10))],
        datetime(2026, 11, 16, tzinfo=UTC),
    )
    before = await counts(db)
    calls = await again.tap(u, zh("plans.progress.submit_button"))
    assert last_text(calls) == zh("plans.refused.not_owner")
    assert await counts(db) == before
    draft = await db.fetchone("SELECT status FROM drafts ORDER BY id DESC LIMIT 1")
    assert draft is not None and draft["status"] == "cancelled"


async def test_a_restart_resumes_the_dialog(
    bot: Harness, make_bot: Any, seed: Seed, db: Database
) -> None:
    ids = await plans(db, seed)
    u = await join(bot, seed, "cadre1", 601)
    await bot.press(u, PLAN.build("prg", ids["A1"], 0))
    await bot.send(u, "完成入户12户")
    again = await make_bot()
    calls = await again.send(u, "12")
    assert zh("plans.progress.ask_photos", max=10).split("（")[0] in last_text(calls)
    await again.tap(u, zh("plans.progress.skip_button"))
    await again.tap(u, zh("plans.progress.submit_button"))
    item = await store.get(db, ids["A1"])
    assert item is not None and item.progress == 12.0


async def test_a_leader_cancels_an_item_with_a_reason(
    bot: Harness, seed: Seed, db: Database
) -> None:
    ids = await plans(db, seed)
    leader = await join(bot, seed, "leader1", 611)
    await _card(bot, leader, "A2")
    calls = await bot.tap(leader, zh("plans.cancel.button"))
    assert "取消原因" in last_text(calls)
    calls = await bot.send(leader, "并入A1统一办理")
    assert last_text(calls) == zh("plans.edit.cancelled_item", code="A2", title="事项A2")
    item = await store.get(db, ids["A2"])
    assert item is not None and (item.status, item.cancel_reason) == ("cancelled", "并入A1统一办理")
    # A cadre (and another group's leader) cannot.
    before = await counts(db)
    u = await join(bot, seed, "cadre1", 601)
    calls = await bot.press(u, PLAN.build("cx", ids["A1"]))
    assert alert(calls) == zh("plans.refused.not_your_unit")
    other = await join(bot, seed, "leader3", 613)
    calls = await bot.press(other, PLAN.build("cx", ids["A1"]))
    assert alert(calls) == zh("plans.refused.not_your_unit")
    assert await counts(db) == before
