"""Rendering a problem: its card, its history, notices and list lines, as plain text and
``campaign.message`` values, from plain values and the catalogue.

Handlers, the outgoing queue and the scheduler all render through here, so a card looks
the same whoever changes the problem. No Telegram, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from campaign import callbacks
from campaign.i18n import Catalog
from campaign.ladder import Action, allowed_actions, is_open
from campaign.message import Button, Message, grid
from campaign.text import moment_text
from campaign.vocabulary import LEVELS

# Short words in callback data, so that every button stays far under 64 bytes.
ACTION_WORDS: dict[Action, str] = {
    Action.CLAIM: "claim",
    Action.NOTE: "note",
    Action.SOLVE: "solve",
    Action.EXPLAIN: "expl",
    Action.ESCALATE: "up",
    Action.HAND_DOWN: "down",
    Action.ASSIGN: "dept",
}
WORD_ACTIONS: dict[str, Action] = {w: a for a, w in ACTION_WORDS.items()}
SHOW_WORD = "show"


def number(problem_id: int) -> str:
    return f"P-{problem_id}"


def card_data(action: Action, problem_id: int, level: str) -> str:
    """The level the card was made for lets a press on an outdated card be told what
    happened since (``callbacks.CARD``)."""
    return callbacks.CARD.build(ACTION_WORDS[action], problem_id, level)


def show_data(problem_id: int) -> str:
    return callbacks.CARD.build(SHOW_WORD, problem_id)


@dataclass(frozen=True)
class CardPress:
    """A card button read back: the action (None for "show"), the problem, the level."""

    action: Action | None
    problem_id: int
    level: str  # "" for "show"


def read_press(data: str | None) -> CardPress | None:
    """A card press, or None when the data is forged, outdated or malformed."""
    try:
        cb = callbacks.CARD.parse(data)
        problem_id = cb.int_arg(0)
    except callbacks.CallbackError:
        return None
    if cb.action == SHOW_WORD:
        return CardPress(None, problem_id, "")
    level = cb.args[1]
    if level not in LEVELS:
        return None
    return CardPress(WORD_ACTIONS[cb.action], problem_id, level)


@dataclass(frozen=True)
class EventView:
    action: str
    actor_name: str | None
    at: datetime
    note: str = ""
    from_level: str | None = None
    to_level: str | None = None


@dataclass(frozen=True)
class CardView:
    id: int
    category: str
    urgent: bool
    place_name: str
    place_kind: str
    village_name: str
    group_name: str
    team_name: str
    reporter_name: str
    reporters: int
    description: str
    photos: int
    level: str
    status: str
    owner_name: str | None
    department: str | None
    created_at: datetime
    deadline: datetime
    resolution: str | None
    explained_by: str | None
    explained_on: str | None
    closed_at: datetime | None
    last: EventView | None = None
    urged: tuple[str, ...] = ()  # who urged it (督办), once per urge, oldest first


class Renderer:
    """The catalogue, a language and the campaign's time zone, bound together."""

    def __init__(self, catalog: Catalog, lang: str, tz: tzinfo) -> None:
        self.catalog = catalog
        self.lang = lang
        self.tz = tz

    def t(self, key: str, /, **values: Any) -> str:
        return self.catalog.t(self.lang, key, **values)

    def when(self, moment: datetime) -> str:
        return moment_text(self.t, moment, self.tz)

    def level(self, level: str | None) -> str:
        return self.t(f"levels.{level}") if level else ""

    def place(self, v: CardView) -> str:
        kind = self.t(f"places.{v.place_kind}")
        if v.village_name:
            return self.t(
                "problems.card.place_in_village", place=v.place_name, village=v.village_name
            )
        return self.t("problems.card.place", place=v.place_name, kind=kind)

    def remaining(self, deadline: datetime, now: datetime) -> str:
        today = now.astimezone(self.tz).date()
        due = deadline.astimezone(self.tz).date()
        if now >= deadline:
            days = (today - due).days
            if days <= 0:
                return self.t("problems.card.overdue_today")
            return self.t("problems.card.overdue_days", days=days)
        days = (due - today).days
        if days <= 0:
            return self.t("problems.card.due_today")
        return self.t("problems.card.days_left", days=days)

    def status(self, v: CardView) -> str:
        text = self.t(f"problems.status.{v.status}")
        if v.status == "claimed" and v.owner_name:
            text = self.t("problems.card.claimed_by", status=text, name=v.owner_name)
        return text

    def event(self, e: EventView) -> str:
        """One line of a problem's history."""
        what = self.t(
            f"problems.event.{e.action}",
            note=e.note,
            to=self.level(e.to_level),
            frm=self.level(e.from_level),
        ).strip()
        who = e.actor_name or self.t("problems.event.system")
        return self.t("problems.event.line", when=self.when(e.at), who=who, what=what)

    # --- the card -------------------------------------------------------------------

    def card(self, v: CardView, now: datetime, *, actionable: bool, hint: str = "") -> str:
        lines = [
            self.t(
                "problems.card.head_urgent" if v.urgent else "problems.card.head",
                number=number(v.id),
                category=self.t(f"categories.{v.category}"),
            ),
            self.t("problems.card.where", place=self.place(v), group=v.group_name or v.team_name),
        ]
        others = v.reporters - 1
        lines.append(
            self.t(
                "problems.card.reporter_and_others" if others > 0 else "problems.card.reporter",
                name=v.reporter_name,
                others=others,
                when=self.when(v.created_at),
            )
        )
        lines.append(self.t("problems.card.text", text=v.description))
        if v.photos:
            lines.append(self.t("problems.card.photos", count=v.photos))
        lines.append(self.t("problems.card.rule"))
        lines.append(
            self.t("problems.card.state", level=self.level(v.level), status=self.status(v))
        )
        if is_open(v.status):
            lines.append(
                self.t(
                    "problems.card.deadline",
                    deadline=self.when(v.deadline),
                    remaining=self.remaining(v.deadline, now),
                )
            )
        if v.department:
            lines.append(self.t("problems.card.department", department=v.department))
        if v.urged:
            names = "、".join(dict.fromkeys(v.urged))
            lines.append(self.t("problems.card.urged", count=len(v.urged), names=names))
        if v.status == "solved" and v.resolution:
            lines.append(self.t("problems.card.solved", text=v.resolution))
        if v.status == "explained":
            lines.append(
                self.t(
                    "problems.card.explained",
                    text=v.resolution or "",
                    by=v.explained_by or "",
                    on=v.explained_on or "",
                )
            )
        if v.last is not None:
            lines.append(self.t("problems.card.latest", event=self.event(v.last)))
        if hint:
            lines.append(hint)
        if not actionable and is_open(v.status):
            lines.append(self.t("problems.card.not_here", level=self.level(v.level)))
        lines.append(self.t("problems.card.updated", when=self.when(now)))
        return "\n".join(lines)

    def card_message(
        self, v: CardView, now: datetime, *, actionable: bool, hint: str = ""
    ) -> Message:
        """The card: its text, and the owner's buttons for the problem's current level
        and status when the chat owns it (a card is sent and edited whole)."""
        text = self.card(v, now, actionable=actionable, hint=hint)
        if not actionable:
            return Message(text)
        buttons = [
            Button(self.t(f"problems.button.{ACTION_WORDS[a]}"), card_data(a, v.id, v.level))
            for a in allowed_actions(v.level, v.status)
        ]
        return Message(text, grid(buttons, 3))

    def photos_message(self, problem_id: int, file_ids: list[str]) -> Message:
        """The photos of a problem, sent before its card (one photo, or one album)."""
        caption = self.t("problems.card.photos_caption", number=number(problem_id))
        return Message(caption, photos=tuple(file_ids))

    # --- notices and lists ----------------------------------------------------------

    def subject(self, v: CardView) -> str:
        return self.t(
            "problems.notice.subject",
            number=number(v.id),
            place=v.place_name,
            category=self.t(f"categories.{v.category}"),
        )

    def notice(self, v: CardView, e: EventView) -> str:
        """What a reporter is told when their problem moves or ends."""
        return self.t(
            f"problems.notice.{e.action}",
            subject=self.subject(v),
            who=e.actor_name or self.t("problems.event.system"),
            note=e.note,
            to=self.level(e.to_level),
            frm=self.level(e.from_level),
            department=v.department or "",
            by=v.explained_by or "",
            on=v.explained_on or "",
        )

    def line(self, v: CardView, now: datetime) -> str:
        """One problem in /problems or /ledger."""
        mark = ""
        if is_open(v.status) and now >= v.deadline:
            mark = self.t("problems.list.overdue_mark")
        elif v.urgent and is_open(v.status):
            mark = self.t("problems.list.urgent_mark")
        tail = (
            self.remaining(v.deadline, now)
            if is_open(v.status)
            else self.when(v.closed_at or v.created_at)
        )
        return self.t(
            "problems.list.line",
            mark=mark,
            number=number(v.id),
            place=v.place_name,
            category=self.t(f"categories.{v.category}"),
            level=self.level(v.level),
            status=self.status(v),
            tail=tail,
        )
