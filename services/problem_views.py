"""Reading the problem ledger: one problem's card and history, /problems (mine) and
/ledger (what a leader owns), as plain messages in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass

from campaign.ladder import in_scope, may_act
from campaign.message import Button, Message, grid
from campaign.problem_cards import number, show_data
from campaign.roles import FIELD_ROLES, Role
from services import evidence, problem_callbacks
from services.problem_render import card_view, event_view, renderer
from services.problems import actor_of
from services.runtime import Deps
from storage import problems
from storage import urge as urge_store
from storage.people import Cadre
from storage.problems import Problem

_SHOW_BUTTONS = 10
_MAX_TEXT = 4000


@dataclass(frozen=True)
class Shown:
    message: Message | None  # None: refused, ``refusal`` says why (for an alert)
    refusal: str = ""


async def show(deps: Deps, cadre: Cadre, problem_id: int, lang: str) -> Shown:
    """A problem's card and its last ten events, for whoever may see it; the owner's
    copy carries the buttons. A problem outside the reader's scope is refused with the
    words used for one that does not exist."""
    r = renderer(deps, lang)
    problem = await problems.get(deps.db, problem_id)
    actor = actor_of(cadre)
    if problem is None or not in_scope(
        actor,
        problem.team_id,
        problem.group_id,
        await problems.is_reporter(deps.db, problem.id, cadre.id),
    ):
        return Shown(None, r.t("problems.act.not_found"))
    history = await problems.events(deps.db, problem.id)
    actionable = may_act(actor, problem.level, problem.team_id, problem.group_id)
    urged = tuple(u.actor_name for u in await urge_store.urges_of(deps.db, problem.id))
    view = card_view(problem, history[-1] if history else None, urged)
    card = r.card_message(view, deps.now(), actionable=actionable)
    lines = [r.event(event_view(e)) for e in history[-10:]]
    lines += await problem_callbacks.history_lines(deps, problem.id, lang)
    text = card.text + "\n\n" + r.t("problems.act.history") + "\n" + "\n".join(lines)
    shown = card.with_text(text[:_MAX_TEXT])
    button = evidence.problem_button(deps, problem.id, problem.photos, lang)
    return Shown(evidence.with_button(shown, button))


def _with_show_buttons(text: str, items: list[Problem]) -> Message:
    buttons = [Button(number(p.id), show_data(p.id)) for p in items[:_SHOW_BUTTONS]]
    return Message(text[:_MAX_TEXT], grid(buttons, 5))


async def mine(deps: Deps, cadre: Cadre, lang: str) -> Message:
    """/problems: every problem I raised or joined, open ones first."""
    r = renderer(deps, lang)
    if cadre.role not in FIELD_ROLES:
        return Message(r.t("problems.raise.not_for_you"))
    items = await problems.mine(deps.db, cadre.id)
    if not items:
        return Message(r.t("problems.mine.none"))
    now = deps.now()
    lines = [r.t("problems.mine.head", count=len(items))]
    lines += [r.line(card_view(p), now) for p in items]
    lines.append(r.t("problems.list.tap_number"))
    return _with_show_buttons("\n".join(lines), items)


async def ledger(deps: Deps, cadre: Cadre, lang: str) -> Message:
    """/ledger: the open problems at my level, earliest deadline (overdue) first, then
    the watch list of explained ones."""
    r = renderer(deps, lang)
    items = await problems.ledger(deps.db, cadre)
    if items is None:
        return Message(r.t("problems.ledger.not_for_you"))
    # 督办: problems urged at their current level come first, otherwise in deadline order.
    urged = await urge_store.urged_now(deps.db, [p.id for p in items])
    items.sort(key=lambda p: p.id not in urged)
    now = deps.now()
    level = _level_name(r.t("levels.office"), cadre)
    overdue = sum(1 for p in items if now >= p.deadline)
    lines = [
        r.t("problems.ledger.head", level=level, count=len(items), overdue=overdue)
        if items
        else r.t("problems.ledger.empty", level=level)
    ]
    lines += [r.line(card_view(p), now) for p in items]
    watch = await problems.watch_list(deps.db, cadre)
    if watch:
        lines.append(r.t("problems.ledger.watch_head", count=len(watch)))
        lines += [r.line(card_view(p), now) for p in watch]
    if items or watch:
        lines.append(r.t("problems.list.tap_number"))
    message = _with_show_buttons("\n".join(lines), items + watch)
    return problem_callbacks.with_reopen_buttons(r, message, [p.id for p in watch])


def _level_name(office: str, cadre: Cadre) -> str:
    if cadre.role is Role.GROUP_LEADER:
        return cadre.group_name
    if cadre.role is Role.OFFICE:
        return office
    return cadre.team_name
