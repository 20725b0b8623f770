"""How the step engine's conversations pick the handler for an update: python-telegram-
bot's ``ConversationHandler``, with a quicker way to the same choice.

The library tries, for every update, the entry points, then the current step's
handlers, then the fallbacks, one ``check_update`` after another: a guard of a dozen
attribute reads, a regular expression per button handler (looked up in the ``re``
module's cache each time), a chain of filter objects per message handler. In the visit
bench that was ~47 µs of every update, a twentieth of its CPU, spent before a step
began.

``FlowConversation`` takes the same handlers and gives the same answer with less work:

- a button press whose data is of the flow's own namespace (every button a step
  draws) skips the handlers that cannot take a press: the message and command
  handlers (their filters need a message in the update, which a press never has;
  checked when the conversation is built) and the entry points whose pattern is of
  another namespace; the button handlers left are tried in their order, with their
  compiled patterns;
- a new message skips the button handlers (a message is never a press), and a message
  handler whose filters are the library's plain ones (a chat type, text, a command,
  a photo..., joined by ``&``, ``|``, ``~``) is tried by one test written from their
  definitions instead of the chain of filter objects;
- anything else (an edited message, a press of another namespace, a game, a state of
  the library's own) takes the library's way.

The choice is the library's own in every case: ``verify`` (on in the tests) makes
every update take both ways and fail loudly when they differ.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from telegram import CallbackQuery, Chat, Message, MessageEntity, Update, User
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

Handler = BaseHandler[Any, Any, Any]
# A new message's update (Any: its ``message`` is known to be there): whether a message
# handler's filters take it.
Test = Callable[[Any], bool]
# A handler, and how it is tried here: its compiled pattern (a button handler, on the
# press's data), a test (a message handler, on a new message), or None: asked.
Tried = tuple[Handler, "re.Pattern[str] | Test | None"]


class FlowConversation(ConversationHandler[Any]):
    """A ``ConversationHandler`` for one flow, whose buttons' data all start with
    ``prefix`` (``Namespace.prefix``)."""

    verify = False  # the tests: every update takes both ways, and they must agree

    def __init__(self, *, prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._prefix = prefix
        press = _press_update(prefix)
        every = [*self.entry_points, *self.fallbacks]
        every += [h for handlers in self.states.values() for h in handlers]
        for h in every:
            if isinstance(h, MessageHandler) and not _takes_no_press(h, press):
                raise ValueError(f"{h!r} of {self.name} would take a button press")

        def may_take(h: Handler) -> bool:
            return not _takes_no_press(h, press)

        # On a press of this flow: the handlers that may take it, in their order.
        self._press_entries = [
            _tried(h) for h in self.entry_points if may_take(h) and _may_take_press(h, prefix)
        ]
        self._press_states = {
            state: [_tried(h) for h in handlers if may_take(h)]
            for state, handlers in self.states.items()
        }
        self._press_fallbacks = [_tried(h) for h in self.fallbacks if may_take(h)]
        # On a message: every handler but the button handlers, in their order.
        self._message_entries = _no_presses(self.entry_points)
        self._message_states = {s: _no_presses(hs) for s, hs in self.states.items()}
        self._message_fallbacks = _no_presses(self.fallbacks)

    def check_update(self, update: object) -> Any:
        if not self.verify:
            return self._check(update)
        quick, slow = self._check(update), super().check_update(update)
        if _differ(quick, slow):
            raise AssertionError(f"{self.name}: {quick!r} instead of {slow!r} for {update!r}")
        return quick

    def _check(self, update: object) -> Any:
        if not isinstance(update, Update) or self.per_message or not self.per_user:
            return super().check_update(update)
        query = update.callback_query
        if query is not None:
            data = query.data
            if type(data) is not str or not data.startswith(self._prefix) or query.message is None:
                return super().check_update(update)
            entries, states, fallbacks = (
                self._press_entries,
                self._press_states,
                self._press_fallbacks,
            )
        elif update.message is not None:
            entries = self._message_entries
            states, fallbacks = self._message_states, self._message_fallbacks
            data = ""
        else:
            return super().check_update(update)
        user, chat = update.effective_user, update.effective_chat
        if user is None or (self.per_chat and chat is None):
            return None
        key = (chat.id, user.id) if self.per_chat and chat is not None else (user.id,)
        state = self._conversations.get(key)
        if state is not None and not isinstance(state, str):  # the library's own (pending)
            return super().check_update(update)
        found = _first(entries, update, data) if state is None or self.allow_reentry else None
        if found is None:
            if state is None:
                return None
            found = _first(states.get(state, ()), update, data) or _first(fallbacks, update, data)
            if found is None:
                return None
        handler, check = found
        return state, key, handler, check


def _first(tried: Sequence[Tried], update: Update, data: str) -> tuple[Handler, Any] | None:
    for handler, how in tried:
        if how is None:
            check = handler.check_update(update)
        elif isinstance(how, re.Pattern):
            check = how.match(data)
        else:
            check = how(update) or None  # a message handler's check: True, or no
        if check is not None and check is not False:
            return handler, check
    return None


def _tried(h: Handler) -> Tried:
    """A button handler with a plain pattern is matched here (as the library matches
    it: ``re.match``); any other handler is asked."""
    if isinstance(h, CallbackQueryHandler) and h.game_pattern is None:
        pattern = h.pattern
        if isinstance(pattern, str):
            return h, re.compile(pattern)
        if isinstance(pattern, re.Pattern):
            return h, pattern
    return h, None


def _no_presses(handlers: Sequence[Handler]) -> list[Tried]:
    """The handlers that may take a new message: a message handler whose filters are
    all known here is tried by a test of its own; any other is asked."""
    out: list[Tried] = []
    for h in handlers:
        if isinstance(h, CallbackQueryHandler):
            continue
        test = _test(h.filters) if isinstance(h, MessageHandler) else None
        out.append((h, test))
    return out


# The library's filters as tests of a new message's update (``update.message`` set, so
# ``effective_message`` is it), each as the library defines it (telegram/ext/filters.py).
_LEAVES: dict[int, Test] = {
    id(filters.UpdateType.MESSAGE): lambda u: u.message is not None,
    id(filters.UpdateType.EDITED): lambda u: (
        u.edited_message is not None
        or u.edited_channel_post is not None
        or u.edited_business_message is not None
    ),
    id(filters.ChatType.PRIVATE): lambda u: u.message.chat.type == Chat.PRIVATE,
    id(filters.TEXT): lambda u: bool(u.message.text),
    id(filters.COMMAND): lambda u: bool(
        u.message.entities
        and u.message.entities[0].type == MessageEntity.BOT_COMMAND
        and u.message.entities[0].offset == 0
    ),
    id(filters.PHOTO): lambda u: bool(u.message.photo),
    id(filters.VOICE): lambda u: bool(u.message.voice),
    id(filters.LOCATION): lambda u: bool(u.message.location),
}


def _test(f: Any) -> Test | None:
    """A filter made of the leaves above joined by ``&``, ``|`` and ``~`` (no data
    filter), as one test; None when it holds anything else."""
    leaf = _LEAVES.get(id(f))
    if leaf is not None:
        return leaf
    if getattr(f, "data_filter", True):
        return None
    kind = type(f).__name__
    if kind == "_InvertedFilter":
        inner = _test(f.inv_filter)
        return None if inner is None else (lambda u: not inner(u))
    if kind == "_MergedFilter":
        base = _test(f.base_filter)
        other = _test(f.and_filter or f.or_filter)
        if base is None or other is None or isinstance(f.and_filter or f.or_filter, bool):
            return None
        if f.and_filter:
            return lambda u: bool(base(u) and other(u))
        return lambda u: bool(base(u) or other(u))
    return None


def _takes_no_press(h: Handler, press: Update) -> bool:
    """A message or command handler whose filters need a message in the update (the
    library's own filters all do), so that no press reaches its callback."""
    if isinstance(h, (MessageHandler, CommandHandler)):
        return not h.filters.check_update(press)
    return False


def _may_take_press(h: Handler, prefix: str) -> bool:
    """Whether an entry point may take a press whose data starts with ``prefix``: not a
    button handler whose pattern can only match data starting with a literal of another
    namespace."""
    if isinstance(h, CallbackQueryHandler) and h.game_pattern is None:
        pattern = h.pattern.pattern if isinstance(h.pattern, re.Pattern) else h.pattern
        literal = _literal_head(pattern) if isinstance(pattern, str) else None
        if literal is not None:
            return literal.startswith(prefix) or prefix.startswith(literal)
    return True


def _literal_head(pattern: str) -> str | None:
    """The text every match of ``^...`` must start with: its leading plain characters
    and escaped ones, up to the first special character. None when the pattern does
    not start with ``^``, or has an alternative (``|``) outside parentheses or a flag."""
    if not pattern.startswith("^") or "(?" in pattern.replace("(?:", ""):
        return None
    depth, i, top_level_bar = 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":  # a class: up to its closing bracket
            end = pattern.find("]", i + 2)
            i = len(pattern) if end < 0 else end + 1
            continue
        depth += c == "("
        depth -= c == ")"
        top_level_bar |= c == "|" and depth == 0
        i += 1
    if top_level_bar:
        return None
    out: list[str] = []
    i = 1
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            out.append(pattern[i + 1])
            i += 2
        elif c in ".^$*+?{}[]|()\\":
            if c in "*?{" and out:  # a quantifier: the character before may be absent
                out.pop()
            break
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _press_update(prefix: str) -> Update:
    """A press of this flow's buttons in a private chat, for the check above."""
    user = User(1, "x", False)
    chat = Chat(1, Chat.PRIVATE)
    message = Message(1, datetime(2026, 1, 1, tzinfo=UTC), chat, from_user=user, text="x")
    query = CallbackQuery("1", user, "1", message=message, data=prefix + "x")
    return Update(1, callback_query=query)


def _differ(quick: Any, slow: Any) -> bool:
    if quick is None or slow is None:
        return (quick is None) != (slow is None)
    (qs, qk, qh, qc), (ss, sk, sh, sc) = quick, slow
    if (qs, qk) != (ss, sk) or qh is not sh:
        return True
    if isinstance(qc, re.Match) or isinstance(sc, re.Match):
        return not (
            isinstance(qc, re.Match) and isinstance(sc, re.Match) and qc.span() == sc.span()
        )
    return bool(qc != sc)
