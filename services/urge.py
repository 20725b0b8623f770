"""督办: the office (any open problem below it) and a team leader (the open problems of
the team's groups) press the owner of an open problem. One press: judged, recorded
(a problem_urges row and an 'urge' event in the history), the owner told at once and
the problem's cards updated, in one transaction. A second urge within the hour says so
instead of pinging the owner again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from campaign import callbacks
from campaign.message import Button, Message, grid
from campaign.problem_cards import number
from campaign.roles import TEAM_LEADERS, Role
from campaign.text import Tr, moment_text
from campaign.urge import UrgeWhy, may_urge, too_soon
from services import problem_news
from services.jobs import tr
from services.problems import actor_of
from services.runtime import Deps
from storage import problem_flow, problems
from storage import problem_news as reach
from storage import urge as store
from storage.outbox import enqueue
from storage.people import Cadre

_MAX_BUTTONS = 10
_MAX_TEXT = 4000


@dataclass(frozen=True)
class UrgeOutcome:
    ok: bool
    text: str


def _why(t: Tr, why: UrgeWhy, **values: object) -> str:
    return t(f"urge.why.{why.value}", **values)


async def urge(
    d: Deps, actor: Cadre, problem_id: int, chat_id: int | None, lang: str
) -> UrgeOutcome:
    t = tr(d, lang)
    problem = await problems.get(d.db, problem_id)
    if problem is None:
        return UrgeOutcome(False, _why(t, UrgeWhy.NOT_FOUND))
    why = may_urge(actor_of(actor), problem.level, problem.team_id, problem.status)
    if why is not None:
        return UrgeOutcome(False, _why(t, why, number=number(problem.id)))
    now = d.now()
    async with d.db.write() as conn:
        # Read again inside the transaction: two presses at once make one urge.
        last = await store.urges_of(d.db, problem.id)
        repeat = timedelta(minutes=d.settings.checks.urge_repeat_minutes)
        if last and too_soon(last[-1].at, now, repeat):
            prev = last[-1]
            return UrgeOutcome(
                False,
                _why(
                    t,
                    UrgeWhy.RECENT,
                    number=number(problem.id),
                    who=prev.actor_name,
                    when=moment_text(t, prev.at, d.settings.tz),
                    minutes=d.settings.checks.urge_repeat_minutes,
                ),
            )
        urge_id = await store.add(conn, problem.id, actor.id, problem.level, now)
        count = len(last) + 1
        event_id = await problem_flow.add_event(
            conn,
            problem.id,
            "urge",
            now,
            actor_id=actor.id,
            chat_id=chat_id,
            from_level=problem.level,
            note=str(count),
        )
        if problem.owner_id is not None:
            chats = [c for _, c in await reach.cadre_chats(conn, [problem.owner_id])]
        else:
            chats = [target.chat_id for target in await reach.owner_targets(conn, problem)]
        for chat in chats:
            saved = await reach.chat_language(conn, chat)
            tt = tr(d, saved if saved in ("zh-CN", "en") else d.settings.campaign.language)
            text = tt(
                "urge.notice",
                number=number(problem.id),
                who=actor.name,
                count=count,
                place=problem.place_name,
                deadline=moment_text(tt, problem.deadline, d.settings.tz),
            )
            show = Button(tt("urge.show"), callbacks.CARD.build("show", problem.id))
            await enqueue(
                conn,
                key=f"urge:{urge_id}:{chat}",
                chat_id=chat,
                message=Message(text, ((show,),)),
                now=now,
                urgent=True,
            )
        await problem_news.publish(conn, d, problem.id, event_id, now)
    return UrgeOutcome(True, t("urge.done", number=number(problem.id), count=count))


def _levels(actor: Cadre) -> tuple[tuple[str, ...], int | None] | None:
    if actor.role is Role.OFFICE:
        return ("group", "team"), None
    if actor.role in TEAM_LEADERS and actor.team_id is not None:
        return ("group",), actor.team_id
    return None


async def offer(d: Deps, actor: Cadre, lang: str, overdue_only: bool) -> Message | None:
    """The 督办 buttons under /ledger (open problems below the reader's level) and
    /overdue (only overdue ones); None for a reader who urges nothing."""
    scope = _levels(actor)
    if scope is None:
        return None
    levels, team_id = scope
    ids = await store.lower_open(d.db, levels, team_id, d.now(), overdue_only, _MAX_BUTTONS)
    if not ids:
        return None
    t = tr(d, lang)
    urged = await store.urged_now(d.db, ids)
    buttons = [
        Button(
            t("urge.button", number=number(pid)) + (" " + t("urge.mark") if pid in urged else ""),
            callbacks.URGE.build("go", pid),
        )
        for pid in ids
    ]
    key = "urge.offer_overdue" if overdue_only else "urge.offer"
    return Message(t(key, count=len(ids)), grid(buttons, 2))


async def urger_names(d: Deps, problem_id: int) -> tuple[str, ...]:
    """Who urged the problem, once per urge, oldest first (the card's 督办 line)."""
    return tuple(u.actor_name for u in await store.urges_of(d.db, problem_id))


async def with_offer(d: Deps, actor: Cadre, message: Message, lang: str) -> Message:
    """/ledger with its 督办 buttons below (one message, while it fits)."""
    offer_ = await offer(d, actor, lang, overdue_only=False)
    if offer_ is None or len(message.text) + len(offer_.text) > _MAX_TEXT:
        return message
    return Message(message.text + "\n\n" + offer_.text, message.buttons + offer_.buttons)
