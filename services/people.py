"""People: who is writing, joining (by one's own contact or an invite), binding the team
and office chats, the language a person reads, and pausing one's reminders.

Each use case reads and writes through ``storage/`` in one transaction and returns an
outcome naming what happened; the chat edge turns it into words from the catalogue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from campaign.channels import same_channel
from campaign.chats import BindVerdict, Side, judge_bind, may_bind
from campaign.i18n import LANGUAGES
from campaign.mute import mute_until, parse_mute
from campaign.phones import contact_phone, mask_phone
from campaign.roles import FIELD_ROLES
from services.runtime import Deps
from storage import people as store
from storage import reminders as pauses
from storage.people import BindOutcome, BoundChat, Cadre, InviteOutcome

log = logging.getLogger(__name__)

__all__ = [
    "BindVerdict",
    "BoundChat",
    "Cadre",
    "ChatBinding",
    "Joined",
    "MuteOutcome",
    "Paused",
    "bind_chat",
    "bound_chat",
    "join_by_contact",
    "may_bind",
    "mute",
    "office_chat",
    "redeem_invite",
    "sender",
    "set_language",
    "unmute",
]

# The longest invite code read from a /start payload (ours are 16 characters).
INVITE_CODE_MAX = 64


async def sender(
    d: Deps, telegram_user_id: int, check: bool = True
) -> tuple[str | None, Cadre | None]:
    """The saved language and the bound, active cadre of whoever is writing (one query:
    it runs for every update). ``check=False``: from memory without reading the people
    generation; the caller checks it against ``sender_generation`` (the step engine)."""
    return await store.sender(d.db, telegram_user_id, check)


def sender_generation(d: Deps) -> int:
    """The people generation of the senders served from memory (-1: none); see
    storage/people.sender_generation."""
    return store.sender_generation(d.db)


# --- joining --------------------------------------------------------------------------------


class Joined(Enum):
    """How a join ended. Every value but BOUND and ALREADY is a refusal whose words are
    ``start.<value>`` in the catalogue."""

    BOUND = "bound"
    ALREADY = "already"
    SECOND = "second"  # bound as the cadre's account on their other channel
    CADRE_TAKEN = "cadre_taken"  # the cadre is bound to another account
    ACCOUNT_TAKEN = "account_taken"  # this account is bound to another cadre
    NOT_ON_ROSTER = "not_on_roster"
    INVITE_UNKNOWN = "invite_unknown"
    INVITE_EXPIRED = "invite_expired"
    INVITE_USED = "invite_used"

    @property
    def joined(self) -> bool:
        return self in (Joined.BOUND, Joined.ALREADY, Joined.SECOND)


_FROM_STORE = {
    BindOutcome.BOUND: Joined.BOUND,
    BindOutcome.ALREADY: Joined.ALREADY,
    BindOutcome.CADRE_TAKEN: Joined.CADRE_TAKEN,
    BindOutcome.ACCOUNT_TAKEN: Joined.ACCOUNT_TAKEN,
    BindOutcome.INACTIVE: Joined.NOT_ON_ROSTER,
    InviteOutcome.UNKNOWN: Joined.INVITE_UNKNOWN,
    InviteOutcome.EXPIRED: Joined.INVITE_EXPIRED,
    InviteOutcome.USED: Joined.INVITE_USED,
}


async def join_by_contact(d: Deps, telegram_user_id: int, phone_number: str, lang: str) -> Joined:
    """Bind the account to the roster cadre with this phone number (the person's own
    contact: the caller checked that it is theirs). Telegram gives it as international
    digits without the "+", so it is read as such: never as a mainland number."""
    phone = contact_phone(phone_number)
    cadre = await store.cadre_by_phone(d.db, phone) if phone else None
    if cadre is None or not cadre.active:
        log.info("join refused: %s is not on the roster", mask_phone(phone or "?"))
        return Joined.NOT_ON_ROSTER
    outcome = await store.bind(d.db, cadre.id, telegram_user_id, "contact", d.now(), lang)
    if outcome == BindOutcome.CADRE_TAKEN:
        first = await store.account_of(d.db, cadre.id)
        if first is not None and not same_channel(first, telegram_user_id):
            # on both channels: this account acts as them, notices stay on the first
            outcome = await store.bind_second(
                d.db, cadre.id, telegram_user_id, "contact", d.now(), lang
            )
            if outcome == BindOutcome.BOUND:
                return Joined.SECOND
    return _FROM_STORE[outcome]


async def redeem_invite(d: Deps, code: str, telegram_user_id: int, lang: str) -> Joined:
    """Bind by an invite code from the office (one use, until it expires)."""
    outcome = await store.redeem_invite(
        d.db, code[:INVITE_CODE_MAX], telegram_user_id, d.now(), lang
    )
    return _FROM_STORE[outcome]


# --- language -------------------------------------------------------------------------------


async def set_language(d: Deps, telegram_user_id: int, lang: str) -> bool:
    """Save the language the person chose; False (nothing saved) for one we do not speak."""
    if lang not in LANGUAGES:
        return False
    await store.save_language(d.db, telegram_user_id, lang)
    return True


# --- bound chats ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatBinding:
    """What /bindteam or /bindoffice did. ``holder`` is the chat's owner when it was
    refused as TAKEN; ``replaced`` this side's earlier chat when BOUND moved it."""

    verdict: BindVerdict
    holder: BoundChat | None = None
    replaced: BoundChat | None = None


async def bind_chat(d: Deps, chat_id: int, kind: str, title: str, by: Cadre) -> ChatBinding:
    """Bind this group chat as ``by``'s team chat (kind "team") or as the office chat.

    A chat bound to another team or to the office is refused and stays with its owner;
    judged and written in one transaction, so two binders cannot both win."""
    async with d.db.write() as conn:
        current = await store.chat_binding(conn, chat_id)
        side = Side(current.kind, current.team_id) if current is not None else None
        verdict = judge_bind(by.role, by.team_id, kind, side)
        if verdict is BindVerdict.TAKEN:
            log.info("chat %s is bound to %s; %s refused", chat_id, side, kind)
            return ChatBinding(verdict, holder=current)
        if verdict is not BindVerdict.BIND:
            return ChatBinding(verdict, holder=current)
        team_id = by.team_id if kind == "team" else None
        old = await store.bind_chat(conn, chat_id, kind, team_id, title, by, d.now())
    replaced = old if old is not None and old.chat_id != chat_id else None
    return ChatBinding(verdict, replaced=replaced)


async def bound_chat(d: Deps, chat_id: int) -> BoundChat | None:
    return await store.bound_chat(d.db, chat_id)


async def office_chat(d: Deps) -> BoundChat | None:
    return await store.office_chat(d.db)


# --- pausing reminders ----------------------------------------------------------------------


class Paused(Enum):
    """How /mute or /unmute ended; each value is its words' key, ``sched.mute.<value>``."""

    DONE = "done"
    USAGE = "usage"  # the argument was missing or not understood
    TOO_LONG = "too_long"
    NOT_FOR_ROLE = "not_for_role"  # only stationed cadres get reminders to pause
    RESUMED = "unmuted"
    NOT_MUTED = "not_muted"


@dataclass(frozen=True)
class MuteOutcome:
    result: Paused
    days: int = 0
    until: datetime | None = None  # aware; the pause ends at this local midnight
    max_days: int = 0


def _reminded(cadre: Cadre) -> bool:
    return cadre.role in FIELD_ROLES


async def mute(d: Deps, cadre: Cadre, arg: str) -> MuteOutcome:
    """/mute 3d: pause nudges and pace checks through the end of the third day."""
    max_days = d.settings.reminders.mute_max_days
    if not _reminded(cadre):
        return MuteOutcome(Paused.NOT_FOR_ROLE, max_days=max_days)
    request = parse_mute(arg[:40], max_days)
    if request.days is None:
        return MuteOutcome(Paused.USAGE, max_days=max_days)
    if request.too_long:
        return MuteOutcome(Paused.TOO_LONG, max_days=max_days)
    now = d.now()
    until = mute_until(now, request.days, d.settings.tz)
    await pauses.mute(d.db, cadre.id, until, now)
    return MuteOutcome(Paused.DONE, request.days, until, max_days)


async def unmute(d: Deps, cadre: Cadre) -> Paused:
    """/unmute: reminders come again from now on."""
    if not _reminded(cadre):
        return Paused.NOT_FOR_ROLE
    ended = await pauses.unmute(d.db, cadre.id, d.now())
    return Paused.RESUMED if ended else Paused.NOT_MUTED
