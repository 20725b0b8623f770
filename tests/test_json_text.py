"""The JSON the bot writes and reads on every update, with orjson: a draft's data
(storage/drafts.py) and a Bot API answer (bot/keepalive.parse_answer). Both must mean
exactly what the standard library would have written or read."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from telegram.error import TelegramError
from telegram.request import BaseRequest

from bot.keepalive import KeepAliveRequest, has_long_number, parse_answer
from bot.runner import ConfirmWhenHandled, ForgivingRequest
from storage import drafts
from storage.db import Database
from tests.factories import Seed
from tests.fakebot import FakeClock, OfflineRequest

DATA: dict[str, Any] = {
    "place": {"id": 12, "name": "东风村 3 组", "kind": "village", "lat": 30.1, "lon": 114.0},
    "kinds": ["policy", "survey"],
    "text": '走访了 5 户 "低保" 家庭\n\\ 😀 \u2028',
    "people": 12,
    "photos": [["AgAD-1", "AQAD_1"]],
    "far": 3.0000000000000004,
    "model": False,
    "voice": None,
    "big": 2**62,
}


async def test_a_draft_reads_back_as_the_standard_library_would(
    db: Database, seed: Seed, clock: FakeClock
) -> None:
    cadre = seed.cadres["cadre1"]
    data = {**DATA, 7: "a key that is not a string"}
    draft = await drafts.start(db, "visit", cadre, 901, 901, "place", data, clock())
    drafts.forget(db)
    again = await drafts.get(db, draft.id)
    assert again is not None
    assert again.data == json.loads(json.dumps(data)) == draft.data  # 7 became "7"
    row = await db.fetchone("SELECT data FROM drafts WHERE id = ?", (draft.id,))
    assert row is not None
    assert json.loads(row["data"]) == again.data  # plain JSON for any other reader
    assert "东风村" in row["data"]  # kept readable, not \u-escaped


async def test_a_draft_written_by_the_earlier_encoder_reads_back(
    db: Database, seed: Seed, clock: FakeClock
) -> None:
    """Drafts open at an upgrade were written by ``json.dumps(..., ensure_ascii=False)``."""
    cadre = seed.cadres["cadre1"]
    draft = await drafts.start(db, "visit", cadre, 902, 902, "place", {}, clock())
    async with db.write() as conn:
        await conn.execute(
            "UPDATE drafts SET data = ? WHERE id = ?",
            (json.dumps(DATA, ensure_ascii=False), draft.id),
        )
    drafts.forget(db)
    again = await drafts.get(db, draft.id)
    assert again is not None and again.data == DATA


@pytest.mark.parametrize("value", [date(2026, 11, 16), Seed({}, {}, {}, {}, {}), 2**70])
async def test_a_draft_refuses_a_date_a_dataclass_or_a_number_beyond_64_bits(
    db: Database, seed: Seed, clock: FakeClock, value: Any
) -> None:
    """As ``json.dumps`` refuses the first two (a bug to see, not text to store quietly);
    the third it would write, but no form holds one (Telegram's ids have 16 digits)."""
    with pytest.raises(TypeError):
        await drafts.start(db, "visit", seed.cadres["cadre1"], 903, 903, "x", {"v": value}, clock())
    assert await drafts.open_draft(db, "visit", 903, 903) is None  # nothing written


@pytest.mark.parametrize(
    "payload",
    [
        b'{"ok":true,"result":{"message_id":5,"text":"\\u8d70\\u8bbf","chat":{"id":-1001}}}',
        json.dumps({"ok": True, "result": {"text": "走访 😀", "n": 1.5}}).encode(),
        json.dumps({"ok": True, "result": DATA}, ensure_ascii=False).encode(),
        b'{"ok":true,"result":123456789012345678901234567890}',  # beyond 64 bits
        b'{"ok":true,"result":[18446744073709551616,-9223372036854775809]}',  # just beyond
        b'{"ok":true,"result":[18446744073709551615,-9223372036854775808]}',  # at the limits
        b'{"ok":true,"result":{"text":"12345678901234567890 ok"}}',  # digits in a text
        b'{"ok":false,"error_code":400,"description":"Bad Request: caf\xe9"}',  # not UTF-8
        b"true",
    ],
)
def test_an_answer_is_read_as_the_library_reads_it(payload: bytes) -> None:
    assert parse_answer(payload) == BaseRequest.parse_json_payload(payload)


def test_a_long_number_is_nineteen_digits_in_a_row_anywhere() -> None:
    assert has_long_number(b"1" * 19)
    assert has_long_number(b'{"a":-9223372036854775809}')  # below the smallest of 64 bits
    assert not has_long_number(b"1" * 18)
    assert not has_long_number(b"1234567890 123456789")  # two short runs
    assert not has_long_number(bytes(range(256)) * 4)  # every byte, no run of digits
    assert has_long_number(bytes(range(256)) + b"0" * 19 + bytes(range(256)))


@pytest.mark.parametrize("payload", [b"not json", b"<html>Bad Gateway</html>", b""])
def test_an_answer_that_is_no_json_fails_as_in_the_library(payload: bytes) -> None:
    with pytest.raises(TelegramError) as theirs:
        BaseRequest.parse_json_payload(payload)
    with pytest.raises(TelegramError) as ours:
        parse_answer(payload)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_every_connection_of_the_bot_reads_answers_alike() -> None:
    """The bot's connections and the tests' offline one (which stands in for them)."""
    for request in (KeepAliveRequest, ForgivingRequest, ConfirmWhenHandled, OfflineRequest):
        assert request.parse_json_payload is parse_answer
