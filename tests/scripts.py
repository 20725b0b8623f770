"""Scripted users: what one person does with the bot, as data, run in-process or live.

A script is a list of steps. Actions (``Send``, ``ShareContact``, ``Press``,
``PressFirst``) make one update; ``Expect`` waits for a message (or edit) in the chat
whose text holds one of the given fragments, shown after the last action. The same
script runs through the in-process Harness (:func:`run_inprocess`, fast, exact) and
against the real bot process (tests/crashrun.py, with kills).

Scripts are built by functions that take the member and the catalogue, so the text to
expect is the catalogue's, in the language the member sees. The visit and problem
flows plug in here: :data:`FLOWS` names what each needs (a registered command and its
catalogue keys); a flow whose pieces are missing is skipped with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import CommandHandler, ConversationHandler

from campaign.i18n import Catalog, default_catalog
from campaign.roles import ROLE_COMMANDS, Role
from tests.crowd import Member, own_place
from tests.fakebot import Call, Harness, shown


@dataclass(frozen=True)
class Send:
    text: str
    chat_id: int | None = None  # None: the member's private chat


@dataclass(frozen=True)
class ShareContact:
    phone: str | None = None  # None: the member's own roster number
    owner_id: int | None = None  # None: the member (a contact of oneself)


@dataclass(frozen=True)
class Press:
    label: str  # a fragment of the button's text, on the newest message that has it
    chat_id: int | None = None


@dataclass(frozen=True)
class PressFirst:
    """Press the first button of the newest message with buttons (a list to pick from)."""

    chat_id: int | None = None


@dataclass(frozen=True)
class Expect:
    any_of: tuple[str, ...]
    chat_id: int | None = None

    def met_by(self, text: str) -> bool:
        return any(fragment in text for fragment in self.any_of)


Step = Send | ShareContact | Press | PressFirst | Expect
Action = Send | ShareContact | Press | PressFirst


def expect(*fragments: str, chat_id: int | None = None) -> Expect:
    return Expect(tuple(fragments), chat_id)


@dataclass
class Script:
    member: Member
    steps: list[Step]
    # What the run must leave behind for this member, checked after it (see crashrun.py).
    final_lang: str | None = None
    team_chat: int | None = None
    office_chat: int | None = None
    flows: list[str] = field(default_factory=list)


def first_line(text: str) -> str:
    return text.strip().splitlines()[0]


# --- the scripts that exist now ------------------------------------------------------


def join_steps(m: Member, cat: Catalog, phone: str | None = None) -> list[Step]:
    """/start, share own contact, see the role menu greeting (with the cadre's name)."""
    return [
        Send("/start"),
        expect(first_line(cat.t(m.lang, "start.ask_phone"))),
        ShareContact(phone),
        expect(m.name),
    ]


def lang_steps(m: Member, lang_from: str, lang_to: str, cat: Catalog) -> list[Step]:
    """/lang, choose, the confirmation, then /help answers in the new language."""
    label = {"zh-CN": "中文", "en": "English"}[lang_to]
    role = cat.t(lang_to, f"roles.{m.role.value}")
    return [
        Send("/lang"),
        expect(cat.t(lang_from, "lang.choose")),
        Press(label),
        expect(cat.t(lang_to, "lang.saved")),
        Send("/help"),
        expect(first_line(cat.t(lang_to, "help.intro", role=role))),
    ]


def bindteam_steps(m: Member, cat: Catalog, lang: str) -> list[Step]:
    chat = m.team_chat_id
    return [
        Send("/bindteam", chat_id=chat),
        expect(cat.t(lang, "bindchat.team_bound", team=m.team_name), chat_id=chat),
    ]


OFFICE_CHAT = -1_000_999_999


def bindoffice_steps(cat: Catalog, lang: str) -> list[Step]:
    return [
        Send("/bindoffice", chat_id=OFFICE_CHAT),
        expect(cat.t(lang, "bindchat.office_bound"), chat_id=OFFICE_CHAT),
    ]


def phone_variants(phone: str) -> list[str]:
    """How a shared contact may write its own number: Telegram gives international
    digits, with or without the "+" and separators; never a bare mainland number (that
    would be another country's, issue 12 #3)."""
    local = phone[3:]
    return [
        phone,
        f"86 {local[:3]} {local[3:7]} {local[7:]}",
        f"+86 {local[:3]} {local[3:7]} {local[7:]}",
        f"+86 {local[:3]}-{local[3:7]}-{local[7:]}",
        f"86-{local[:3]}-{local[3:7]}-{local[7:]}",
        phone[1:],
    ]


def everyday_script(m: Member, pick: Callable[[int], int], cat: Catalog | None = None) -> Script:
    """A member's first day: join (own number, written some way), maybe join again,
    maybe switch language and back, leaders bind their team chat. ``pick(n)`` chooses
    in ``range(n)`` (seeded by the caller), so a run is repeatable."""
    cat = cat or default_catalog()
    phone = phone_variants(m.phone)[pick(6)]
    steps: list[Step] = join_steps(m, cat, phone)
    lang = m.lang
    if pick(4) == 0:  # tapping share again once joined just greets
        steps += [ShareContact(), expect(m.name)]
    # Joining keeps the language the member's app speaks, so later notices use it too.
    script = Script(m, steps, final_lang=lang)
    if pick(2) == 0:
        other = "en" if lang == "zh-CN" else "zh-CN"
        steps += lang_steps(m, lang, other, cat)
        lang = other
        if pick(3) == 0:
            steps += lang_steps(m, lang, m.lang, cat)
            lang = m.lang
        script.final_lang = lang  # the last choice is saved
    if m.role in (Role.TEAM_LEADER, Role.DEPUTY_TEAM_LEADER):
        steps += bindteam_steps(m, cat, lang)
        script.team_chat = m.team_chat_id
    if m.role is Role.OFFICE:
        steps += bindoffice_steps(cat, lang)
        script.office_chat = OFFICE_CHAT
    for flow in FLOWS.values():
        if flow.available() is None and m.role in flow.roles and pick(2) == 0:
            steps += flow.steps(m, cat, lang)
            script.flows.append(flow.name)
    return script


# --- flows that other features bring: enabled when their pieces exist -----------------


@dataclass(frozen=True)
class Flow:
    """A feature's scripted use. ``needs_keys``: catalogue keys the steps use (they name
    the buttons pressed); ``count_sql``: how many records one run of the steps leaves,
    per cadre (``?`` is the cadre id); each run must leave exactly one; ``draft_sql``:
    how many of them came from a submitted draft of the cadre's that points back at
    the record (also exactly one)."""

    name: str
    command: str
    roles: frozenset[Role]
    needs_keys: tuple[str, ...]
    steps: Callable[[Member, Catalog, str], list[Step]]
    count_sql: str
    draft_sql: str

    def available(self, catalog: Catalog | None = None) -> str | None:
        """None when the flow can run; otherwise why it cannot (yet)."""
        cat = catalog or default_catalog()
        if not registered_command(self.command):
            return f"/{self.command} is not registered in bot/app.py handler_table() yet"
        missing_roles = [r.value for r in self.roles if self.command not in ROLE_COMMANDS[r]]
        if missing_roles:
            return f"/{self.command} is not in ROLE_COMMANDS for {', '.join(missing_roles)}"
        missing = [k for k in self.needs_keys if not cat.has(k)]
        if missing:
            return f"the {self.name} script needs catalogue keys {', '.join(missing)}"
        return None


def registered_command(name: str) -> bool:
    from bot.app import handler_table

    for _, group in handler_table():
        for h in group:
            entry = h.entry_points if isinstance(h, ConversationHandler) else [h]
            for e in entry:
                if isinstance(e, CommandHandler) and name in e.commands:
                    return True
    return False


def fixed(cat: Catalog, lang: str, key: str) -> str:
    """The longest piece of a message's first line that holds no placeholder: what the
    user surely sees of it, whatever the values."""
    raw = first_line(cat.t(lang, key))
    pieces = re.split(r"\{[^{}]*\}", raw)
    return max((piece.strip() for piece in pieces), key=len)


def visit_steps(m: Member, cat: Catalog, lang: str) -> list[Step]:
    """Issue 3's /visit as a cadre taps it: the first place offered, a kind, Done,
    today, a text, (every other member types how many people they met) Next, Submit.
    The receipt (or, for a Submit handled again after a kill, "already submitted")
    carries the visit number."""
    steps: list[Step] = [
        Send("/visit"),
        expect(fixed(cat, lang, "visits.step_place")),
        PressFirst(),
        expect(fixed(cat, lang, "visits.step_kinds")),
        Press(cat.t(lang, "kinds.policy")),
        Press(cat.t(lang, "visits.kinds_done")),
        expect(fixed(cat, lang, "visits.step_date")),
        Press(fixed(cat, lang, "visits.day_today")),
        expect(fixed(cat, lang, "visits.step_text")),
        Send(f"走访记录 {m.index}：宣讲惠农政策，听取群众意见。"),
        expect(fixed(cat, lang, "visits.step_extras")),
    ]
    if m.index % 2 == 0:
        steps += [Send(str(m.index % 30 + 1)), expect(fixed(cat, lang, "visits.people_saved"))]
    steps += [
        Press(cat.t(lang, "visits.extras_next")),
        expect(cat.t(lang, "visits.summary_title")),
        Press(cat.t(lang, "visits.submit")),
        expect(fixed(cat, lang, "visits.receipt"), fixed(cat, lang, "visits.already_submitted")),
    ]
    return steps


def problem_steps(m: Member, cat: Catalog, lang: str) -> list[Step]:
    """Issue 4's /problem: the member's own place (searched by name, so no one else's
    open problem is offered to join), a category, a description, no photos, not urgent,
    the group can solve it (or not, every other member), Submit. The receipt (or
    "already submitted") carries the problem number."""
    place = own_place(m.index)
    solvable = "solvable_yes" if m.index % 2 else "solvable_no"
    return [
        Send("/problem"),
        expect(fixed(cat, lang, "problems.raise.ask_place")),
        Send(place),
        expect(cat.t(lang, "problems.raise.matches")),
        Press(place),
        expect(cat.t(lang, "problems.raise.ask_category")),
        Press(cat.t(lang, "categories.infrastructure")),
        expect(fixed(cat, lang, "problems.raise.ask_description")),
        Send(f"问题 {m.index}：村道破损，雨天积水，群众出行困难。"),
        expect(fixed(cat, lang, "problems.raise.ask_photos")),
        Press(cat.t(lang, "problems.raise.skip_button")),
        expect(fixed(cat, lang, "problems.raise.ask_urgent")),
        Press(cat.t(lang, "problems.raise.urgent_no")),
        expect(fixed(cat, lang, "problems.raise.ask_solvable")),
        Press(cat.t(lang, f"problems.raise.{solvable}")),
        expect(fixed(cat, lang, "problems.raise.summary")),
        Press(cat.t(lang, "problems.raise.submit_button")),
        expect(
            fixed(cat, lang, "problems.raise.receipt"),
            fixed(cat, lang, "problems.raise.already_submitted"),
        ),
    ]


_FIELD = frozenset({Role.CADRE, Role.GROUP_LEADER})
FLOWS: dict[str, Flow] = {
    "visit": Flow(
        "visit",
        "visit",
        _FIELD,
        (
            "visits.step_place",
            "visits.step_kinds",
            "kinds.policy",
            "visits.kinds_done",
            "visits.step_date",
            "visits.day_today",
            "visits.step_text",
            "visits.step_extras",
            "visits.people_saved",
            "visits.extras_next",
            "visits.summary_title",
            "visits.submit",
            "visits.receipt",
            "visits.already_submitted",
        ),
        visit_steps,
        "SELECT COUNT(*) FROM visits WHERE cadre_id = ?",
        "SELECT COUNT(*) FROM drafts d JOIN visits v ON v.draft_id = d.id AND d.result_id = v.id"
        " WHERE d.cadre_id = ? AND d.kind = 'visit' AND d.status = 'submitted'",
    ),
    "problem": Flow(
        "problem",
        "problem",
        _FIELD,
        (
            "problems.raise.ask_place",
            "problems.raise.matches",
            "problems.raise.ask_category",
            "categories.infrastructure",
            "problems.raise.ask_description",
            "problems.raise.ask_photos",
            "problems.raise.skip_button",
            "problems.raise.ask_urgent",
            "problems.raise.urgent_no",
            "problems.raise.ask_solvable",
            "problems.raise.solvable_yes",
            "problems.raise.solvable_no",
            "problems.raise.summary",
            "problems.raise.submit_button",
            "problems.raise.receipt",
            "problems.raise.already_submitted",
        ),
        problem_steps,
        "SELECT COUNT(*) FROM problems WHERE reporter_id = ?",
        "SELECT COUNT(*) FROM drafts d JOIN problems p ON p.draft_id = d.id"
        " AND d.result_id = p.id WHERE d.cadre_id = ? AND d.kind = 'problem'"
        " AND d.status = 'submitted'",
    ),
}


# --- running a script in-process -------------------------------------------------------


class ScriptFailed(AssertionError):
    pass


def _newest_buttons(bot: Harness, chat_id: int) -> list[tuple[Any, str]]:
    for stored in sorted(bot.api.messages.values(), key=lambda m: -m.message_id):
        if stored.chat_id == chat_id and stored.reply_markup:
            rows = stored.reply_markup.get("inline_keyboard", [])
            found = [
                (stored, b["callback_data"]) for r in rows for b in r if b.get("callback_data")
            ]
            if found:
                return found
    return []


async def run_inprocess(bot: Harness, script: Script) -> list[Call]:
    """Play the script through ``bot``; fail at the first unmet expectation."""
    m = script.member
    last: list[Call] = []
    everything: list[Call] = []
    for n, step in enumerate(script.steps):
        if isinstance(step, Expect):
            chat = m.user.id if step.chat_id is None else step.chat_id
            texts = [c.text for c in shown(last) if c.chat_id == chat]
            texts += [  # a press's alert, e.g. "already submitted"
                str(c.params.get("text") or "")
                for c in last
                if c.method == "answerCallbackQuery" and chat == m.user.id
            ]
            if not any(step.met_by(t) for t in texts):
                raise ScriptFailed(
                    f"{m.name} step {n}: expected one of {step.any_of!r} in chat {chat}, "
                    f"the bot showed {texts!r}"
                )
            continue
        if isinstance(step, Send):
            last = await bot.send(m.user, step.text, chat_id=step.chat_id)
        elif isinstance(step, ShareContact):
            last = await bot.contact(m.user, step.phone or m.phone, owner_id=step.owner_id)
        elif isinstance(step, Press):
            last = await bot.tap(m.user, step.label, chat_id=step.chat_id)
        else:
            chat = m.user.id if step.chat_id is None else step.chat_id
            buttons = _newest_buttons(bot, chat)
            if not buttons:
                raise ScriptFailed(f"{m.name} step {n}: no buttons in chat {chat}")
            stored, data = buttons[0]
            last = await bot.press(m.user, data, stored)
        everything += last
    return everything
