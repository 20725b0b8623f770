"""The /visit conversation through the real Application: every step and its branches."""

from __future__ import annotations

from datetime import date

from storage.db import Database
from tests.conftest import join, user
from tests.factories import Seed
from tests.fakebot import Harness, shown
from tests.visits_support import (
    alerts,
    answer_once,  # noqa: F401  (autouse fixture)
    count,
    flow,
    log_visit,
    markup_json,
    open_draft,
    rows,
    texts,
)


async def test_whole_flow_records_one_visit_with_receipt(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 601)
    calls = await bot.send(u, "/visit")
    first = shown(calls)[-1]
    assert "在哪里走访" in first.text
    labels = [label for label, _ in first.buttons]
    assert any("东风村" in b for b in labels) and any("城南社区" in b for b in labels)
    assert not any("红旗村" in b for b in labels)  # another group's village
    assert not any("张大爷家" in b for b in labels)  # households sit under their village

    await bot.tap(u, "城关建材厂")
    await bot.tap(u, "服务企业")
    await bot.tap(u, "调查研究")
    calls = await bot.tap(u, "完成")
    assert "哪天走访" in texts(calls)
    calls = await bot.tap(u, "昨天")
    assert "做了什么" in texts(calls)
    calls = await bot.send(u, "走访建材厂，了解用工和订单情况")
    assert "第 5 步" in texts(calls)
    assert any(b.get("request_location") for c in shown(calls) for b in c.keyboard)
    await bot.send(u, "8人")
    calls = await bot.tap(u, "下一步")
    card = shown(calls)[-1].text
    for part in (
        "城关建材厂",
        "调查研究、服务企业",
        "昨天 11月15日",
        "了解用工",
        "8 人",
        "照片：0 张",
    ):
        assert part in card, part
    calls = await bot.tap(u, "提交")
    receipt = shown(calls)[-1]
    assert "走访记录 #1 已提交" in receipt.text
    assert "2026年11月的第 1 次走访" in receipt.text and "月度任务 8 次" in receipt.text
    assert "remove_keyboard" in markup_json(receipt)

    visit = (await rows(db, "SELECT * FROM visits"))[0]
    assert visit["cadre_id"] == seed.cadres["cadre1"]
    assert visit["group_id"] == seed.groups["G1"] and visit["team_id"] == seed.teams["T1"]
    assert visit["place_id"] == seed.places["e1"]
    assert visit["visit_date"] == "2026-11-15"
    assert visit["people_met"] == 8 and visit["status"] == "active"
    kinds = [r["kind"] for r in await rows(db, "SELECT kind FROM visit_kinds ORDER BY kind")]
    assert kinds == ["enterprise", "survey"]
    draft = (await rows(db, "SELECT * FROM drafts WHERE id = ?", (visit["draft_id"],)))[0]
    assert draft["status"] == "submitted" and draft["result_id"] == visit["id"]


async def test_menu_button_starts_the_flow(bot: Harness, seed: Seed) -> None:
    u = await join(bot, seed, "cadre2", 602)
    calls = await bot.tap(u, "记走访")  # on the greeting's menu
    assert "在哪里走访" in shown(calls)[-1].text


async def test_receipt_counts_the_month(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 603)
    for _ in range(2):
        await log_visit(
            db, seed.cadres["cadre1"], seed.places["c1"], date(2026, 11, 3), now=bot.clock()
        )
    await log_visit(
        db, seed.cadres["cadre1"], seed.places["c1"], date(2026, 10, 30), now=bot.clock()
    )
    calls = await flow(bot, u)
    assert "第 3 次走访" in shown(calls)[-1].text


async def test_places_most_recently_visited_first(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 604)
    await log_visit(
        db, seed.cadres["cadre1"], seed.places["c1"], date(2026, 11, 10), now=bot.clock()
    )
    # a household visit counts for its village
    await log_visit(
        db, seed.cadres["cadre1"], seed.places["h1"], date(2026, 11, 12), now=bot.clock()
    )
    # another cadre's visit does not reorder this cadre's list
    await log_visit(
        db, seed.cadres["cadre2"], seed.places["e1"], date(2026, 11, 14), now=bot.clock()
    )
    calls = await bot.send(u, "/visit")
    labels = [label for label, _ in shown(calls)[-1].buttons]
    assert [label.split(" ")[1] for label in labels[:3]] == ["东风村", "城南社区", "城关建材厂"]


async def test_household_is_picked_under_its_village(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 605)
    await bot.send(u, "/visit")
    calls = await bot.tap(u, "东风村")
    labels = [label for label, _ in shown(calls)[-1].buttons]
    assert any("村本身" in b for b in labels) and any("张大爷家" in b for b in labels)
    calls = await bot.tap(u, "全部地点")  # back out, then in again
    assert "在哪里走访" in shown(calls)[-1].text
    await bot.tap(u, "东风村")
    await bot.tap(u, "张大爷家")
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    await bot.send(u, "给张大爷讲解养老保险")
    await bot.tap(u, "下一步")
    await bot.tap(u, "提交")
    visit = (await rows(db, "SELECT place_id FROM visits"))[0]
    assert visit["place_id"] == seed.places["h1"]


async def test_typing_searches_places_literally(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 606)
    await bot.send(u, "/visit")
    calls = await bot.send(u, "张大爷")
    assert "含“张大爷”" in shown(calls)[-1].text
    assert [b for b, _ in shown(calls)[-1].buttons if "张大爷家" in b]
    calls = await bot.send(u, "%")  # a LIKE wildcard is an ordinary character
    assert "没有找到" in shown(calls)[-1].text
    calls = await bot.send(u, "_")
    assert "没有找到" in shown(calls)[-1].text
    calls = await bot.send(u, "红旗")  # another group's village is not offered
    assert "没有找到" in shown(calls)[-1].text
    await bot.send(u, "社区")
    calls = await bot.tap(u, "城南社区")
    assert "哪些工作" in shown(calls)[-1].text
    draft = await open_draft(db, 606)
    assert draft is not None and draft.data["place"]["id"] == seed.places["c1"]


async def test_places_page_through(bot: Harness, seed: Seed, db: Database) -> None:
    async with db.write() as conn:
        for i in range(12):
            await conn.execute(
                "INSERT INTO places (code, kind, name, group_id) VALUES (?, 'enterprise', ?, ?)",
                (f"X{i}", f"企业{i:02d}", seed.groups["G1"]),
            )
    u = await join(bot, seed, "cadre1", 607)
    calls = await bot.send(u, "/visit")
    assert len([b for b in shown(calls)[-1].buttons if ":pl:" in b[1]]) == 8
    calls = await bot.tap(u, "下一页")
    page2 = [label for label, data in shown(calls)[-1].buttons if ":pl:" in data]
    assert len(page2) == 7  # 15 places in all
    calls = await bot.tap(u, "上一页")
    assert len([b for b in shown(calls)[-1].buttons if ":pl:" in b[1]]) == 8


async def test_team_leader_without_group_picks_from_the_team(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "captain1", 608)
    calls = await bot.send(u, "/visit")
    labels = " ".join(label for label, _ in shown(calls)[-1].buttons)
    assert "东风村" in labels and "红旗村" in labels  # groups G1 and G2 of team T1
    assert "河口村" not in labels
    calls = await flow(bot, u, place="红旗村")
    assert "#1" in shown(calls)[-1].text
    visit = (await rows(db, "SELECT * FROM visits"))[0]
    assert visit["place_id"] == seed.places["v2"] and visit["group_id"] is None


async def test_kinds_done_with_none_asks_again_and_toggles_are_idempotent(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 609)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    calls = await bot.tap(u, "完成")
    assert alerts(calls) == ["请至少选择一项工作内容，再点“完成”。"]
    draft = await open_draft(db, 609)
    assert draft is not None and draft.step == "kinds"
    await bot.tap(u, "▫️ 宣讲政策")
    draft = await open_draft(db, 609)
    assert draft is not None
    on = f"vis:v1:k:{draft.id}:policy:1"
    await bot.press(u, on)  # the "on" button again (an old message): still on
    draft = await open_draft(db, 609)
    assert draft is not None and draft.data["kinds"] == ["policy"]
    await bot.tap(u, "✅ 宣讲政策")  # now off
    draft = await open_draft(db, 609)
    assert draft is not None and draft.data["kinds"] == []
    calls = await bot.send(u, "宣讲政策")  # typing instead of tapping
    assert "请点下方按钮选择工作内容" in shown(calls)[-1].text


async def test_typed_dates_and_the_window(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 610)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")
    calls = await bot.tap(u, "完成")
    days = [label for label, data in shown(calls)[-1].buttons if ":d:" in data]
    assert days == ["今天 11月16日", "昨天 11月15日", "11月14日 周六", "11月13日 周五"]
    calls = await bot.send(u, "11-17")
    assert "不能选择还没到的日期" in shown(calls)[-1].text
    calls = await bot.send(u, "11月12日")
    assert "最近 3 天内" in shown(calls)[-1].text and "11月13日" in shown(calls)[-1].text
    calls = await bot.send(u, "上周")
    assert "没看懂这个日期" in shown(calls)[-1].text
    draft = await open_draft(db, 610)
    assert draft is not None and draft.step == "date" and draft.data["day"] is None
    # a forged button for a day outside the window
    calls = await bot.press(u, f"vis:v1:d:{draft.id}:20261101")
    assert "最近 3 天内" in alerts(calls)[0]
    calls = await bot.send(u, "2026-11-14")
    assert "做了什么" in shown(calls)[-1].text
    draft = await open_draft(db, 610)
    assert draft is not None and draft.data["day"] == "2026-11-14"


async def test_typed_relative_day_at_the_date_step(bot: Harness, seed: Seed, db: Database) -> None:
    """The date step reads with the one day reader (campaign.periods.parse_day): 昨天
    typed, not tapped, is yesterday."""
    u = await join(bot, seed, "cadre1", 613)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    calls = await bot.send(u, "昨天")
    assert "做了什么" in shown(calls)[-1].text
    draft = await open_draft(db, 613)
    assert draft is not None and draft.data["day"] == "2026-11-15"


async def test_a_date_button_is_checked_again_when_pressed(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 611)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    bot.clock.advance(days=2)  # type: ignore[attr-defined]
    calls = await bot.tap(u, "11月13日")  # shown two days ago; now four days back
    assert "最近 3 天内" in alerts(calls)[0]
    assert "今天 11月18日" in str(shown(calls)[-1].buttons)


async def test_text_is_checked(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 612)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    calls = await bot.send(u, "字" * 2001)
    assert "内容太长：共 2001 字，最多 2000 字" in shown(calls)[-1].text
    calls = await bot.send(u, "   \n\t  ")
    assert "内容是空的" in shown(calls)[-1].text
    calls = await bot.send(u, "👍👍🙏")
    assert "只有表情符号" in shown(calls)[-1].text
    draft = await open_draft(db, 612)
    assert draft is not None and draft.step == "text" and draft.data["text"] is None
    await bot.send(u, "走访\x00社区\x1b，了解\u202e低保情况\x7f")
    await bot.tap(u, "下一步")
    await bot.tap(u, "提交")
    visit = (await rows(db, "SELECT text FROM visits"))[0]
    assert visit["text"] == "走访社区，了解低保情况"


async def test_text_limit_follows_settings(make_bot: object, seed: Seed, db: Database) -> None:
    import dataclasses

    from campaign.settings import VisitSettings

    bot = await make_bot(visits=dataclasses.replace(VisitSettings(), max_text_chars=10))  # type: ignore[operator]
    u = await join(bot, seed, "cadre1", 613)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    calls = await bot.send(u, "这是一段超过十个字的走访记录内容")
    assert "最多 10 字" in shown(calls)[-1].text


async def test_voice_note_answers_what_was_done(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 614)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    calls = await bot.voice(u, "voice-abc", duration=42)
    assert "语音已保存" in texts(calls)
    calls = await bot.tap(u, "下一步")
    assert "🎤 42 秒" in shown(calls)[-1].text
    await bot.tap(u, "提交")
    visit = (await rows(db, "SELECT text, voice_file_id FROM visits"))[0]
    assert visit["voice_file_id"] == "voice-abc" and visit["text"] == ""


async def test_photo_where_text_is_expected_is_kept(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 615)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    calls = await bot.photo(u, "ph-1")
    assert "照片已保存（共 1 张）" in shown(calls)[-1].text
    assert "请再用文字写一下" in shown(calls)[-1].text
    draft = await open_draft(db, 615)
    assert draft is not None and draft.step == "text"
    await bot.send(u, "社区座谈")
    await bot.tap(u, "下一步")
    await bot.tap(u, "提交")
    photos = await rows(db, "SELECT file_id, file_unique_id FROM visit_photos")
    assert [(p["file_id"], p["file_unique_id"]) for p in photos] == [("ph-1", "ph-1u")]


async def test_photo_caption_can_be_the_text(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 616)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    calls = await bot.photo(u, "ph-2", caption="在社区宣讲医保")
    assert "第 5 步" in texts(calls)
    draft = await open_draft(db, 616)
    assert draft is not None and draft.data["text"] == "在社区宣讲医保"
    assert len(draft.data["photos"]) == 1


async def test_album_gets_one_answer_and_every_photo(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 617)
    await flow(bot, u, submit=False)
    await bot.tap(u, "人数/照片/定位")
    answered = 0
    for i in range(3):
        calls = await bot.photo(u, f"alb-{i}", media_group_id="album-1")
        answered += len(shown(calls))
    assert answered == 1
    await bot.photo(u, "single")  # a single photo afterwards is answered again
    await bot.photo(u, "single")  # the same photo twice is kept once
    await bot.tap(u, "下一步")
    calls = await bot.tap(u, "提交")
    assert "已提交" in shown(calls)[-1].text
    photos = await rows(db, "SELECT file_id FROM visit_photos ORDER BY position")
    assert [p["file_id"] for p in photos] == ["alb-0", "alb-1", "alb-2", "single"]


async def test_photo_limit(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 618)
    await flow(bot, u, submit=False)
    for i in range(10):
        await bot.photo(u, f"p{i}")
    calls = await bot.photo(u, "p-extra")
    assert "最多保存 10 张照片" in shown(calls)[-1].text
    draft = await open_draft(db, 618)
    assert draft is not None and len(draft.data["photos"]) == 10


async def test_far_location_is_flagged_gently(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 619)
    await bot.send(u, "/visit")
    await bot.tap(u, "城关建材厂")  # at 30.01, 114.01
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    await bot.send(u, "走访企业")
    calls = await bot.location(u, 30.06, 114.01)  # about 5.6 km north
    text = shown(calls)[-1].text
    assert "距城关建材厂约 5.6 公里" in text and "照常提交" in text
    calls = await bot.tap(u, "下一步")
    assert "⚠️ 距地点约 5.6 公里" in shown(calls)[-1].text
    calls = await bot.tap(u, "提交")
    assert "已提示组长" in shown(calls)[-1].text
    visit = (await rows(db, "SELECT far, distance_km, lat, lon FROM visits"))[0]
    assert visit["far"] == 1 and abs(visit["distance_km"] - 5.56) < 0.01
    assert (visit["lat"], visit["lon"]) == (30.06, 114.01)


async def test_near_location_and_place_without_coordinates(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 620)
    await bot.send(u, "/visit")
    await bot.tap(u, "城关建材厂")
    await bot.location(u, 30.011, 114.01)  # sent early: kept for later
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    await bot.send(u, "走访企业")
    await bot.tap(u, "下一步")
    await bot.tap(u, "提交")
    await flow(bot, u, submit=False)  # 城南社区 has no coordinates
    calls = await bot.tap(u, "人数/照片/定位")
    calls = await bot.location(u, 30.5, 114.5)
    assert "没有登记坐标" in shown(calls)[-1].text
    await bot.tap(u, "下一步")
    await bot.tap(u, "提交")
    got = await rows(db, "SELECT far, distance_km FROM visits ORDER BY id")
    assert got[0]["far"] == 0 and got[0]["distance_km"] < 0.2
    assert got[1]["far"] == 0 and got[1]["distance_km"] is None


async def test_model_case_and_changing_fields_from_the_summary(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 621)
    await flow(bot, u, submit=False)
    calls = await bot.tap(u, "标为可能的典型")
    assert "可能的典型：是" in shown(calls)[-1].text
    calls = await bot.tap(u, "✏️ 日期")
    assert "哪天走访" in shown(calls)[-1].text
    calls = await bot.tap(u, "11月14日")
    assert "请核对" in shown(calls)[-1].text  # straight back to the summary
    await bot.tap(u, "✏️ 工作内容")
    await bot.tap(u, "维护稳定")
    await bot.tap(u, "完成")
    await bot.tap(u, "✏️ 做了什么")
    calls = await bot.send(u, "调解邻里纠纷")
    assert "请核对" in shown(calls)[-1].text and "调解邻里纠纷" in shown(calls)[-1].text
    await bot.tap(u, "✏️ 地点")
    calls = await bot.tap(u, "城关建材厂")
    assert "请核对" in shown(calls)[-1].text and "城关建材厂" in shown(calls)[-1].text
    await bot.tap(u, "提交")
    visit = (await rows(db, "SELECT * FROM visits"))[0]
    assert visit["model_case"] == 1 and visit["visit_date"] == "2026-11-14"
    assert visit["text"] == "调解邻里纠纷" and visit["place_id"] == seed.places["e1"]
    kinds = {r["kind"] for r in await rows(db, "SELECT kind FROM visit_kinds")}
    assert kinds == {"policy", "stability"}


async def test_keep_text_while_changing(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 622)
    await flow(bot, u, submit=False, text="原来的内容")
    calls = await bot.tap(u, "✏️ 做了什么")
    assert "当前内容：\n原来的内容" in shown(calls)[-1].text
    calls = await bot.tap(u, "保留原内容")
    assert "请核对" in shown(calls)[-1].text


async def test_people_count_hint(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 623)
    await flow(bot, u, submit=False)
    await bot.tap(u, "人数/照片/定位")
    calls = await bot.send(u, "很多人")
    assert "请输入见到的群众人数" in shown(calls)[-1].text
    calls = await bot.send(u, "１５人")
    assert "见到群众 15 人" in shown(calls)[-1].text


async def test_english_user(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre3", 624, lang="en")
    calls = await bot.send(u, "/visit")
    assert "Step 1 of 5: where did you go?" in shown(calls)[-1].text
    await bot.tap(u, "红旗村")
    await bot.tap(u, "Explaining policy")
    calls = await bot.tap(u, "Done")
    # The day reads as in every other English message (campaign.text.day_text).
    assert "Today Nov 16" in str(shown(calls)[-1].buttons)
    await bot.tap(u, "Yesterday")
    calls = await bot.send(u, "👍")
    assert "Emoji alone" in shown(calls)[-1].text
    calls = await bot.send(u, "Met the village committee about the road")
    assert "Step 5 of 5" in texts(calls)
    calls = await bot.tap(u, "Next")
    card = shown(calls)[-1].text
    assert "Please check this visit" in card and "Work: Explaining policy" in card
    calls = await bot.tap(u, "Submit")
    assert "Visit #1 is submitted" in shown(calls)[-1].text
    assert "number 1 in 2026-11" in shown(calls)[-1].text


async def test_who_may_log(bot: Harness, seed: Seed, db: Database) -> None:
    calls = await bot.send(user(625), "/visit")  # a stranger
    assert "您还没有加入" in shown(calls)[-1].text
    office = await join(bot, seed, "office1", 626)
    calls = await bot.send(office, "/visit")
    assert "只有驻村干部" in shown(calls)[-1].text
    async with db.write() as conn:  # a group with nothing linked
        await conn.execute("UPDATE places SET active = 0 WHERE group_id = ?", (seed.groups["G2"],))
    u = await join(bot, seed, "cadre3", 627)
    calls = await bot.send(u, "/visit")
    assert "还没有挂钩" in shown(calls)[-1].text
    assert await count(db, "SELECT COUNT(*) FROM drafts") == 0
