"""Binding group chats: who may bind which kind, and what happens to a chat already bound.

A chat is one side's: a team's chat or the office chat. Binding moves one's own side to a
new chat (the old one stops receiving), but never takes a chat that belongs to another
side: team B's leader sending /bindteam in team A's chat would route B's problem cards,
with their text, into A's chat. Such a chat is refused, and stays with its owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from campaign.roles import Role, may_bind_office_chat, may_bind_team_chat

TEAM = "team"
OFFICE = "office"
KINDS = (TEAM, OFFICE)


class BindVerdict(Enum):
    BIND = "bind"  # the chat is free: bind it (replacing this side's earlier chat)
    ALREADY = "already"  # the chat is already this side's: nothing to change
    NOT_ALLOWED = "not_allowed"  # the role may not bind this kind of chat
    NO_TEAM = "no_team"  # a team leader with no team on the roster
    TAKEN = "taken"  # the chat is another side's: refused, it stays with its owner


@dataclass(frozen=True)
class Side:
    """Who a chat belongs to: the office, or one team."""

    kind: str
    team_id: int | None = None


def may_bind(role: Role | None, kind: str) -> bool:
    if role is None:
        return False
    return may_bind_team_chat(role) if kind == TEAM else may_bind_office_chat(role)


def judge_bind(
    role: Role | None, own_team: int | None, kind: str, current: Side | None
) -> BindVerdict:
    """Whether someone of ``role`` (in ``own_team``) may bind this chat as ``kind``, the
    chat being bound to ``current`` now (None: not bound)."""
    if not may_bind(role, kind):
        return BindVerdict.NOT_ALLOWED
    if kind == TEAM and own_team is None:
        return BindVerdict.NO_TEAM
    wanted = Side(kind, own_team if kind == TEAM else None)
    if current is None:
        return BindVerdict.BIND
    if current == wanted:
        return BindVerdict.ALREADY
    return BindVerdict.TAKEN
