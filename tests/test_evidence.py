"""Evidence you can open: a visit's photos, voice note and location, and a problem's
photos, sent again from the visit card, /log and a problem's history, to whoever may
see the record; and the files noted for download in the transaction that stores them."""

from __future__ import annotations

from campaign.callbacks import EVIDENCE
from campaign.i18n import default_catalog
from storage.db import Database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import Call, FakeBotAPI, Harness, TgUser, shown
from tests.problem_helpers import raise_via_chat
from tests.visits_support import alerts, flow, rows

T = default_catalog()


def zh(key: str, **values: object) -> str:
    return T.t("zh-CN", key, **values)


def media_calls(calls: list[Call]) -> list[str]:
    return [
        c.method
        for c in calls
        if c.method in ("sendMediaGroup", "sendPhoto", "sendVoice", "sendLocation")
    ]


async def visit_with_everything(bot: Harness, u: TgUser) -> None:
    """A visit with two photos, a voice note and a location, through the real flow."""
    await flow(bot, u, submit=False)
    await bot.tap(u, "人数/照片/定位")
    await bot.photo(u, "ph-a", media_group_id="alb")
    await bot.photo(u, "ph-b", media_group_id="alb")
    await bot.voice(u, "vo-1", duration=12)
    await bot.location(u, 30.001, 114.001)
    await bot.tap(u, "下一步")
    calls = await bot.tap(u, "提交")
    assert "已提交" in shown(calls)[-1].text


async def test_a_visit_notes_its_files_and_its_card_opens_them(
    bot: Harness, seed: Seed, db: Database, api: FakeBotAPI
) -> None:
    u = await join(bot, seed, "cadre1", 901)
    await visit_with_everything(bot, u)
    noted = await rows(
        db, "SELECT owner, owner_id, kind, position, file_id, status FROM media_files ORDER BY id"
    )
    assert [(r["owner"], r["kind"], r["position"], r["file_id"], r["status"]) for r in noted] == [
        ("visit", "photo", 0, "ph-a", "pending"),
        ("visit", "photo", 1, "ph-b", "pending"),
        ("visit", "voice", 0, "vo-1", "pending"),
    ]
    await bot.send(u, "/my")
    await bot.tap(u, "#1")
    calls = await bot.tap(u, zh("evidence.button"))
    assert media_calls(calls) == ["sendMediaGroup", "sendVoice", "sendLocation"]
    album = next(c for c in calls if c.method == "sendMediaGroup")
    assert "ph-a" in str(album.params["media"]) and "ph-b" in str(album.params["media"])
    voice = next(c for c in calls if c.method == "sendVoice")
    assert voice.params["voice"] == "vo-1"
    pin = next(c for c in calls if c.method == "sendLocation")
    assert (float(pin.params["latitude"]), float(pin.params["longitude"])) == (30.001, 114.001)
    head = shown(calls)[0].text
    assert head.startswith(
        zh(
            "evidence.visit_head",
            id=1,
            photos=2,
            voice=zh("evidence.has_voice"),
            pin=zh("evidence.has_pin"),
        )
    )
    assert all(c.chat_id == u.id for c in calls if c.method.startswith("send"))


async def test_the_group_leader_and_the_team_leader_open_it_too(bot: Harness, seed: Seed) -> None:
    u = await join(bot, seed, "cadre1", 902)
    await visit_with_everything(bot, u)
    for key, uid in (("leader1", 903), ("captain1", 904)):
        leader = await join(bot, seed, key, uid)
        calls = await bot.press(leader, EVIDENCE.build("v", 1))
        assert media_calls(calls) == ["sendMediaGroup", "sendVoice", "sendLocation"]


async def test_an_inspector_opens_it_from_the_log(bot: Harness, seed: Seed) -> None:
    u = await join(bot, seed, "cadre1", 905)
    await visit_with_everything(bot, u)
    inspector = await join(bot, seed, "inspector1", 906)
    calls = await bot.send(inspector, "/log 张伟")
    # One message under the log: the checker's buttons, then the 📎 ones.
    under = shown(calls)[-1]
    assert under.text.endswith(zh("evidence.log_head"))
    labels = [text for text, _ in under.buttons]
    assert zh("checks.button.fix") in labels and zh("evidence.button_short", id=1) in labels
    calls = await bot.tap(inspector, zh("evidence.button_short", id=1))
    assert media_calls(calls) == ["sendMediaGroup", "sendVoice", "sendLocation"]


async def test_someone_outside_the_scope_learns_nothing(
    bot: Harness, seed: Seed, api: FakeBotAPI
) -> None:
    u = await join(bot, seed, "cadre1", 907)
    await visit_with_everything(bot, u)
    for key, uid in (("leader3", 908), ("cadre2", 909), ("captain2", 910)):
        other = await join(bot, seed, key, uid)
        api.clear()
        calls = await bot.press(other, EVIDENCE.build("v", 1))
        assert alerts(calls) == [zh("evidence.not_found")]
        assert media_calls(calls) == [] and shown(calls) == []


async def test_forged_and_stale_presses_get_a_clear_answer(bot: Harness, seed: Seed) -> None:
    u = await join(bot, seed, "cadre1", 911)
    await visit_with_everything(bot, u)
    for data in ("evd:v1:zz:1", "evd:v1:v:abc", "evd:v1:v", "evd:v9:v:1", "evd:v1:v:1:2"):
        calls = await bot.press(u, data)
        assert alerts(calls) == [zh("common.stale_button")], data
        assert media_calls(calls) == []
    calls = await bot.press(u, EVIDENCE.build("v", 999))  # no such visit
    assert alerts(calls) == [zh("evidence.not_found")]


async def test_a_visit_without_evidence_says_so_and_has_no_button(bot: Harness, seed: Seed) -> None:
    u = await join(bot, seed, "cadre1", 912)
    await flow(bot, u)
    await bot.send(u, "/my")
    calls = await bot.tap(u, "#1")
    assert zh("evidence.button") not in [b for b, _ in shown(calls)[-1].buttons]
    calls = await bot.press(u, EVIDENCE.build("v", 1))
    assert alerts(calls) == [zh("evidence.none")]


async def test_a_problem_s_photos_open_from_its_history(
    bot: Harness, seed: Seed, db: Database, api: FakeBotAPI
) -> None:
    u = await join(bot, seed, "cadre1", 913)
    await raise_via_chat(bot, u, photos=2)
    noted = await rows(db, "SELECT owner, kind, file_id FROM media_files ORDER BY id")
    assert [(r["owner"], r["kind"], r["file_id"]) for r in noted] == [
        ("problem", "photo", "ph0"),
        ("problem", "photo", "ph1"),
    ]
    await bot.send(u, "/problems")
    calls = await bot.tap(u, "P-")
    assert zh("evidence.button") in [b for b, _ in shown(calls)[-1].buttons]
    calls = await bot.tap(u, zh("evidence.button"))
    assert media_calls(calls) == ["sendMediaGroup"]
    office = await join(bot, seed, "office1", 914)
    calls = await bot.press(office, EVIDENCE.build("p", 1))
    assert media_calls(calls) == ["sendMediaGroup"]
    outsider = await join(bot, seed, "leader3", 915)
    calls = await bot.press(outsider, EVIDENCE.build("p", 1))
    assert alerts(calls) == [zh("evidence.not_found")] and media_calls(calls) == []


async def test_in_a_group_chat_only_the_log_s_rule_for_that_chat_applies(
    bot: Harness, seed: Seed
) -> None:
    u = await join(bot, seed, "cadre1", 916)
    await visit_with_everything(bot, u)
    captain = await join(bot, seed, "captain1", 917)
    team_chat, other_chat = -100500, -100600
    await bot.send(captain, "/bindteam", chat_id=team_chat)
    # The author may open the card privately, but not into a chat others read.
    calls = await bot.press(u, EVIDENCE.build("v", 1), chat_id=other_chat)
    assert alerts(calls) == [zh("evidence.not_found")] and media_calls(calls) == []
    calls = await bot.press(u, EVIDENCE.build("v", 1), chat_id=team_chat)
    assert alerts(calls) == [zh("evidence.not_found")]
    # The team leader, in the bound team chat, may: /log answers there too.
    calls = await bot.press(captain, EVIDENCE.build("v", 1), chat_id=team_chat)
    assert media_calls(calls) == ["sendMediaGroup", "sendVoice", "sendLocation"]
    assert all(c.chat_id == team_chat for c in calls if c.method.startswith("send"))


async def test_kept_copies_are_sent_when_telegram_no_longer_knows_the_file_ids(
    bot: Harness, seed: Seed, api: FakeBotAPI
) -> None:
    from bot.media import media_fetcher_of
    from tests.fakebot import ApiRefusal

    api.add_file("ph-a", b"jpeg a")
    api.add_file("ph-b", b"jpeg b")
    api.add_file("vo-1", b"ogg")
    u = await join(bot, seed, "cadre1", 918)
    await visit_with_everything(bot, u)
    await media_fetcher_of(bot.app).fetch_due(bot.clock())

    def forgotten(call: Call) -> None:  # as after a change of bot token
        if call.method == "sendVoice" and isinstance(call.params.get("voice"), str):
            raise ApiRefusal(400, "Bad Request: wrong file identifier/HTTP URL specified")
        items = [str(m.get("media")) for m in call.params.get("media", [])]
        if call.method == "sendMediaGroup" and not all(i.startswith("attach://") for i in items):
            raise ApiRefusal(400, "Bad Request: wrong file identifier/HTTP URL specified")

    api.fail = forgotten
    calls = await bot.press(u, EVIDENCE.build("v", 1))
    assert media_calls(calls) == [
        "sendMediaGroup",  # refused: the file ids
        "sendMediaGroup",  # the kept copies, uploaded
        "sendVoice",
        "sendVoice",
        "sendLocation",
    ]
    assert alerts(calls) == []
    head = shown(calls)[0].text
    assert zh("evidence.kept_local", saved=3) in head
