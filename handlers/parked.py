"""/parked: the office sees what the queue could not send, and who cannot be reached,
and may send a parked item again or declare a chat reachable again."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from campaign import callbacks
from campaign.delivery import shorten
from campaign.roles import Role
from handlers import screen
from handlers.common import Context, Who, deps, is_private, reply, require_cadre, who
from handlers.screen import Button, Markup
from storage import outbox, people
from storage.outbox import ChatLabel

log = logging.getLogger(__name__)

NS = "obx"
SHOWN = 10


def _chat(w: Who, label: ChatLabel) -> str:
    if label.cadre_name:
        return label.cadre_name
    if label.chat_title:
        return w.t("parked.chat_group", title=label.chat_title)
    return w.t("parked.chat_unknown", chat=label.chat_id)


def _method(w: Who, method: str) -> str:
    key = f"parked.method.{method}"
    return w.t(key) if w.deps.catalog.has(key) else method


async def render(w: Who) -> tuple[str, Markup | None]:
    """The office's view: newest parked items with a retry button each, then the
    unreachable chats with a button each to declare them reachable again."""
    d = w.deps
    items, total = await outbox.parked(d.db, SHOWN)
    chats, chats_total = await outbox.unreachable(d.db, SHOWN)
    labels = await outbox.chat_labels(d.db, [i.chat_id for i in items] + [c.chat_id for c in chats])
    tz = d.settings.tz
    lines: list[str] = []
    rows: list[list[Button]] = []
    if items:
        lines.append(w.t("parked.title", count=total, shown=len(items)))
        for it in items:
            text = str(it.payload.get("text") or it.payload.get("caption") or "")
            lines.append(
                w.t(
                    "parked.item",
                    id=it.id,
                    chat=_chat(w, labels[it.chat_id]),
                    method=_method(w, it.method),
                    attempts=it.attempts,
                    when=it.created_at.astimezone(tz).strftime("%m-%d %H:%M"),
                    preview=shorten(text, 40) if text.strip() else w.t("parked.no_text"),
                    error=shorten(it.last_error or "", 160),
                )
            )
            rows.append(
                [
                    screen.button(
                        w.t("parked.retry_button", id=it.id), callbacks.encode(NS, "retry", it.id)
                    )
                ]
            )
    else:
        lines.append(w.t("parked.none"))
    lines.append("")
    if chats:
        lines.append(w.t("parked.unreachable_title", count=chats_total))
        for c in chats:
            name = _chat(w, labels[c.chat_id])
            lines.append(
                w.t(
                    "parked.unreachable_item",
                    chat=name,
                    since=c.since.astimezone(tz).strftime("%m-%d %H:%M"),
                    reason=shorten(c.reason, 80),
                )
            )
            rows.append(
                [
                    screen.button(
                        w.t("parked.clear_button", chat=shorten(name, 24)),
                        callbacks.encode(NS, "reach", c.chat_id),
                    )
                ]
            )
    else:
        lines.append(w.t("parked.unreachable_none"))
    return "\n".join(lines), screen.inline(rows) if rows else None


async def parked_command(update: Update, context: Context) -> None:
    """/parked: office only, in a private chat."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    if w.cadre.role is not Role.OFFICE:
        await reply(update, w.t("common.not_allowed"))
        return
    if not is_private(update):
        await reply(update, w.t("parked.private_only"))
        return
    text, markup = await render(w)
    await reply(update, text, markup)


def _chat_arg(data: callbacks.Callback) -> int:
    try:
        value = int(data.args[0])
    except (IndexError, ValueError):
        raise callbacks.CallbackError("no chat id") from None
    if value == 0 or abs(value) > 2**62:
        raise callbacks.CallbackError("chat id out of range")
    return value


async def pressed(update: Update, context: Context) -> None:
    """A retry or reachable-again button: re-authorised (office only) on every press."""
    query = update.callback_query
    w = await who(update, context)
    if query is None or w is None:
        return
    try:
        data = callbacks.decode(query.data, NS)
        if data.action not in ("retry", "reach"):
            raise callbacks.CallbackError("unknown action")
        target = data.int_arg(0) if data.action == "retry" else _chat_arg(data)
    except callbacks.CallbackError:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    if w.cadre is None or w.cadre.role is not Role.OFFICE:
        await query.answer(w.t("common.not_allowed"), show_alert=True)
        return
    d = deps(context)
    now = d.now()
    async with d.db.write() as conn:
        if data.action == "retry":
            before = await outbox.requeue(conn, target, now)
            if before == "parked":
                await people.audit(conn, "outbox_retry", actor=w.cadre, subject=f"outbox:{target}")
                answer = w.t("parked.requeued", id=target)
            elif before is None:
                answer = w.t("parked.not_found")
            else:
                status = w.t(f"parked.status.{before}")
                answer = w.t("parked.already", id=target, status=status)
        else:
            label = await outbox.chat_label(conn, target)
            if await outbox.clear_unreachable(conn, target):
                await people.audit(
                    conn, "outbox_reachable", actor=w.cadre, subject=f"chat:{target}"
                )
                answer = w.t("parked.cleared", chat=_chat(w, label))
            else:
                answer = w.t("parked.not_unreachable", chat=_chat(w, label))
    await query.answer(answer, show_alert=True)
    text, markup = await render(w)
    try:
        await screen.edit_pressed(context.bot, query, text, markup)
    except (TelegramError, ValueError):  # the list did not change, or the message is gone
        log.debug("the /parked list was not refreshed", exc_info=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [
        CommandHandler("parked", parked_command),
        CallbackQueryHandler(pressed, pattern=callbacks.pattern(NS)),
    ]
