"""The quick choice of handler of the step engine's conversations is the library's own:
every flow, in every step and outside one, for presses of its own buttons and of
others, commands, text, media, edits, group chats (handlers/flow_route.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Bot, Update
from telegram.ext import ConversationHandler, MessageHandler, filters

import campaign.callbacks as callbacks
from bot.app import handler_table
from handlers.flow_route import FlowConversation, _differ, _literal_head, _test
from tests.fakebot import BOT_USERNAME, TOKEN, FakeBotAPI, FakeClock, Harness, StoredMessage, TgUser

CONVERSATIONS = [
    h for _, group in handler_table() for h in group if isinstance(h, FlowConversation)
]
NAMESPACES = [v for v in vars(callbacks).values() if isinstance(v, callbacks.Namespace)]
USER = TgUser(4242, "cadre", "zh-hans")
GROUP = -100777


def _updates() -> list[dict[str, Any]]:
    h = Harness(None, FakeBotAPI(), FakeClock(datetime(2026, 11, 16, tzinfo=UTC)))  # type: ignore[arg-type]
    out: list[dict[str, Any]] = []
    for ns in NAMESPACES:  # every action of every namespace, with a number or two
        for action in ns.actions:
            out.append(h.callback_update(USER, f"{ns.prefix}{action}:1"))
            out.append(h.callback_update(USER, f"{ns.prefix}{action}:7:x"))
        out.append(h.callback_update(USER, ns.prefix))
        out.append(h.callback_update(USER, ns.prefix + "ok\n"))
        out.append(h.callback_update(USER, f"{ns.prefix}x:1", chat_id=GROUP))
    out.append(h.callback_update(USER, "garbage"))
    for command in ("/cancel", "/visit", "/inspect"):  # the pressed message: a command
        for ns in NAMESPACES:
            quirk = StoredMessage(USER.id, 5, f"{command} now", None)
            update = h.callback_update(USER, f"{ns.prefix}x:1", quirk)
            entity = {"type": "bot_command", "offset": 0, "length": len(command)}
            update["callback_query"]["message"]["entities"] = [entity]
            out.append(update)
    for text in (
        "hello",
        "12",
        "/cancel",
        f"/cancel@{BOT_USERNAME}",
        "/cancel@someone_else_bot",
        "/visit",
        "/visit_edit 3",
        "/start",
        "/inspect",
        "/plan",
        "/nosuchcommand",
    ):
        out.append(h.text_update(USER, text))
        out.append(h.text_update(USER, text, chat_id=GROUP))
    for text, entity in (
        ("hi /cancel", {"type": "bot_command", "offset": 3, "length": 7}),
        ("/cancel in bold", {"type": "bold", "offset": 0, "length": 7}),
    ):  # a command further on, or not a command at the start: text, not a command
        update = h.text_update(USER, text)
        update["message"]["entities"] = [entity]
        out.append(update)
    photo = [{"file_id": "p", "file_unique_id": "up", "width": 1, "height": 1}]
    out.append(h.message_update(USER, photo=photo))
    out.append(h.message_update(USER, photo=photo, caption="/cancel"))
    out.append(
        h.message_update(USER, voice={"file_id": "v", "file_unique_id": "uv", "duration": 2})
    )
    out.append(h.message_update(USER, location={"latitude": 30.1, "longitude": 114.2}))
    out.append(h.message_update(USER, contact={"phone_number": "+86139", "first_name": "x"}))
    edited = h.text_update(USER, "changed")
    edited["edited_message"] = edited.pop("message")
    out.append(edited)
    command_edited = h.text_update(USER, "/cancel")
    command_edited["edited_message"] = command_edited.pop("message")
    out.append(command_edited)
    post = h.text_update(USER, "news", chat_id=GROUP)
    post["channel_post"] = post.pop("message")
    out.append(post)
    return out


UPDATES = _updates()


async def _bot() -> Bot:
    """A bot that knows its own name (commands addressed to it), from the fake API."""
    api = FakeBotAPI()
    bot = Bot(TOKEN, request=api, get_updates_request=api)
    await bot.initialize()
    return bot


@pytest.mark.parametrize("conv", CONVERSATIONS, ids=lambda c: c.name)
async def test_the_quick_choice_is_the_librarys(conv: FlowConversation) -> None:
    bot = await _bot()
    updates = [Update.de_json(u, bot) for u in UPDATES]
    keys = [(USER.id, USER.id), (USER.id,), (GROUP, USER.id)]
    checked = 0
    try:
        for state in [None, *conv.states, "no_such_step"]:
            for key in keys:
                if state is None:
                    conv._conversations.pop(key, None)
                else:
                    conv._conversations[key] = state
            for update in updates:
                quick = conv._check(update)
                slow = ConversationHandler.check_update(conv, update)
                assert not _differ(quick, slow), (conv.name, state, update.to_dict())
                checked += quick is not None
    finally:
        for key in keys:
            conv._conversations.pop(key, None)
    assert checked > len(conv.states)  # the sweep reached handlers, not only refusals


def test_every_flow_routes_quickly() -> None:
    names = {c.name for c in CONVERSATIONS}
    assert len(names) == 10 and {"visit", "problem", "check_dialog"} <= names, names


def test_a_message_handler_that_takes_presses_is_refused() -> None:
    async def noop(update: object, context: object) -> None:
        return None

    with pytest.raises(ValueError, match="would take a button press"):
        FlowConversation(
            prefix="xyz:v1:",
            entry_points=[],
            states={"a": [MessageHandler(_AnyUpdate(), noop)]},
            fallbacks=[],
            name="xyz",
        )


async def test_verify_fails_loudly_when_the_ways_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    conv = next(c for c in CONVERSATIONS if c.name == "visit")
    update = Update.de_json(UPDATES[-4], await _bot())  # /cancel, edited: the library's way
    monkeypatch.setattr(FlowConversation, "verify", True)
    conv._conversations[(USER.id, USER.id)] = next(iter(conv.states))
    try:
        monkeypatch.setattr(conv, "_check", lambda update: None)
        with pytest.raises(AssertionError, match="instead of"):
            conv.check_update(update)
    finally:
        conv._conversations.pop((USER.id, USER.id), None)


class _AnyUpdate(filters.UpdateFilter):
    """A filter that takes any update, a press too (the library's own filters all need a
    message)."""

    def check_update(self, update: Update) -> bool:
        return True

    def filter(self, update: Update) -> bool:
        return True


@pytest.mark.parametrize(
    ("pattern", "head"),
    [
        ("^menu:v1:", "menu:v1:"),
        ("^vis:v1:(?:a|b)(?::|$)", "vis:v1:"),
        (r"^v\-x:v1:", "v-x:v1:"),
        ("^ab?c", "a"),
        ("^x[|]y", "x"),
        ("^a|b", None),  # b matches anywhere at the start too
        ("abc", None),
        ("^(?i)abc", None),
    ],
)
def test_literal_head(pattern: str, head: str | None) -> None:
    assert _literal_head(pattern) == head


def test_only_the_librarys_plain_filters_become_tests() -> None:
    assert _test(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE) is not None
    assert _test(filters.PHOTO | filters.LOCATION | filters.VOICE) is not None
    assert _test(filters.Regex("x")) is None  # a data filter: the library asks it
    assert _test(filters.TEXT & filters.Regex("x")) is None
    assert _test(filters.ChatType.GROUP) is None  # not one of the leaves: asked
    assert _test(filters.UpdateType.MESSAGE & filters.ChatType.GROUPS) is None
