"""Photos and voice notes kept in the data folder as they arrive: the media worker
(bot/media.py) fetches what the visit and problem writes noted, within the size cap,
retrying a failed download and then giving it up, with nothing else changed."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

from bot.media import media_fetcher_of
from bot.sending import request_of as queued
from campaign import media as rules
from campaign.message import Message, from_json, to_json
from campaign.settings import MediaSettings, Settings
from handlers.screen import request_of
from storage.db import Database
from tests.conftest import AppFactory, join
from tests.factories import Seed
from tests.fakebot import ApiRefusal, Call, FakeBotAPI, Harness
from tests.problem_helpers import raise_via_chat
from tests.visits_support import count, flow, rows


def folder(settings: Settings) -> Path:
    where = settings.media.folder_for(settings.storage.database)
    assert where is not None
    return Path(where)


async def visit_with_photo_and_voice(bot: Harness, seed: Seed, user_id: int) -> None:
    u = await join(bot, seed, "cadre1", user_id)
    await flow(bot, u, submit=False)
    await bot.tap(u, "人数/照片/定位")
    await bot.photo(u, "ph-a")
    await bot.voice(u, "vo-1")
    await bot.tap(u, "下一步")
    await bot.tap(u, "提交")


async def test_pending_files_are_saved_under_names_made_of_ids(
    bot: Harness, seed: Seed, db: Database, api: FakeBotAPI, settings: Settings
) -> None:
    api.add_file("ph-a", b"\xff\xd8jpeg bytes", path="photos/../../../etc/passwd")
    api.add_file("vo-1", b"OggS voice", path="voice/file_1 (копия).oga")
    await visit_with_photo_and_voice(bot, seed, 930)
    report = await media_fetcher_of(bot.app).fetch_due(bot.clock())
    assert sorted(report.outcomes.values()) == ["saved", "saved"]
    saved = await rows(db, "SELECT id, kind, status, size, path FROM media_files ORDER BY id")
    photo, voice = saved
    assert photo["path"] == f"visits/1/photo-0-{photo['id']}.jpg" and photo["size"] == 12
    assert voice["path"] == f"visits/1/voice-0-{voice['id']}.ogg"
    root = folder(settings)
    assert (root / photo["path"]).read_bytes() == b"\xff\xd8jpeg bytes"
    assert (root / voice["path"]).read_bytes() == b"OggS voice"
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == sorted([photo["path"], voice["path"]])  # nothing beside, nothing outside
    assert not (root.parent / "etc").exists()
    again = await media_fetcher_of(bot.app).fetch_due(bot.clock())
    assert again.outcomes == {}  # a saved file is not fetched twice


async def test_a_file_over_the_cap_is_not_downloaded(
    make_bot: AppFactory, seed: Seed, db: Database, api: FakeBotAPI
) -> None:
    bot = await make_bot(media=MediaSettings(max_mb=1.0))
    api.add_file("ph-a", b"small", size=2 * 1024 * 1024)  # getFile says 2 MB
    api.add_file("vo-1", b"x", size=25 * 1024 * 1024)  # Telegram refuses over 20 MB
    await visit_with_photo_and_voice(bot, seed, 931)
    report = await media_fetcher_of(bot.app).fetch_due(bot.clock())
    assert sorted(report.outcomes.values()) == ["too_big", "too_big"]
    assert [c for c in api.calls if c.method == "download"] == []
    photo = (await rows(db, "SELECT size FROM media_files WHERE kind = 'photo'"))[0]
    assert photo["size"] == 2 * 1024 * 1024


async def test_a_failing_download_is_retried_then_given_up_and_nothing_else_changes(
    make_bot: AppFactory, seed: Seed, db: Database, api: FakeBotAPI
) -> None:
    bot = await make_bot(media=MediaSettings(max_attempts=3, retry_seconds=60.0))

    def broken(call: Call) -> None:
        if call.method == "download":
            raise ApiRefusal(502, "Bad Gateway")

    await visit_with_photo_and_voice(bot, seed, 932)
    visit_before = await rows(db, "SELECT * FROM visits")
    api.fail = broken
    fetcher = media_fetcher_of(bot.app)
    report = await fetcher.fetch_due(bot.clock())
    assert sorted(report.outcomes.values()) == ["pending", "pending"]
    state = await rows(db, "SELECT status, attempts, next_try_at, error FROM media_files")
    assert {(r["status"], r["attempts"]) for r in state} == {("pending", 1)}
    assert "Bad Gateway" in state[0]["error"]
    assert (await fetcher.fetch_due(bot.clock())).outcomes == {}  # not before its time
    bot.clock.advance(seconds=60)
    assert sorted((await fetcher.fetch_due(bot.clock())).outcomes.values()) == ["pending"] * 2
    bot.clock.advance(seconds=120)  # twice as long the second time
    assert sorted((await fetcher.fetch_due(bot.clock())).outcomes.values()) == ["failed"] * 2
    bot.clock.advance(days=1)
    assert (await fetcher.fetch_due(bot.clock())).outcomes == {}
    assert await count(db, "SELECT COUNT(*) FROM media_files WHERE status = 'failed'") == 2
    assert await rows(db, "SELECT * FROM visits") == visit_before
    assert await count(db, "SELECT COUNT(*) FROM outbox") == 0


async def test_an_unknown_file_id_is_retried_like_any_failure(
    bot: Harness, seed: Seed, db: Database, api: FakeBotAPI
) -> None:
    api.missing_files.add("ph-a")
    await visit_with_photo_and_voice(bot, seed, 933)
    report = await media_fetcher_of(bot.app).fetch_due(bot.clock())
    assert sorted(report.outcomes.values()) == ["pending", "saved"]


async def test_problem_photos_are_kept_too(
    bot: Harness, seed: Seed, db: Database, settings: Settings
) -> None:
    u = await join(bot, seed, "cadre1", 934)
    await raise_via_chat(bot, u, photos=2)
    report = await media_fetcher_of(bot.app).fetch_due(bot.clock())
    assert sorted(report.outcomes.values()) == ["saved", "saved"]
    paths = [r["path"] for r in await rows(db, "SELECT path FROM media_files ORDER BY id")]
    assert all(p.startswith("problems/1/photo-") for p in paths)
    assert all((folder(settings) / p).is_file() for p in paths)


async def test_with_downloading_off_nothing_is_noted(
    make_bot: AppFactory, seed: Seed, db: Database
) -> None:
    bot = await make_bot(media=MediaSettings(download=False))
    await visit_with_photo_and_voice(bot, seed, 935)
    assert await count(db, "SELECT COUNT(*) FROM visit_photos") == 1
    assert await count(db, "SELECT COUNT(*) FROM media_files") == 0
    assert not media_fetcher_of(bot.app).enabled


async def test_a_correction_does_not_fetch_a_kept_photo_twice(
    bot: Harness, seed: Seed, db: Database
) -> None:
    await visit_with_photo_and_voice(bot, seed, 936)
    u = await join(bot, seed, "cadre1", 936)
    await bot.send(u, "/my")
    await bot.tap(u, "#1")
    await bot.tap(u, "✏️ 修改")
    await bot.tap(u, "人数/照片/定位")
    await bot.photo(u, "ph-new")
    await bot.tap(u, "下一步")
    await bot.tap(u, "保存")
    kinds = [
        (r["kind"], r["file_id"])
        for r in await rows(db, "SELECT kind, file_id FROM media_files ORDER BY id")
    ]
    assert kinds == [("photo", "ph-a"), ("voice", "vo-1"), ("photo", "ph-new")]


# --- the rules and the seam, with plain values --------------------------------------------


def test_paths_come_from_ids_only() -> None:
    assert rules.relative_path("visit", 12, "photo", 0, 345) == "visits/12/photo-0-345.jpg"
    assert rules.relative_path("problem", 3, "photo", 2, 7) == "problems/3/photo-2-7.jpg"
    for bad in (("../x", 1, "photo"), ("visit", 1, "../../etc"), ("visit", -1, "photo")):
        try:
            rules.relative_path(bad[0], int(bad[1]), bad[2], 0, 1)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_folder_names_survive_odd_roster_names() -> None:
    assert rules.folder_name(3, "城关镇工作队") == "3-城关镇工作队"
    assert rules.folder_name(4, "../../etc/passwd") == "4-_.._etc_passwd"
    assert rules.folder_name(5, "..") == "5"
    assert rules.folder_name(6, 'a<b>c:d"e|f?g*h\\i') == "6-a_b_c_d_e_f_g_h_i"
    assert rules.folder_name(7, "名\x00字\u202e\n") == "7-名字"
    assert rules.folder_name(None, None) == "0"
    assert len(rules.folder_name(8, "长" * 300)) <= rules.MAX_NAME + 2


def test_retries_double_then_give_up() -> None:
    now = datetime(2026, 11, 16, 1, 0)
    first = rules.after_failure(0, now, max_attempts=3, retry_seconds=60)
    assert first.attempts == 1 and first.at == now + timedelta(seconds=60)
    second = rules.after_failure(1, now, max_attempts=3, retry_seconds=60)
    assert second.at == now + timedelta(seconds=120)
    assert rules.after_failure(2, now, max_attempts=3, retry_seconds=60).gave_up
    assert rules.over_cap(11, 10) and not rules.over_cap(10, 10) and not rules.over_cap(None, 1)


def test_voice_and_pins_cross_the_seam() -> None:
    voice = Message("语音", voice="vo-1")
    pin = Message("", location=(30.5, 114.25))
    assert from_json(to_json(voice)) == voice and from_json(to_json(pin)) == pin
    assert request_of(voice) == ("sendVoice", {"voice": "vo-1", "caption": "语音"})
    assert request_of(pin) == ("sendLocation", {"latitude": 30.5, "longitude": 114.25})
    method, params = request_of(Message("", voice="/tmp/v.ogg", silent=True))
    assert method == "sendVoice" and params["voice"] == {"path": "/tmp/v.ogg", "filename": "v.ogg"}
    assert params["disable_notification"] is True
    # As the outgoing queue stores and sends them (bot/sending.py).
    assert queued("send", to_json(pin)) == ("sendLocation", {"latitude": 30.5, "longitude": 114.25})
    assert queued("send", to_json(voice))[0] == "sendVoice"


def test_media_settings_defaults_and_folder(settings: Settings) -> None:
    assert settings.media.download and settings.media.cap_bytes == 20 * 1024 * 1024
    assert folder(settings) == Path(settings.storage.database).parent / "media"
    memory = dataclasses.replace(settings.storage, database=":memory:")
    assert settings.media.folder_for(memory.database) is None


async def test_the_worker_starts_and_stops_with_the_application(bot: Harness) -> None:
    fetcher = media_fetcher_of(bot.app)
    await bot.app.start()
    try:
        assert fetcher.running
    finally:
        await bot.app.stop()
    assert not fetcher.running


def test_a_queued_album_of_local_files_points_at_its_uploads(tmp_path: Path) -> None:
    from telegram.request import RequestData
    from telegram.request._requestparameter import RequestParameter

    from bot.sending import params_of

    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"jpeg")
    album = Message("相册", photos=(str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")))
    method, payload = queued("send", to_json(album))
    assert method == "sendMediaGroup"
    params = params_of(payload)
    data = RequestData([RequestParameter.from_input(k, v) for k, v in params.items()])
    assert data.json_parameters["media"].count("attach://") == 2
