"""The step engine (handlers/flow.py) with a flow of its own: a dialog entered from a
button in a group and held in the presser's private chat, as the card dialogs are. The
visit flow's tests cover the rest of the engine's promises on a real flow."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.app import build_application
from campaign.callbacks import Namespace
from campaign.message import Message
from campaign.settings import Settings
from handlers.common import Context, deps, require_cadre
from handlers.flow import Flow, Session, Step, entry
from services import drafts
from storage.db import Database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import TOKEN, FakeBotAPI, FakeClock, Harness, shown

KIND = "probe"
GROUP = -100500
ENTRY = Namespace("tsg", {"ask": (0, 0)})
NS = Namespace(
    "tst", {"skip": (1, 1), "again": (1, 1), "x": (1, 1), "keep": (1, 1), "drop": (1, 1)}
)


@dataclass
class ProbeForm:
    answer: str | None = None
    back: str | None = None
    command: str | None = None
    keyboard: bool = False

    def dump(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


async def ask(s: Session[ProbeForm]) -> Message:
    return Message("question?", ((s.button("skip", "skip"), s.cancel_button()),))


async def done(s: Session[ProbeForm]) -> Message:
    return Message(f"answer: {s.form.answer}", ((s.button("again", "again"),),))


async def answered(s: Session[ProbeForm]) -> object:
    s.form.answer = s.message.text
    return await s.forward()


async def skipped(s: Session[ProbeForm]) -> object:
    s.form.answer = "-"
    return await s.forward()


async def again(s: Session[ProbeForm]) -> object:
    return await s.go("ask")


async def open_probe(update: Update, context: Context) -> object:
    """A button in a group opens the dialog in the presser's private chat."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return None
    d = w.deps
    draft = await drafts.start(
        d.db, KIND, w.cadre.id, w.user_id, w.user_id, "ask", ProbeForm().dump(), d.now()
    )
    return await PROBE.session(update, context, w, draft).go("ask")


PROBE: Flow[ProbeForm] = Flow(
    kind=KIND,
    ns=NS,
    texts="visits",  # the visit flow's section has every key the engine says
    load=lambda data: ProbeForm(**data),
    steps=[
        Step("ask", ask, buttons={"skip": skipped}, text=answered, next="done"),
        Step("done", done, buttons={"again": again}),
    ],
    entries=[CallbackQueryHandler(entry(open_probe), pattern=ENTRY.pattern())],
    per_chat=False,
)


@pytest.fixture
async def make_probe(
    settings: Settings, db: Database, api: FakeBotAPI, clock: FakeClock
) -> AsyncIterator[Callable[[], Awaitable[Harness]]]:
    """The application with the probe flow ahead of every other handler; call again to
    restart it on the same database."""
    started: list[Harness] = []

    async def factory() -> Harness:
        app = build_application(
            settings, token=TOKEN, db=db, request=api, updates_request=api, clock=clock
        )
        # First in the group, as the app's own flows are (its fallbacks come last).
        others = list(app.handlers.get(0, []))
        for handler in others:
            app.remove_handler(handler)
        app.add_handlers([PROBE.conversation(), PROBE.stale_handler(), *others])
        await app.initialize()
        harness = Harness(app, api, clock)
        if started:
            harness._update_ids = started[-1]._update_ids
            harness._query_ids = started[-1]._query_ids
            harness._message_ids = started[-1]._message_ids
        started.append(harness)
        return harness

    yield factory
    for harness in started:
        await harness.app.shutdown()


async def test_a_dialog_from_a_group_button_is_held_in_private(
    make_probe: Callable[[], Awaitable[Harness]], seed: Seed, db: Database
) -> None:
    bot = await make_probe()
    u = await join(bot, seed, "cadre1", 950)
    calls = await bot.press(u, ENTRY.build("ask"), chat_id=GROUP)
    asked = [c for c in shown(calls) if c.text == "question?"]
    assert len(asked) == 1 and asked[0].method == "sendMessage" and asked[0].chat_id == 950
    draft = await drafts.open_draft(db, KIND, 950, 950)
    assert draft is not None and draft.step == "ask"
    calls = await bot.send(u, "all fine")
    assert [c.text for c in shown(calls)] == ["answer: all fine"]
    draft = await drafts.open_draft(db, KIND, 950, 950)
    assert draft is not None and draft.step == "done" and draft.data["answer"] == "all fine"


async def test_a_restart_resumes_a_dialog_keyed_by_the_person(
    make_probe: Callable[[], Awaitable[Harness]], seed: Seed, db: Database
) -> None:
    bot = await make_probe()
    u = await join(bot, seed, "cadre1", 951)
    await bot.press(u, ENTRY.build("ask"), chat_id=GROUP)
    bot = await make_probe()
    calls = await bot.send(u, "after the restart")
    assert [c.text for c in shown(calls)] == ["answer: after the restart"]


async def test_an_old_button_redraws_the_step_and_edits_change_nothing(
    make_probe: Callable[[], Awaitable[Harness]], seed: Seed, db: Database
) -> None:
    bot = await make_probe()
    u = await join(bot, seed, "cadre1", 952)
    await bot.press(u, ENTRY.build("ask"), chat_id=GROUP)
    question = max(
        (m for m in bot.api.messages.values() if m.chat_id == 952 and m.text == "question?"),
        key=lambda m: m.message_id,
    )
    await bot.tap(u, "skip")
    calls = await bot.press(u, NS.build("skip", await _draft_id(db, 952)), question)
    alerts = [c for c in calls if c.method == "answerCallbackQuery"]
    assert alerts and alerts[0].params.get("show_alert")
    edits = [c for c in shown(calls) if c.method == "editMessageText"]
    assert [c.text for c in edits] == ["answer: -"]
    edited = bot.message_update(u, None, text="changed")
    edited["edited_message"] = edited.pop("message")
    assert shown(await bot.process(edited)) == []
    draft = await drafts.open_draft(db, KIND, 952, 952)
    assert draft is not None and draft.data["answer"] == "-"


async def test_a_closed_dialogs_button_says_so(
    make_probe: Callable[[], Awaitable[Harness]], seed: Seed, db: Database
) -> None:
    bot = await make_probe()
    u = await join(bot, seed, "cadre1", 953)
    await bot.press(u, ENTRY.build("ask"), chat_id=GROUP)
    draft_id = await _draft_id(db, 953)
    calls = await bot.send(u, "/cancel")
    assert await drafts.open_draft(db, KIND, 953, 953) is None
    calls = await bot.press(u, NS.build("skip", draft_id))
    alerts = [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]
    assert alerts == [deps(bot.app).catalog.t("zh-CN", "visits.draft_closed")]


async def _draft_id(db: Database, user_id: int) -> int:
    draft = await drafts.open_draft(db, KIND, user_id, user_id)
    assert draft is not None
    return draft.id
