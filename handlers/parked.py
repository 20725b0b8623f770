"""/parked: the office sees what the queue could not send, and who cannot be reached,
and may send a parked item again or declare a chat reachable again."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from campaign import callbacks
from campaign.text import moment_text, shorten
from handlers import screen
from handlers.common import Context, Who, is_private, reply, require_cadre, who
from handlers.screen import Button, Markup
from services import outbox
from services.outbox import ChatLabel, Reachable, Retried

log = logging.getLogger(__name__)

SHOWN = 10


def _chat(w: Who, label: ChatLabel | None, chat_id: int) -> str:
    if label is not None and label.cadre_name:
        return label.cadre_name
    if label is not None and label.chat_title:
        return w.t("parked.chat_group", title=label.chat_title)
    return w.t("parked.chat_unknown", chat=chat_id)


def _method(w: Who, method: str) -> str:
    key = f"parked.method.{method}"
    return w.t(key) if w.deps.catalog.has(key) else method


async def render(w: Who) -> tuple[str, Markup | None]:
    """The office's view: newest parked items with a retry button each, then the
    unreachable chats with a button each to declare them reachable again."""
    d = w.deps
    view = await outbox.parked(d, SHOWN)
    tz = d.settings.tz
    lines: list[str] = []
    rows: list[list[Button]] = []
    if view.items:
        lines.append(w.t("parked.title", count=view.total, shown=len(view.items)))
        for it in view.items:
            text = str(it.payload.get("text") or it.payload.get("caption") or "")
            lines.append(
                w.t(
                    "parked.item",
                    id=it.id,
                    chat=_chat(w, view.labels.get(it.chat_id), it.chat_id),
                    method=_method(w, it.method),
                    attempts=it.attempts,
                    when=moment_text(w.t, it.created_at, tz),
                    preview=shorten(text, 40) if text.strip() else w.t("parked.no_text"),
                    error=shorten(it.last_error or "", 160),
                )
            )
            label = w.t("parked.retry_button", id=it.id)
            rows.append([screen.button(label, callbacks.PARKED.build("retry", it.id))])
    else:
        lines.append(w.t("parked.none"))
    lines.append("")
    if view.chats:
        lines.append(w.t("parked.unreachable_title", count=view.chats_total))
        for c in view.chats:
            name = _chat(w, view.labels.get(c.chat_id), c.chat_id)
            lines.append(
                w.t(
                    "parked.unreachable_item",
                    chat=name,
                    since=moment_text(w.t, c.since, tz),
                    reason=shorten(c.reason, 80),
                )
            )
            label = w.t("parked.clear_button", chat=shorten(name, 24))
            rows.append([screen.button(label, callbacks.PARKED.build("reach", c.chat_id))])
    else:
        lines.append(w.t("parked.unreachable_none"))
    return "\n".join(lines), screen.inline(rows) if rows else None


async def parked_command(update: Update, context: Context) -> None:
    """/parked: office only, in a private chat."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    if not outbox.may_manage(w.cadre):
        await reply(update, w.t("common.not_allowed"))
        return
    if not is_private(update):
        await reply(update, w.t("parked.private_only"))
        return
    text, markup = await render(w)
    await reply(update, text, markup)


def _chat_arg(data: callbacks.Callback) -> int:
    """A chat id: negative for groups, so not ``int_arg``."""
    try:
        value = int(data.args[0])
    except (IndexError, ValueError):
        raise callbacks.CallbackError("no chat id") from None
    if value == 0 or abs(value) > 2**62:
        raise callbacks.CallbackError("chat id out of range")
    return value


async def _answer(w: Who, data: callbacks.Callback) -> str:
    d = w.deps
    if data.action == "retry":
        item_id = data.int_arg(0)
        done = await outbox.retry(d, w.cadre, item_id)
        if done.result is Retried.REQUEUED:
            return w.t("parked.requeued", id=item_id)
        if done.result is Retried.NOT_FOUND:
            return w.t("parked.not_found")
        if done.result is Retried.NOT_ALLOWED:
            return w.t("common.not_allowed")
        return w.t("parked.already", id=item_id, status=w.t(f"parked.status.{done.status}"))
    chat_id = _chat_arg(data)
    result, label = await outbox.declare_reachable(d, w.cadre, chat_id)
    if result is Reachable.NOT_ALLOWED:
        return w.t("common.not_allowed")
    key = "parked.cleared" if result is Reachable.CLEARED else "parked.not_unreachable"
    return w.t(key, chat=_chat(w, label, chat_id))


async def pressed(update: Update, context: Context) -> None:
    """A retry or reachable-again button: re-authorised (office only) on every press."""
    query = update.callback_query
    w = await who(update, context)
    if query is None or w is None:
        return
    try:
        data = callbacks.PARKED.parse(query.data)
        if data.action == "retry":
            data.int_arg(0)
        else:
            _chat_arg(data)
    except callbacks.CallbackError:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    if not outbox.may_manage(w.cadre):
        await query.answer(w.t("common.not_allowed"), show_alert=True)
        return
    await query.answer(await _answer(w, data), show_alert=True)
    text, markup = await render(w)
    try:
        await screen.edit_pressed(context.bot, query, text, markup)
    except (TelegramError, ValueError):  # the list did not change, or the message is gone
        log.debug("the /parked list was not refreshed", exc_info=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [
        CommandHandler("parked", parked_command, filters=filters.UpdateType.MESSAGE),
        CallbackQueryHandler(pressed, pattern=callbacks.PARKED.pattern()),
    ]
