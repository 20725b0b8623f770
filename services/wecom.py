"""WeCom identity: roster phones mapped to directory userids, and who a member is.

A WeCom member is known by the corporate directory's userid. ``sync`` asks the directory
(``user/getuserid``, given to it as ``lookup``: services never call a chat API
themselves) for the userid of every roster phone not mapped yet; ``resolve`` finds the
internal id of the member who wrote, trying a sync first when the userid is unknown,
and says when the member's cadre is still to be bound: the chat edge then joins them
through the core's own join, as sharing one's contact does on Telegram. A cadre already
bound on Telegram keeps that binding (the core answers that the cadre is taken; the
notices go to Telegram, docs/wecom.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

from campaign.phones import mask_phone
from services.runtime import Deps
from storage import people as store
from storage import wecom

log = logging.getLogger(__name__)

Lookup = Callable[[str], Awaitable[str | None]]  # a mainland mobile -> userid or None


def directory_mobile(phone: str) -> str | None:
    """The form of a roster phone that WeCom's directory holds: a mainland mobile
    without its country code; None for any other number (the directory cannot match it)."""
    if phone.startswith("+86") and len(phone) == 14 and phone[3] == "1":
        return phone[3:]
    return None


@dataclass
class SyncResult:
    mapped: int = 0  # phones newly mapped to a userid
    missing: list[str] = field(default_factory=list)  # roster phones not in the directory
    failed: int = 0  # lookups that failed (network, errcode): tried again next time


async def sync(d: Deps, lookup: Lookup) -> SyncResult:
    """Map every roster phone not mapped yet to its directory userid."""
    result = SyncResult()
    for phone in await wecom.unmapped_phones(d.db):
        mobile = directory_mobile(phone)
        if mobile is None:
            result.missing.append(phone)
            continue
        try:
            userid = await lookup(mobile)
        except Exception as exc:  # one bad answer must not stop the others
            log.warning("getuserid for %s failed: %s", mask_phone(phone), type(exc).__name__)
            result.failed += 1
            continue
        if userid is None:
            result.missing.append(phone)
            continue
        await wecom.save_account(d.db, wecom.MEMBER, userid, phone, d.now())
        result.mapped += 1
    return result


class Who(Enum):
    MEMBER = "member"  # bound: the update goes to the core as this id
    JOIN = "join"  # mapped, not bound yet: the core's join runs first (as a shared contact)
    UNKNOWN = "unknown"  # no roster phone maps to this userid


@dataclass(frozen=True)
class Resolved:
    who: Who
    internal_id: int | None = None
    phone: str | None = None


async def resolve(d: Deps, userid: str, lookup: Lookup | None) -> Resolved:
    """Who wrote: the member's internal id, and whether the core must bind them first
    (the first message). An unknown userid gets one sync (when ``lookup`` is given)
    before it is refused."""
    account = await wecom.account_of(d.db, wecom.MEMBER, userid)
    if (account is None or account.phone is None) and lookup is not None:
        await sync(d, lookup)
        account = await wecom.account_of(d.db, wecom.MEMBER, userid)
    if account is None or account.phone is None:
        log.info("a WeCom member not on the roster wrote (no roster phone maps to them)")
        return Resolved(Who.UNKNOWN)
    bound = await store.cadre_by_telegram(d.db, account.internal_id)
    if bound is not None:
        return Resolved(Who.MEMBER, account.internal_id, account.phone)
    return Resolved(Who.JOIN, account.internal_id, account.phone)


async def member_id(d: Deps, userid: str) -> int | None:
    """The internal id of a mapped member (no lookup, no binding)."""
    account = await wecom.account_of(d.db, wecom.MEMBER, userid)
    return account.internal_id if account is not None else None
