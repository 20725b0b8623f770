"""The reports as people use them in Telegram: who gets what where, bad input, the
workbook and chart delivered off the update path."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from io import BytesIO
from typing import Any

import openpyxl
import pytest

from handlers import reports as report_handlers
from reports import chart as chart_module
from storage.db import Database, utcnow_text
from tests.conftest import join, user
from tests.factories import Seed
from tests.fakebot import Call, FakeBotAPI, FakeClock, Harness, TgUser, shown
from tests.report_factories import add_problem, local, november

OFFICE_CHAT = -100500
TEAM_CHAT = -100600
OTHER_CHAT = -100700


class CapturingAPI(FakeBotAPI):
    """The fake Bot API, also keeping the files the bot uploads."""

    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self.files: list[tuple[str, str, bytes]] = []

    async def do_request(self, url: str, method: str, request_data: Any = None, **kw: Any) -> Any:
        if request_data is not None and request_data.contains_files:
            for _, (filename, content, *_rest) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                self.files.append((url.rsplit("/", 1)[-1], filename, data))
        return await super().do_request(url, method, request_data, **kw)


@pytest.fixture
def api(clock: FakeClock) -> FakeBotAPI:
    return CapturingAPI(clock)


def texts(calls: list[Call]) -> str:
    return "\n".join(c.text for c in shown(calls))


async def people_in(bot: Harness, seed: Seed, db: Database) -> dict[str, TgUser]:
    await november(db, seed)
    ids = {
        "office1": 701,
        "inspector1": 702,
        "captain1": 703,
        "captain2": 704,
        "leader1": 705,
        "cadre1": 706,
        "deputy1": 707,
    }
    return {key: await join(bot, seed, key, uid) for key, uid in ids.items()}


async def test_office_and_inspector_see_the_county(bot: Harness, seed: Seed, db: Database) -> None:
    u = await people_in(bot, seed, db)
    for who in ("office1", "inspector1"):
        text = texts(await bot.send(u[who], "/summary"))
        assert "📊 工作汇总｜全县｜2026年11月" in text
        assert "走访 7 次" in text and "城关镇工作队" in text and "河口镇工作队" in text
    text = texts(await bot.send(u["office1"], "/summary 河口镇"))
    assert "工作汇总｜河口镇工作队" in text and "走访 1 次" in text and "城关" not in text
    text = texts(await bot.send(u["office1"], "/summary 城关镇工作队 2026-Q4"))
    assert "2026年第4季度" in text and "走访 7 次" in text  # leader1's October visit


async def test_team_leader_never_sees_another_team(bot: Harness, seed: Seed, db: Database) -> None:
    u = await people_in(bot, seed, db)
    for who in ("captain1", "deputy1"):
        text = texts(await bot.send(u[who], "/summary"))
        assert "工作汇总｜城关镇工作队" in text and "走访 6 次" in text
        assert "河口" not in text and "全县" not in text
        assert "按工作组" in text and "城关一组" in text
    text = texts(await bot.send(u["captain2"], "/summary 本月"))
    assert "走访 1 次" in text and "城关" not in text
    # Asking for the other team by name is refused, and shows no numbers.
    calls = await bot.send(u["captain1"], "/summary 河口镇")
    assert texts(calls) == "您只能查看本工作队（组）的数据。"
    for command in ("/coverage", "/overdue", "/cases", "/log 赵敏"):
        text = texts(await bot.send(u["captain1"], command))
        assert "河口" not in text and "赵敏（" not in text, command


async def test_group_leader_sees_the_group(bot: Harness, seed: Seed, db: Database) -> None:
    u = await people_in(bot, seed, db)
    text = texts(await bot.send(u["leader1"], "/summary"))
    assert "工作汇总｜城关一组" in text and "走访 4 次" in text and "按干部" in text
    assert "· 张伟：走访 3/8" in text and "李强" not in text and "河口" not in text
    text = texts(await bot.send(u["leader1"], "/overdue"))
    assert "P-1 " in text and "P-5" not in text
    for command in ("/export", "/chart"):
        assert texts(await bot.send(u["leader1"], command)) == "您的角色不能查看这项报表。"


async def test_cadres_get_no_reports(bot: Harness, seed: Seed, db: Database) -> None:
    u = await people_in(bot, seed, db)
    for command in ("/summary", "/coverage", "/overdue", "/log 张伟", "/cases", "/export"):
        assert texts(await bot.send(u["cadre1"], command)) == "您的角色不能查看这项报表。"
    calls = await bot.press(u["cadre1"], "menu:v1:summary")
    assert [c.params.get("show_alert") for c in calls if c.method == "answerCallbackQuery"] == [
        True
    ]
    # Strangers are told to join first.
    assert "发送 /start" in texts(await bot.send(user(999), "/summary"))


async def test_bad_periods_and_teams_get_examples(bot: Harness, seed: Seed, db: Database) -> None:
    u = await people_in(bot, seed, db)
    for arg in ("2026-13", "🙂", "x" * 300, "2026-11-15..2026-11-01"):
        text = texts(await bot.send(u["office1"], f"/summary {arg}"))
        assert text.startswith("看不懂时间段") and "2026-Q4" in text, arg
    text = texts(await bot.send(u["office1"], "/summary 本月 火星镇"))
    assert "没有找到工作队“火星镇”" in text and "城关镇工作队、河口镇工作队" in text
    text = texts(await bot.send(u["office1"], "/coverage 2026年13月"))
    assert text.startswith("看不懂时间段")
    # Chinese and English period words.
    assert "2026年10月" in texts(await bot.send(u["office1"], "/summary 上月"))
    assert "2026年第47周" in texts(await bot.send(u["office1"], "/summary this week"))


async def test_office_chat_answers_the_office_only(bot: Harness, seed: Seed, db: Database) -> None:
    u = await people_in(bot, seed, db)
    await bot.send(u["office1"], "/bindoffice", chat_id=OFFICE_CHAT)
    text = texts(await bot.send(u["office1"], "/summary", chat_id=OFFICE_CHAT))
    assert "全县" in text and "河口镇工作队" in text
    assert "全县" in texts(await bot.send(u["inspector1"], "/overdue", chat_id=OFFICE_CHAT))
    for who in ("cadre1", "captain1", "leader1"):
        assert shown(await bot.send(u[who], "/summary", chat_id=OFFICE_CHAT)) == []
    assert shown(await bot.send(user(998), "/summary", chat_id=OFFICE_CHAT)) == []


async def test_an_answer_in_a_forum_topic_stays_in_that_topic(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await people_in(bot, seed, db)
    await bot.send(u["office1"], "/bindoffice", chat_id=OFFICE_CHAT)
    data = bot.text_update(u["office1"], "/overdue", chat_id=OFFICE_CHAT)
    data["message"].update(message_thread_id=7, is_topic_message=True)
    sent = [c for c in await bot.process(data) if c.method == "sendMessage"]
    assert sent and all(c.params.get("message_thread_id") == 7 for c in sent)
    plain = await bot.send(u["office1"], "/overdue", chat_id=OFFICE_CHAT)
    assert plain and all("message_thread_id" not in c.params for c in plain)


async def test_team_chat_shows_only_that_team(bot: Harness, seed: Seed, db: Database) -> None:
    u = await people_in(bot, seed, db)
    await bot.send(u["captain1"], "/bindteam", chat_id=TEAM_CHAT)
    for who in ("office1", "captain1", "deputy1", "inspector1"):
        text = texts(await bot.send(u[who], "/summary", chat_id=TEAM_CHAT))
        assert "城关镇工作队" in text and "河口" not in text and "全县" not in text, who
    text = texts(await bot.send(u["office1"], "/summary 河口镇", chat_id=TEAM_CHAT))
    assert "河口镇工作队：" not in text and "走访 1 次" not in text
    for who in ("captain2", "leader1", "cadre1"):
        assert shown(await bot.send(u[who], "/summary", chat_id=TEAM_CHAT)) == [], who


async def test_other_group_chats_get_no_numbers(bot: Harness, seed: Seed, db: Database) -> None:
    u = await people_in(bot, seed, db)
    text = texts(await bot.send(u["office1"], "/summary", chat_id=OTHER_CHAT))
    assert text == "请在与机器人的私聊中查看报表。"
    assert shown(await bot.send(u["cadre1"], "/summary", chat_id=OTHER_CHAT)) == []
    assert shown(await bot.send(user(997), "/export", chat_id=OTHER_CHAT)) == []


async def test_log_by_name_phone_and_ambiguous_buttons(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await people_in(bot, seed, db)
    text = texts(await bot.send(u["office1"], "/log 张伟"))
    assert "📒 工作日志｜张伟（队员，城关一组）｜2026年11月" in text and "走访 3 次" in text
    assert "工作日志｜张伟" in texts(await bot.send(u["office1"], "/log 13800000001"))
    assert "本期没有走访记录" in texts(await bot.send(u["office1"], "/log 张伟 2026-10"))
    assert texts(await bot.send(u["office1"], "/log")).startswith("请写上干部的姓名")
    assert "没有找到“不存在”" in texts(await bot.send(u["office1"], "/log 不存在"))

    # A second 张伟, in the other team: the office must pick.
    now = utcnow_text()
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO cadres (name, phone, role, team_id, group_id, unit, created_at,"
            " updated_at) VALUES ('张伟', '+8613800000099', 'cadre', ?, ?, '', ?, ?)",
            (seed.teams["T2"], seed.groups["G3"], now, now),
        )
        other = int(cur.lastrowid or 0)
    calls = await bot.send(u["office1"], "/log 张伟")
    [choice] = [c for c in shown(calls) if c.buttons]
    assert choice.text == "找到多位干部，请选择："
    labels = [b for b, _ in choice.buttons]
    assert len(labels) == 2 and any("河口一组" in b for b in labels)
    assert all("0099" in b or "0001" in b for b in labels) and "13800000099" not in str(labels)
    calls = await bot.tap(u["office1"], "河口一组")
    assert "工作日志｜张伟（队员，河口一组）" in texts(calls)

    # The team leader sees only their own 张伟, directly.
    text = texts(await bot.send(u["captain1"], "/log 张伟"))
    assert "城关一组" in text and "河口" not in text
    # A forged button for the other team's 张伟 is refused with an alert.
    data = f"rpt:v1:log:{other}:20261101-20261201"
    calls = await bot.press(u["captain1"], data)
    alerts = [c for c in calls if c.method == "answerCallbackQuery"]
    assert alerts and alerts[0].params.get("show_alert") and shown(calls) == []
    calls = await bot.press(u["cadre1"], data)
    assert shown(calls) == [] and calls[-1].params.get("show_alert")
    for bad in ("rpt:v1:log:abc:20261101-20261201", "rpt:v1:log:1:2026", "rpt:v9:log:1:x"):
        calls = await bot.press(u["office1"], bad)
        assert shown(calls) == [] and calls[-1].params.get("show_alert"), bad


async def test_cases_and_the_menu_button(bot: Harness, seed: Seed, db: Database) -> None:
    u = await people_in(bot, seed, db)
    text = texts(await bot.send(u["office1"], "/cases"))
    assert "典型案例线索｜全县｜2026年11月，共 1 条" in text and "对接银行贷款" in text
    calls = await bot.press(u["captain1"], "menu:v1:summary")
    assert "工作汇总｜城关镇工作队" in texts(calls)
    help_text = texts(await bot.send(u["office1"], "/help"))
    for command in ("/summary", "/coverage", "/overdue", "/log", "/cases", "/export", "/chart"):
        assert command in help_text
    assert "/export" not in texts(await bot.send(u["leader1"], "/help"))


async def test_long_lists_are_split_and_capped(bot: Harness, seed: Seed, db: Database) -> None:
    u = await people_in(bot, seed, db)
    for i in range(150):
        await add_problem(
            db,
            seed.cadres["cadre2"],
            seed.places["e1"],
            local(2026, 10, 1) + timedelta(hours=i),
            deadline=local(2026, 10, 8) + timedelta(hours=i),
            description=f"第{i}号问题：" + "企业用电线路老化需要改造" * 20,
        )
    calls = shown(await bot.send(u["office1"], "/overdue"))
    assert len(calls) > 1 and all(len(c.text) <= 4096 for c in calls)
    text = texts(calls)
    assert "共 152 件" in text and "另有 121 条未列出" in text
    assert "茶厂取水口淤塞" in text  # the office's one is not crowded out


async def test_export_arrives_as_a_workbook(
    bot: Harness, seed: Seed, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    u = await people_in(bot, seed, db)
    api: CapturingAPI = bot.api  # type: ignore[assignment]
    release = threading.Event()
    build = report_handlers._export_file

    def slow_build(ask: Any) -> Any:
        release.wait(10)
        return build(ask)

    monkeypatch.setattr(report_handlers, "_export_file", slow_build)
    calls = await bot.send(u["office1"], "/export 2026-11")
    assert texts(calls) == "⏳ 正在生成全县2026年11月的 Excel 报表，好了会发到这里。"
    # Asking again while it is being built: told to wait, nothing more is built.
    assert texts(await bot.send(u["office1"], "/export")) == "您要的上一份报表还在生成，请稍候。"
    # Meanwhile the bot answers others at once.
    assert "工作汇总" in texts(await bot.send(u["captain1"], "/summary"))
    release.set()
    await report_handlers.wait_for_jobs(bot.app)
    docs = [c for c in api.calls if c.method == "sendDocument"]
    assert len(docs) == 1 and docs[0].chat_id == 701
    assert "全县｜2026年11月 工作报表" in docs[0].text
    [(method, filename, data)] = api.files
    assert (method, filename) == ("sendDocument", "fieldbot-report-2026-11.xlsx")
    wb = openpyxl.load_workbook(BytesIO(data))
    assert wb.sheetnames[:5] == ["汇总", "走访记录", "问题台账", "处理记录", "干部进度"]
    assert len(list(wb["走访记录"].iter_rows(min_row=2))) == 7

    # The team leader's workbook has their team only.
    api.files.clear()
    await bot.send(u["captain1"], "/export")
    await report_handlers.wait_for_jobs(bot.app)
    wb = openpyxl.load_workbook(BytesIO(api.files[0][2]))
    assert "河口镇工作队" not in wb.sheetnames and "城关镇工作队" in wb.sheetnames


async def test_same_export_update_twice_sends_one_file(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await people_in(bot, seed, db)
    update = bot.text_update(u["office1"], "/export")
    await bot.process(update)
    await bot.process(update)
    await report_handlers.wait_for_jobs(bot.app)
    assert len([c for c in bot.api.calls if c.method == "sendDocument"]) == 1


async def test_chart_is_a_png(bot: Harness, seed: Seed, db: Database) -> None:
    import matplotlib.image

    from tests.report_factories import has_cjk_font

    if not has_cjk_font():
        pytest.skip("no Chinese font here (apt-get install fonts-noto-cjk)")

    u = await people_in(bot, seed, db)
    api: CapturingAPI = bot.api  # type: ignore[assignment]
    calls = await bot.send(u["inspector1"], "/chart")
    assert "正在绘制全县2026年11月的统计图" in texts(calls)
    await report_handlers.wait_for_jobs(bot.app)
    [photo] = [c for c in api.calls if c.method == "sendPhoto"]
    assert "📈 全县｜2026年11月 统计图" in photo.text
    data = api.files[0][2]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(BytesIO(data), format="png")
    height, width = image.shape[:2]
    assert width >= 1000 and height >= 400


async def test_chart_without_a_chinese_font_says_so(
    bot: Harness, seed: Seed, db: Database, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    u = await people_in(bot, seed, db)
    monkeypatch.setattr(chart_module, "CJK_FAMILIES", ("No Such Font SC",))
    monkeypatch.delenv(chart_module.FONT_ENV, raising=False)
    with caplog.at_level(logging.ERROR, logger="reports.chart"):
        await bot.send(u["office1"], "/chart")
        await report_handlers.wait_for_jobs(bot.app)
    assert "没有中文字体" in bot.api.last(701).text
    assert not [c for c in bot.api.calls if c.method == "sendPhoto"]
    assert any("no CJK font" in r.getMessage() for r in caplog.records)


async def test_a_very_long_argument_is_cut_in_the_answer(
    bot: Harness, seed: Seed, db: Database
) -> None:
    """Issue 12 #10: the echoed input is cut, so every answer stays within Telegram's
    4096 characters (the fake Bot API refuses longer ones, as Telegram does)."""
    u = await people_in(bot, seed, db)
    long_word = "x" * 4000
    many_words = " ".join(["镇"] * 1999)
    for command in ("summary", "coverage", "overdue", "cases", "export", "chart", "log"):
        for arg in (long_word, many_words, "本月 " + long_word):
            calls = await bot.send(u["office1"], f"/{command} {arg}")
            sent = shown(calls)
            assert sent, f"/{command} with {len(arg)} characters got no answer"
            for c in sent:
                assert len(c.text) <= 4096, f"/{command}: {len(c.text)} characters"
                assert "出错了" not in c.text and "出了问题" not in c.text, c.text[:80]
            # Cut, not merely under the limit: a reply never carries the input whole.
            assert len(texts(calls)) < 1500, f"/{command} echoed {len(texts(calls))} characters"
