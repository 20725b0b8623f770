"""The office's hold on the outgoing queue (/parked): what could not be sent, which chats
cannot be reached, sending a parked item again, declaring a chat reachable again.

Only the office may; that is judged here on every call, so a button pressed days later
by someone who left the office does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from campaign import callbacks
from campaign.message import Button, Message
from campaign.roles import Role
from campaign.text import Tr, moment_text, shorten
from services.runtime import Deps
from storage import outbox
from storage.outbox import ChatLabel, Item, Unreachable
from storage.people import Cadre, audit

__all__ = [
    "ChatLabel",
    "Item",
    "Parked",
    "Reachable",
    "Retried",
    "Unreachable",
    "chat_name",
    "declare_reachable",
    "listing",
    "may_manage",
    "parked",
    "retry",
]

# How many parked items and unreachable chats the office's list shows.
SHOWN = 10


def may_manage(cadre: Cadre | None) -> bool:
    return cadre is not None and cadre.role is Role.OFFICE


@dataclass(frozen=True)
class Parked:
    """The newest parked items and unreachable chats, with the totals and a label for
    every chat they name."""

    items: list[Item]
    total: int
    chats: list[Unreachable]
    chats_total: int
    labels: dict[int, ChatLabel]


async def parked(d: Deps, shown: int) -> Parked:
    items, total = await outbox.parked(d.db, shown)
    chats, chats_total = await outbox.unreachable(d.db, shown)
    labels = await outbox.chat_labels(d.db, [i.chat_id for i in items] + [c.chat_id for c in chats])
    return Parked(items, total, chats, chats_total, labels)


def chat_name(t: Tr, label: ChatLabel | None, chat_id: int) -> str:
    """A chat as the office knows it: the cadre's name, the group's title, or its id."""
    if label is not None and label.cadre_name:
        return label.cadre_name
    if label is not None and label.chat_title:
        return t("parked.chat_group", title=label.chat_title)
    return t("parked.chat_unknown", chat=chat_id)


async def listing(d: Deps, lang: str) -> Message:
    """The office's view: newest parked items with a retry button each, then the
    unreachable chats with a button each to declare them reachable again."""
    view = await parked(d, SHOWN)

    def t(key: str, /, **values: object) -> str:
        return d.catalog.t(lang, key, **values)

    tz = d.settings.tz
    lines: list[str] = []
    rows: list[tuple[Button, ...]] = []
    if view.items:
        lines.append(t("parked.title", count=view.total, shown=len(view.items)))
        for it in view.items:
            text = str(it.payload.get("text") or it.payload.get("caption") or "")
            method = f"parked.method.{it.method}"
            lines.append(
                t(
                    "parked.item",
                    id=it.id,
                    chat=chat_name(t, view.labels.get(it.chat_id), it.chat_id),
                    method=t(method) if d.catalog.has(method) else it.method,
                    attempts=it.attempts,
                    when=moment_text(t, it.created_at, tz),
                    preview=shorten(text, 40) if text.strip() else t("parked.no_text"),
                    error=shorten(it.last_error or "", 160),
                )
            )
            label = t("parked.retry_button", id=it.id)
            rows.append((Button(label, callbacks.PARKED.build("retry", it.id)),))
    else:
        lines.append(t("parked.none"))
    lines.append("")
    if view.chats:
        lines.append(t("parked.unreachable_title", count=view.chats_total))
        for c in view.chats:
            name = chat_name(t, view.labels.get(c.chat_id), c.chat_id)
            lines.append(
                t(
                    "parked.unreachable_item",
                    chat=name,
                    since=moment_text(t, c.since, tz),
                    reason=shorten(c.reason, 80),
                )
            )
            label = t("parked.clear_button", chat=shorten(name, 24))
            rows.append((Button(label, callbacks.PARKED.build("reach", c.chat_id)),))
    else:
        lines.append(t("parked.unreachable_none"))
    return Message("\n".join(lines), tuple(rows))


class Retried(Enum):
    REQUEUED = "requeued"
    NOT_FOUND = "not_found"
    NOT_PARKED = "not_parked"  # sent, dropped or queued meanwhile: ``status`` says which
    NOT_ALLOWED = "not_allowed"


@dataclass(frozen=True)
class Retry:
    result: Retried
    status: str | None = None


async def retry(d: Deps, by: Cadre | None, item_id: int) -> Retry:
    """Queue a parked item again (it may reach the chat twice: the office decides)."""
    if by is None or not may_manage(by):
        return Retry(Retried.NOT_ALLOWED)
    async with d.db.write() as conn:
        before = await outbox.requeue(conn, item_id, d.now())
        if before == "parked":
            await audit(conn, "outbox_retry", actor=by, subject=f"outbox:{item_id}")
            return Retry(Retried.REQUEUED)
    if before is None:
        return Retry(Retried.NOT_FOUND)
    return Retry(Retried.NOT_PARKED, before)


class Reachable(Enum):
    CLEARED = "cleared"
    WAS_REACHABLE = "was_reachable"
    NOT_ALLOWED = "not_allowed"


async def declare_reachable(
    d: Deps, by: Cadre | None, chat_id: int
) -> tuple[Reachable, ChatLabel | None]:
    """The chat can be reached again (the person unblocked the bot, the group let it
    back in): its messages are sent again from now on."""
    if by is None or not may_manage(by):
        return Reachable.NOT_ALLOWED, None
    async with d.db.write() as conn:
        label = await outbox.chat_label(conn, chat_id)
        if await outbox.clear_unreachable(conn, chat_id):
            await audit(conn, "outbox_reachable", actor=by, subject=f"chat:{chat_id}")
            return Reachable.CLEARED, label
    return Reachable.WAS_REACHABLE, label
