"""Roles, what each may do, and the commands each sees in its menu."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CADRE = "cadre"
    GROUP_LEADER = "group_leader"
    TEAM_LEADER = "team_leader"
    DEPUTY_TEAM_LEADER = "deputy_team_leader"
    OFFICE = "office"
    INSPECTOR = "inspector"


# Chinese names accepted in the roster and shown in lists.
ROLE_ALIASES: dict[str, Role] = {
    "cadre": Role.CADRE,
    "队员": Role.CADRE,
    "党员干部": Role.CADRE,
    "干部": Role.CADRE,
    "group_leader": Role.GROUP_LEADER,
    "组长": Role.GROUP_LEADER,
    "工作组组长": Role.GROUP_LEADER,
    "team_leader": Role.TEAM_LEADER,
    "队长": Role.TEAM_LEADER,
    "工作队队长": Role.TEAM_LEADER,
    "deputy_team_leader": Role.DEPUTY_TEAM_LEADER,
    "副队长": Role.DEPUTY_TEAM_LEADER,
    "工作队副队长": Role.DEPUTY_TEAM_LEADER,
    "office": Role.OFFICE,
    "办公室": Role.OFFICE,
    "活动办": Role.OFFICE,
    "活动办公室": Role.OFFICE,
    "活动领导小组办公室": Role.OFFICE,
    "inspector": Role.INSPECTOR,
    "检查指导组": Role.INSPECTOR,
    "督查": Role.INSPECTOR,
}


def parse_role(text: str) -> Role | None:
    return ROLE_ALIASES.get(text.strip().lower()) or ROLE_ALIASES.get(text.strip())


TEAM_LEADERS = frozenset({Role.TEAM_LEADER, Role.DEPUTY_TEAM_LEADER})
FIELD_ROLES = frozenset({Role.CADRE, Role.GROUP_LEADER, Role.TEAM_LEADER, Role.DEPUTY_TEAM_LEADER})
# Roles that must belong to a team / a group on the roster.
NEEDS_TEAM = frozenset({Role.CADRE, Role.GROUP_LEADER, Role.TEAM_LEADER, Role.DEPUTY_TEAM_LEADER})
NEEDS_GROUP = frozenset({Role.CADRE, Role.GROUP_LEADER})


def may_bind_team_chat(role: Role) -> bool:
    return role in TEAM_LEADERS


def may_bind_office_chat(role: Role) -> bool:
    return role is Role.OFFICE


# The commands shown in each role's private-chat menu, in menu order. Every name here
# must be handled by a registered CommandHandler (a test checks it); the description
# is the catalogue key ``commands.<name>``.
_MUTE = ("mute", "unmute")  # field roles get reminders, so they may pause them
_VISITS = ("visit", "my")
_VISIT_FIXES = ("visit_edit", "visit_withdraw")
_PROBLEMS = ("problem", "problems", "plan")
_REPORTS = ("summary", "coverage", "overdue", "log", "cases", "export", "chart", "rank")
_GROUP_REPORTS = ("summary", "coverage", "overdue", "log", "cases", "rank")
_FIELD = ("start", *_VISITS, *_PROBLEMS)
_TAIL = (*_VISIT_FIXES, *_MUTE, "help", "lang")
ROLE_COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.CADRE: (*_FIELD, *_TAIL),
    Role.GROUP_LEADER: (*_FIELD, "group", "ledger", *_GROUP_REPORTS, *_TAIL),
    Role.TEAM_LEADER: (*_FIELD, "ledger", *_REPORTS, *_TAIL, "bindteam"),
    Role.DEPUTY_TEAM_LEADER: (*_FIELD, "ledger", *_REPORTS, *_TAIL, "bindteam"),
    Role.OFFICE: ("start", *_REPORTS, "ledger", "parked", "help", "lang", "bindoffice", "plan"),
    Role.INSPECTOR: ("start", *_REPORTS, "help", "lang", "plan"),
}
# Checking the work: /checks for everyone (a cadre sees their own correction items),
# /check N (a visit, to check it) for whoever checks logs, /inspect (现场督查) for the
# inspection groups and the office.
_CHECKS: dict[Role, tuple[str, ...]] = {
    Role.CADRE: ("checks",),
    Role.GROUP_LEADER: ("checks", "check"),
    Role.TEAM_LEADER: ("checks", "check"),
    Role.DEPUTY_TEAM_LEADER: ("checks", "check"),
    Role.OFFICE: ("checks", "check", "inspect"),
    Role.INSPECTOR: ("checks", "check", "inspect"),
}
ROLE_COMMANDS = {role: (*names, *_CHECKS[role]) for role, names in ROLE_COMMANDS.items()}
# The inline menu under a greeting: keys of ``menu.<key>`` in the catalogue, each a
# button ``menu:v1:<key>`` that some handler answers (a test checks it).
ROLE_MENU: dict[Role, tuple[str, ...]] = {
    Role.CADRE: ("visit", "problem", "my", "help", "lang"),
    Role.GROUP_LEADER: ("visit", "problem", "my", "summary", "help", "lang"),
    Role.TEAM_LEADER: ("visit", "problem", "my", "summary", "help", "lang"),
    Role.DEPUTY_TEAM_LEADER: ("visit", "problem", "my", "summary", "help", "lang"),
    Role.OFFICE: ("summary", "help", "lang"),
    Role.INSPECTOR: ("summary", "help", "lang"),
}
# Commands shown to people who have not joined yet.
GUEST_COMMANDS: tuple[str, ...] = ("start", "help", "lang")
# Commands shown in a bound team chat / office chat (to everyone in it; each command
# still checks the sender's role).
TEAM_CHAT_COMMANDS: tuple[str, ...] = ("help", "summary", "coverage", "overdue")
OFFICE_CHAT_COMMANDS: tuple[str, ...] = ("help", *_REPORTS)
# Any other group chat (not yet bound): binding it, and help.
GROUP_CHAT_COMMANDS: tuple[str, ...] = ("bindteam", "bindoffice", "help")


class MenuScope(StrEnum):
    """Where a command menu shows (Telegram's BotCommandScope): private chats of people
    not yet joined (the default), every group chat, a bound team chat, the office chat.
    A joined person's private chat gets ``ROLE_COMMANDS`` for their role."""

    PRIVATE = "private"
    GROUPS = "groups"
    TEAM_CHAT = "team"
    OFFICE_CHAT = "office"


SCOPE_COMMANDS: dict[MenuScope, tuple[str, ...]] = {
    MenuScope.PRIVATE: GUEST_COMMANDS,
    MenuScope.GROUPS: GROUP_CHAT_COMMANDS,
    MenuScope.TEAM_CHAT: TEAM_CHAT_COMMANDS,
    MenuScope.OFFICE_CHAT: OFFICE_CHAT_COMMANDS,
}


def chat_scope(kind: str | None) -> MenuScope:
    """The menu scope of a group chat bound as ``kind`` ("team", "office"; None: not
    bound)."""
    if kind == "team":
        return MenuScope.TEAM_CHAT
    if kind == "office":
        return MenuScope.OFFICE_CHAT
    return MenuScope.GROUPS


def commands_for(scope: MenuScope, role: Role | None = None) -> tuple[str, ...]:
    """The menu: a joined person's private chat shows their role's commands."""
    if scope is MenuScope.PRIVATE and role is not None:
        return ROLE_COMMANDS[role]
    return SCOPE_COMMANDS[scope]
