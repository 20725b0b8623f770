"""Joining by phone and by invite, refusals, help, language, and binding chats."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot import app as app_module
from campaign.i18n import default_catalog
from campaign.roles import GROUP_CHAT_COMMANDS, OFFICE_CHAT_COMMANDS, TEAM_CHAT_COMMANDS
from storage import people
from storage.db import Database
from tests.conftest import AppFactory, join, user
from tests.factories import Seed
from tests.fakebot import ApiRefusal, Call, FakeBotAPI, Harness, shown


async def test_stranger_gets_share_phone_button(bot: Harness) -> None:
    u = user(501)
    calls = await bot.send(u, "/start")
    sent = [c for c in calls if c.method == "sendMessage"]
    assert "分享您的手机号" in sent[0].text
    assert sent[0].keyboard[0]["request_contact"] is True


async def test_join_by_own_contact_shows_role_menu(bot: Harness, seed: Seed, db: Database) -> None:
    u = user(502)
    calls = await bot.contact(u, "86 138 0000 0001")  # spaces, no "+": read as +86...
    texts = [c.text for c in calls if c.method == "sendMessage"]
    assert any("张伟" in t and "队员" in t and "城关一组" in t for t in texts)
    assert any(c.method == "setMyCommands" for c in calls)
    cadre = await people.cadre_by_telegram(db, 502)
    assert cadre is not None and cadre.id == seed.cadres["cadre1"]


async def test_a_foreign_number_does_not_bind_as_a_mainland_cadre(
    bot: Harness, seed: Seed, db: Database
) -> None:
    """Issue 12 #3: a contact's number is international digits without the "+";
    13800000001 is a +1 380 number, not the roster's mainland 138 0000 0001."""
    calls = await bot.contact(user(509), "13800000001")
    assert "不在活动花名册" in shown(calls)[-1].text
    assert await people.cadre_by_telegram(db, 509) is None
    await bot.contact(user(509), "8613800000001")  # the same account's real form binds
    cadre = await people.cadre_by_telegram(db, 509)
    assert cadre is not None and cadre.id == seed.cadres["cadre1"]


async def test_someone_elses_contact_is_refused(bot: Harness, db: Database) -> None:
    u = user(503)
    calls = await bot.contact(u, "+8613800000001", owner_id=999)
    assert "本人" in shown(calls)[-1].text
    assert await people.cadre_by_telegram(db, 503) is None


async def test_number_not_on_roster(bot: Harness, db: Database) -> None:
    calls = await bot.contact(user(504), "+8613999999999")
    assert "不在活动花名册" in shown(calls)[-1].text
    assert await db.fetchone("SELECT * FROM telegram_bindings") is None


async def test_second_account_for_same_cadre_is_refused(
    bot: Harness, seed: Seed, db: Database
) -> None:
    await join(bot, seed, "cadre1", 505)
    calls = await bot.contact(user(506), seed.phones["cadre1"])
    assert "另一个 Telegram 账号" in shown(calls)[-1].text
    row = await db.fetchone(
        "SELECT telegram_user_id FROM telegram_bindings WHERE cadre_id = ?",
        (seed.cadres["cadre1"],),
    )
    assert row is not None and row["telegram_user_id"] == 505


async def test_english_user_gets_english(bot: Harness, seed: Seed) -> None:
    u = user(507, lang="en")
    calls = await bot.send(u, "/start")
    assert "Share my phone number" in str(shown(calls)[-1].keyboard)
    calls = await bot.contact(u, seed.phones["captain1"])
    assert any("work team leader" in c.text for c in calls)


async def test_invite_link_binds_a_different_number(bot: Harness, seed: Seed, db: Database) -> None:
    code = await people.create_invite(db, seed.cadres["cadre2"], bot.clock(), timedelta(hours=1))
    u = user(508)
    calls = await bot.send(u, f"/start inv_{code}")
    assert any("王芳" in c.text for c in calls)
    # one-time: a second account cannot use it
    calls = await bot.send(user(509), f"/start inv_{code}")
    assert "已被使用" in shown(calls)[-1].text


async def test_expired_and_unknown_invites(bot: Harness, seed: Seed, db: Database) -> None:
    code = await people.create_invite(db, seed.cadres["cadre3"], bot.clock(), timedelta(hours=1))
    bot.clock.advance(hours=2)  # type: ignore[attr-defined]
    calls = await bot.send(user(510), f"/start inv_{code}")
    assert "已过期" in shown(calls)[-1].text
    calls = await bot.send(user(510), "/start inv_nonsense")
    assert "无效" in shown(calls)[-1].text
    assert await people.cadre_by_telegram(db, 510) is None


async def test_lang_switch(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 511)
    await bot.send(u, "/lang")
    calls = await bot.tap(u, "English")
    assert any("English" in c.text for c in calls if c.method == "editMessageText")
    calls = await bot.send(u, "/help")
    assert "You can use" in shown(calls)[-1].text and "/lang" in shown(calls)[-1].text
    assert await people.saved_language(db, 511) == "en"


async def test_bindteam_by_team_leader(bot: Harness, seed: Seed, db: Database) -> None:
    leader = await join(bot, seed, "captain1", 520)
    calls = await bot.send(leader, "/bindteam", chat_id=-1001)
    assert "城关镇工作队" in shown(calls)[-1].text
    chat = await people.team_chat(db, seed.teams["T1"])
    assert chat is not None and chat.chat_id == -1001


async def test_bindteam_refused_for_others(bot: Harness, seed: Seed, db: Database) -> None:
    cadre = await join(bot, seed, "cadre1", 521)
    calls = await bot.send(cadre, "/bindteam", chat_id=-1002)
    assert "只有工作队队长" in shown(calls)[-1].text
    stranger = user(522)
    calls = await bot.send(stranger, "/bindteam", chat_id=-1002)
    assert calls == []  # strangers in group chats get no answer
    office = await join(bot, seed, "office1", 523)
    await bot.send(office, "/bindteam", chat_id=-1002)
    assert await people.bound_chat(db, -1002) is None


async def test_bindoffice(bot: Harness, seed: Seed, db: Database) -> None:
    leader = await join(bot, seed, "captain1", 530)
    calls = await bot.send(leader, "/bindoffice", chat_id=-2001)
    assert "只有活动办公室" in shown(calls)[-1].text
    office = await join(bot, seed, "office1", 531)
    await bot.send(office, "/bindoffice", chat_id=-2001)
    chat = await people.office_chat(db)
    assert chat is not None and chat.chat_id == -2001


async def test_help_in_a_group_says_what_works_in_that_chat(bot: Harness, seed: Seed) -> None:
    """Not the private-chat help: a team chat, the office chat and a chat not bound yet
    each list their own commands (the same as their menu), in the asker's language."""
    cat = default_catalog()

    def expected(lang: str, head: str, commands: tuple[str, ...]) -> str:
        listed = [f"/{c} — {cat.t(lang, f'commands.{c}')}" for c in commands]
        return "\n".join([head, *listed, cat.t(lang, "help.group_private")])

    leader = await join(bot, seed, "captain1", 535)
    office = await join(bot, seed, "office1", 536)
    cadre = await join(bot, seed, "cadre1", 537)
    said = shown(await bot.send(cadre, "/help", chat_id=-2101))[-1].text
    assert said == expected("zh-CN", cat.t("zh-CN", "help.unbound_chat"), GROUP_CHAT_COMMANDS)
    await bot.send(leader, "/bindteam", chat_id=-2101)
    await bot.send(office, "/bindoffice", chat_id=-2102)
    bot.clock.advance(seconds=app_module.REPEAT_SECONDS + 1)  # type: ignore[attr-defined]
    said = shown(await bot.send(cadre, "/help", chat_id=-2101))[-1].text
    head = cat.t("zh-CN", "help.team_chat", team="城关镇工作队")
    assert said == expected("zh-CN", head, TEAM_CHAT_COMMANDS)
    await bot.send(office, "/lang")
    await bot.tap(office, "English")
    said = shown(await bot.send(office, "/help", chat_id=-2102))[-1].text
    assert said == expected("en", cat.t("en", "help.office_chat"), OFFICE_CHAT_COMMANDS)
    # Private chats keep the role's help; strangers in a group still get no answer.
    assert (
        cat.t("zh-CN", "help.intro", role="队员") in shown(await bot.send(cadre, "/help"))[-1].text
    )
    assert shown(await bot.send(user(538), "/help", chat_id=-2101)) == []


def _replied_to(call: Call) -> dict[str, Any] | None:
    raw = call.params.get("reply_parameters")
    return json.loads(raw) if isinstance(raw, str) else raw


async def test_answers_in_a_group_reply_to_the_asker(
    bot: Harness, seed: Seed, api: FakeBotAPI
) -> None:
    """A busy office chat: each answer quotes the message it answers, and still goes when
    that message was deleted meanwhile (Telegram refuses the reply otherwise)."""

    def deleted_meanwhile(call: Call) -> None:
        asked = _replied_to(call) if call.method == "sendMessage" else None
        if asked is not None and not asked.get("allow_sending_without_reply"):
            raise ApiRefusal(400, "Bad Request: message to be replied not found")

    api.fail = deleted_meanwhile
    office = await join(bot, seed, "office1", 539)
    asked = bot.text_update(office, "/bindoffice", chat_id=-2201)
    calls = shown(await bot.process(asked))
    assert [_replied_to(c) for c in calls] == [
        {"message_id": asked["message"]["message_id"], "allow_sending_without_reply": True}
    ]
    asked = bot.text_update(office, "/help", chat_id=-2201)
    calls = shown(await bot.process(asked))
    assert calls and all(
        _replied_to(c)
        == {"message_id": asked["message"]["message_id"], "allow_sending_without_reply": True}
        for c in calls
    )
    # A private chat is a conversation: no quotes there.
    calls = shown(await bot.send(office, "/help"))
    assert calls and all(_replied_to(c) is None for c in calls)


async def test_duplicate_update_is_processed_once(bot: Harness, seed: Seed) -> None:
    u = user(540)
    update = bot.text_update(u, "/start")
    first = await bot.process(update)
    second = await bot.process(update)
    assert first and second == []


async def test_forged_button_gets_alert(bot: Harness, seed: Seed) -> None:
    u = await join(bot, seed, "cadre1", 541)
    for data in ("lang:v1:set:fr", "nonsense", "menu:v9:help", "x" * 64):
        calls = await bot.press(u, data)
        assert calls[-1].method == "answerCallbackQuery"
        assert calls[-1].params.get("show_alert") is True


async def test_update_delivered_again_after_a_restart_is_ignored(
    make_bot: AppFactory, seed: Seed, db: Database
) -> None:
    first = await make_bot()
    u = user(542)
    old = first.text_update(u, "/start")
    skipped = first.text_update(u, "/help")  # never handled before the restart
    newest = first.text_update(u, "/lang")
    assert await first.process(old)
    assert await first.process(newest)
    await db.sync()  # the runner does this before it confirms a batch to Telegram
    second = await make_bot()  # a restart: nothing in memory
    assert await second.process(old) == []
    assert await second.process(newest) == []
    assert shown(await second.process(skipped))  # older id, but new to us: handled


async def test_update_handled_but_not_yet_synced_is_handled_again_after_a_crash(
    make_bot: AppFactory, seed: Seed, db: Database
) -> None:
    # A crash before the sync: Telegram was not told either, so it delivers the update
    # again, and the cadre gets the answer again rather than none.
    first = await make_bot()
    u = user(545)
    old = first.text_update(u, "/start")
    assert await first.process(old)
    assert db.pending_marks == 1
    second = await make_bot()
    assert shown(await second.process(old))


async def test_bind_commands_in_private_tell_only_those_who_may(bot: Harness, seed: Seed) -> None:
    leader = await join(bot, seed, "captain1", 543)
    assert "/bindteam" in shown(await bot.send(leader, "/bindteam"))[-1].text
    cadre = await join(bot, seed, "cadre1", 544)
    assert "只有工作队队长" in shown(await bot.send(cadre, "/bindteam"))[-1].text
    assert "只有活动办公室" in shown(await bot.send(cadre, "/bindoffice"))[-1].text


async def test_a_failed_sync_after_a_batch_loses_no_answer_and_no_mark(
    bot: Harness, seed: Seed, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> None:
        raise OSError("disk full")

    monkeypatch.setattr(app_module, "MARKS_PER_SYNC", 1)
    monkeypatch.setattr(db, "sync", broken)
    assert shown(await bot.send(user(546), "/start"))
    assert db.pending_marks == 1  # kept for the next sync


# --- issue 12 #2: a bound chat is not taken from its owner -----------------------------------


async def bindings(db: Database) -> list[tuple[int, str, int | None]]:
    rows = await db.fetchall("SELECT chat_id, kind, team_id FROM bound_chats ORDER BY chat_id")
    return [(r["chat_id"], r["kind"], r["team_id"]) for r in rows]


async def test_another_teams_chat_is_not_taken(bot: Harness, seed: Seed, db: Database) -> None:
    a = await join(bot, seed, "captain1", 550)
    b = await join(bot, seed, "captain2", 551)
    await bot.send(a, "/bindteam", chat_id=-1101)
    await bot.send(b, "/bindteam", chat_id=-1102)
    before = await bindings(db)
    calls = await bot.send(b, "/bindteam", chat_id=-1101)
    assert "城关镇工作队" in shown(calls)[-1].text and "不能" in shown(calls)[-1].text
    assert await bindings(db) == before
    chat = await people.team_chat(db, seed.teams["T1"])
    assert chat is not None and chat.chat_id == -1101


async def test_the_office_chat_and_a_team_chat_are_not_swapped(
    bot: Harness, seed: Seed, db: Database
) -> None:
    leader = await join(bot, seed, "captain1", 552)
    office = await join(bot, seed, "office1", 553)
    await bot.send(leader, "/bindteam", chat_id=-1201)
    await bot.send(office, "/bindoffice", chat_id=-1202)
    before = await bindings(db)
    refused_team = shown(await bot.send(leader, "/bindteam", chat_id=-1202))[-1].text
    refused_office = shown(await bot.send(office, "/bindoffice", chat_id=-1201))[-1].text
    assert "活动办公室群" in refused_team and "城关镇工作队" in refused_office
    assert await bindings(db) == before


async def test_binding_the_own_chat_again_changes_nothing(
    bot: Harness, seed: Seed, db: Database
) -> None:
    leader = await join(bot, seed, "captain1", 554)
    deputy = await join(bot, seed, "deputy1", 555)
    await bot.send(leader, "/bindteam", chat_id=-1301)
    before = await bindings(db)
    calls = await bot.send(deputy, "/bindteam", chat_id=-1301)
    assert "城关镇工作队" in shown(calls)[-1].text
    assert await bindings(db) == before
    # Moving one's own team to a new chat is still possible.
    await bot.send(leader, "/bindteam", chat_id=-1302)
    chat = await people.team_chat(db, seed.teams["T1"])
    assert chat is not None and chat.chat_id == -1302


# --- issue 12 #4: an edited command changes nothing ------------------------------------------


def edited(update: dict[str, object]) -> dict[str, object]:
    return {"update_id": update["update_id"], "edited_message": update["message"]}


async def test_edited_commands_change_nothing(bot: Harness, seed: Seed, db: Database) -> None:
    leader = await join(bot, seed, "captain1", 560)
    office = await join(bot, seed, "office1", 561)
    cadre = await join(bot, seed, "cadre1", 562)
    for u, text, chat in (
        (leader, "/bindteam", -1401),
        (office, "/bindoffice", -1402),
        (leader, "/summary", -1401),
        (cadre, "/help", -1401),
    ):
        calls = await bot.process(edited(bot.text_update(u, text, chat_id=chat)))
        assert shown(calls) == [], text  # silence in groups
    assert await bindings(db) == []
    hint = default_catalog().t("zh-CN", "common.edited_ignored")
    for u, text in ((cadre, "/mute 3d"), (cadre, "/lang"), (office, "/summary"), (cadre, "/start")):
        calls = await bot.process(edited(bot.text_update(u, text)))
        assert [c.text for c in shown(calls)] == [hint], text
    assert await db.fetchone("SELECT * FROM reminder_mutes") is None
