"""Helpers for the visit tests: run the flow the way a cadre taps it, read rows back."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from storage import drafts, visits
from storage.db import Database, Row
from storage.people import Cadre, cadre_by_id
from storage.visits import VisitRecord
from tests.fakebot import Call, FakeBotAPI, Harness, TgUser, shown


@pytest.fixture(autouse=True)
def answer_once(api: FakeBotAPI) -> None:
    """Kept for the modules that import it: the fake API itself now refuses a second
    answer to the same button press, as Telegram does."""


async def restart(make_bot: Any, previous: Harness) -> Harness:
    """A new Application on the same database (make_bot again), whose button presses get
    fresh query ids as Telegram's would (the harness numbers them from 1 otherwise)."""
    fresh: Harness = await make_bot()
    fresh._query_ids = previous._query_ids
    return fresh


async def flow(
    bot: Harness,
    u: TgUser,
    *,
    place: str = "城南社区",
    kinds: tuple[str, ...] = ("宣讲政策",),
    day: str = "今天",
    text: str = "入户宣讲医保政策，听取群众意见",
    submit: bool = True,
) -> list[Call]:
    """/visit through to the summary (and Submit); returns the calls of the last step."""
    await bot.send(u, "/visit")
    await bot.tap(u, place)
    for k in kinds:
        await bot.tap(u, k)
    await bot.tap(u, "完成" if u.language_code != "en" else "Done")
    await bot.tap(u, day)
    await bot.send(u, text)
    calls = await bot.tap(u, "下一步" if u.language_code != "en" else "Next")
    if submit:
        calls = await bot.tap(u, "提交" if u.language_code != "en" else "Submit")
    return calls


def texts(calls: list[Call]) -> str:
    """Everything the user saw: messages, edits and alerts, one per line."""
    out = [c.text for c in shown(calls)]
    out += [str(c.params.get("text") or "") for c in calls if c.method == "answerCallbackQuery"]
    return "\n".join(out)


def alerts(calls: list[Call]) -> list[str]:
    return [
        str(c.params.get("text") or "")
        for c in calls
        if c.method == "answerCallbackQuery" and c.params.get("show_alert")
    ]


def markup_json(call: Call) -> str:
    markup = call.params.get("reply_markup")
    return markup if isinstance(markup, str) else json.dumps(markup, ensure_ascii=False)


async def rows(db: Database, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
    return await db.fetchall(sql, params)


async def count(db: Database, sql: str, params: tuple[Any, ...] = ()) -> int:
    row = await db.fetchone(sql, params)
    assert row is not None
    return int(row[0])


async def open_draft(db: Database, user_id: int) -> drafts.Draft | None:
    return await drafts.open_draft(db, "visit", user_id, user_id)


async def log_visit(
    db: Database,
    cadre_id: int,
    place_id: int,
    day: date,
    kinds: tuple[str, ...] = ("policy",),
    *,
    now: Any,
    far: bool = False,
    user_id: int = 0,
) -> int:
    """Write a visit through the storage functions (with its own submitted draft)."""
    cadre = await cadre_by_id(db, cadre_id)
    assert isinstance(cadre, Cadre)
    draft = await drafts.start(db, "visit", cadre_id, user_id, user_id, "summary", {}, now)
    record = VisitRecord(
        place_id=place_id,
        day=day,
        kinds=kinds,
        text="走访",
        far=far,
        distance_km=5.0 if far else None,
    )
    visit_id = await visits.submit(db, draft_id=draft.id, cadre=cadre, record=record, now=now)
    assert visit_id is not None
    return visit_id
