"""The fake Bot API server answers a real python-telegram-bot client over HTTP as
Telegram does: offsets confirm updates, refusals match the in-process fake, the control
API queues updates, presses buttons, reports calls and kills on cue."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import threading

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, InvalidToken

from tests.fakebot import TOKEN, TgUser
from tests.fakeserver import ControlClient, FakeServer, KillPlan
from tests.updates import Updates


def _bot(server: FakeServer, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=server.base_url, base_file_url=f"{server.url}/file/bot")


async def test_get_updates_follows_offsets(fake_server: FakeServer) -> None:
    control = ControlClient(fake_server.url)
    u = Updates()
    ids = [control.post_update(u.text(TgUser(1), f"m{i}")) for i in range(4)]
    async with _bot(fake_server) as bot:
        first = await bot.get_updates()
        assert [x.update_id for x in first] == ids
        # Not confirmed: delivered again.
        assert [x.update_id for x in await bot.get_updates()] == ids
        # offset confirms everything below it, for good.
        assert [x.update_id for x in await bot.get_updates(offset=ids[2])] == ids[2:]
        assert [x.update_id for x in await bot.get_updates()] == ids[2:]
        assert [x.update_id for x in await bot.get_updates(offset=-1)] == ids[3:]
        assert [x.update_id for x in await bot.get_updates(offset=ids[3] + 1)] == []
    state = control.state()
    assert state["confirmed"] == ids[3] + 1 and state["pending"] == []
    assert state["deliveries"][str(ids[0])] == 2


async def test_long_poll_returns_when_an_update_arrives(fake_server: FakeServer) -> None:
    control = ControlClient(fake_server.url)
    async with _bot(fake_server) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30, read_timeout=40))
        await asyncio.to_thread(
            fake_server.fake.wait_until, lambda: fake_server.fake.polls == 1, 10
        )
        uid = control.post_update(Updates().text(TgUser(2), "hello"))
        got = await asyncio.wait_for(poll, 20)
    assert [x.update_id for x in got] == [uid]
    assert got[0].message is not None and got[0].message.text == "hello"


async def test_refusals_match_the_in_process_fake(fake_server: FakeServer) -> None:
    async with _bot(fake_server) as bot:
        with pytest.raises(BadRequest, match="text is empty"):
            await bot.send_message(5, "   ")
        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(5, "长" * 4097)
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="y" * 65)]])
            await bot.send_message(5, "buttons", reply_markup=markup)
        with pytest.raises(BadRequest, match="not found"):
            await bot.edit_message_text("new", chat_id=5, message_id=999)
        sent = await bot.send_message(5, "一条消息 with 中文")
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("一条消息 with 中文", chat_id=5, message_id=sent.message_id)
        edited = await bot.edit_message_text("改过了", chat_id=5, message_id=sent.message_id)
        assert edited.text == "改过了"  # type: ignore[union-attr]
        with pytest.raises(BadRequest, match="(?i)message_too_long"):
            await bot.answer_callback_query("1", text="x" * 201, show_alert=True)
    refused = [c for c in fake_server.fake.log if not c.ok]
    assert len(refused) == 6


async def test_wrong_token_is_unauthorised(fake_server: FakeServer) -> None:
    with pytest.raises(InvalidToken):
        async with _bot(fake_server, "123:wrong-token-xxxxxxxxxxxxxxxxxxxxxxxxxxxx"):
            pass


async def test_files_and_albums_over_multipart(fake_server: FakeServer) -> None:
    from telegram import InputMediaPhoto

    async with _bot(fake_server) as bot:
        doc = await bot.send_document(
            7, io.BytesIO(b"a,b\n1,2\n"), filename="汇总.csv", caption="导出"
        )
        assert doc.caption == "导出"
        photo = await bot.send_photo(7, io.BytesIO(b"\x89PNG fake"), caption="照片")
        assert photo.photo
        album = await bot.send_media_group(
            7, [InputMediaPhoto(io.BytesIO(b"1")), InputMediaPhoto(io.BytesIO(b"2"))]
        )
        assert len(album) == 2
        assert await bot.set_my_commands([("start", "开始")])
    control = ControlClient(fake_server.url)
    sent = control.sent(chat_id=7)
    assert [c["method"] for c in sent] == ["sendDocument", "sendPhoto", "sendMediaGroup"]
    assert sent[0]["params"]["document"]["file_name"] == "汇总.csv"


async def test_press_finds_the_button_and_reset_forgets(fake_server: FakeServer) -> None:
    control = ControlClient(fake_server.url)
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("中文", callback_data="lang:v1:set:zh-CN")]]
        + [[InlineKeyboardButton("English", callback_data="lang:v1:set:en")]]
    )
    async with _bot(fake_server) as bot:
        await bot.send_message(8, "choose", reply_markup=markup)
        uid = control.press(TgUser(8).as_dict(), 8, "English")
        (update,) = await bot.get_updates(offset=uid)
    assert update.callback_query is not None
    assert update.callback_query.data == "lang:v1:set:en"
    assert update.callback_query.message.text == "choose"  # type: ignore[union-attr]
    with pytest.raises(LookupError):
        control.press(TgUser(8).as_dict(), 8, "Français")
    control.reset()
    assert control.sent() == [] and control.state()["pending"] == []


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


async def test_armed_kill_fires_at_the_chosen_call(fake_server: FakeServer) -> None:
    victim = _sleeper()
    control = ControlClient(fake_server.url)
    control.arm_kill(victim.pid, nth=2, method="sendMessage", phase="before")
    async with _bot(fake_server) as bot:
        await bot.send_message(9, "one")
        with pytest.raises(Exception):  # noqa: B017 - the connection just closes
            await bot.send_message(9, "two", read_timeout=5)
    assert victim.wait(timeout=10) == -9
    # "before": the second message never reached Telegram.
    assert [c["params"]["text"] for c in control.sent(chat_id=9)] == ["one"]
    after = _sleeper()
    fake_server.fake.arm_kill(KillPlan(after.pid, method="sendMessage", phase="after"))
    async with _bot(fake_server) as bot:
        with pytest.raises(Exception):  # noqa: B017
            await bot.send_message(9, "three", read_timeout=5)
    assert after.wait(timeout=10) == -9
    # "after": Telegram did it, the bot never heard back.
    assert [c["params"]["text"] for c in control.sent(chat_id=9)] == ["one", "three"]


def test_an_injected_failure_answers_once(fake_server: FakeServer) -> None:
    control = ControlClient(fake_server.url)
    control.fail_next("sendMessage", 500, "Internal Server Error: boom")

    async def two() -> list[str]:
        out = []
        async with _bot(fake_server) as bot:
            for text in ("a", "b"):
                try:
                    await bot.send_message(10, text)
                    out.append("ok")
                except Exception as exc:  # noqa: BLE001
                    out.append(type(exc).__name__)
        return out

    result: list[list[str]] = []
    t = threading.Thread(target=lambda: result.append(asyncio.run(two())))
    t.start()
    t.join(30)
    assert result == [["NetworkError", "ok"]]


async def test_a_button_press_is_answered_once(fake_server: FakeServer) -> None:
    async with _bot(fake_server) as bot:
        assert await bot.answer_callback_query("q1")
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query("q1", text="again")
        assert await bot.answer_callback_query("q2")
