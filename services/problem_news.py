"""What a change to a problem sends, queued in the change's own transaction.

- Cards: the owner chats of the problem's current level get a card (created once per
  chat, then edited in place on every change). Team level: the team's bound chat, or
  each team leader privately when the team has no reachable chat. Office level: the
  office chat, or each office member privately. Group level: each group leader
  privately. Cards in chats that no longer own the problem are edited too, without
  buttons, so every chat shows the current state.
- Everything is queued as ``campaign.message`` values; the channel's sender renders it.
- Notices: the reporters (and everyone who joined) when the problem moves or ends; the
  group leaders when a group problem is sent up; the owner chat when a problem comes
  back to a chat that already has its card; the office when nobody can be reached at
  the level a problem arrived at.
"""

from __future__ import annotations

from datetime import datetime

from campaign.ladder import MOVES, NEWS_FOR_REPORTERS, is_open
from campaign.message import Message
from campaign.problem_cards import Renderer, number
from services.problem_render import card_view, event_view
from services.runtime import Deps
from storage import problem_news as reach
from storage import problems
from storage import urge as urge_store
from storage.db import Connection
from storage.outbox import NewItem, enqueue_many
from storage.problem_news import Target, card_name

# The line under a card whose level's shared chat is missing, by level.
_FALLBACK_HINT = {"team": "problems.card.no_team_chat", "office": "problems.card.no_office_chat"}


def _hint(r: Renderer, level: str, target: Target | None) -> str:
    if target is None or not target.private_fallback or level not in _FALLBACK_HINT:
        return ""
    return r.t(_FALLBACK_HINT[level])


async def publish(
    conn: Connection, deps: Deps, problem_id: int, event_id: int, now: datetime
) -> None:
    """Queue the cards and notices of one change (event ``event_id``), inside its
    transaction. Who is reached is read first, then every chat's language in one query;
    everything is queued together (one trip to the writing thread, in the order below)."""
    problem = await problems.get(conn, problem_id)
    ev = await problems.event(conn, event_id)
    assert problem is not None and ev is not None
    photos = await problems.photo_ids(conn, problem_id)
    reporters = await problems.reporter_ids(conn, problem_id)
    default = deps.settings.campaign.language
    urged = tuple(u.actor_name for u in await urge_store.urges_of(deps.db, problem_id))
    view = card_view(problem, ev, urged)
    urgent = problem.urgent
    pid = problem.id

    owners = await reach.owner_targets(conn, problem) if is_open(problem.status) else []
    owned = {t.chat_id: t for t in owners}
    existing = await reach.card_chats(conn, pid)
    arrived = ev.action == "raise" or ev.action in MOVES
    office = (
        await reach.office_chat(conn)
        if arrived and is_open(problem.status) and not owners
        else None
    )
    reporter_chats = (
        await reach.cadre_chats(conn, reporters)
        if ev.action in NEWS_FOR_REPORTERS and reporters
        else []
    )
    leader_chats = (
        await reach.group_leader_chats(conn, problem.group_id)
        if ev.action in ("escalate", "auto_escalate")
        and ev.from_level == "group"
        and problem.group_id
        else []
    )
    languages = await reach.chat_languages(
        conn,
        [
            *existing,
            *(t.chat_id for t in owners),
            *([office] if office is not None else []),
            *(chat for _, chat in reporter_chats),
            *(chat for _, chat in leader_chats),
        ],
    )
    pending: list[NewItem] = []

    def renderer(chat_id: int) -> Renderer:
        lang = languages.get(chat_id) if chat_id >= 0 else None
        return Renderer(
            deps.catalog, lang if lang in ("zh-CN", "en") else default, deps.settings.tz
        )

    def send(kind: str, chat_id: int, text: str) -> None:
        pending.append(
            NewItem(f"problem:{pid}:ev:{ev.id}:{kind}:{chat_id}", chat_id, Message(text), urgent)
        )

    for chat_id in existing:
        r = renderer(chat_id)
        target = owned.get(chat_id)
        pending.append(
            NewItem(
                f"problem:{pid}:ev:{ev.id}:card:{chat_id}",
                chat_id,
                r.card_message(
                    view, now, actionable=target is not None, hint=_hint(r, problem.level, target)
                ),
                urgent,
                card=card_name(pid, chat_id),
                edit=True,
            )
        )
        if target is not None and arrived:
            send(
                "arrive",
                chat_id,
                r.t("problems.notice.arrived", number=number(pid), level=r.level(problem.level)),
            )

    for target in owners:
        if target.chat_id in existing:
            continue
        r = renderer(target.chat_id)
        if photos:
            pending.append(
                NewItem(
                    f"problem:{pid}:ev:{ev.id}:photos:{target.chat_id}",
                    target.chat_id,
                    r.photos_message(pid, photos),
                    urgent,
                )
            )
        pending.append(
            NewItem(
                f"problem:{pid}:ev:{ev.id}:card:{target.chat_id}",
                target.chat_id,
                r.card_message(view, now, actionable=True, hint=_hint(r, problem.level, target)),
                urgent,
                card=card_name(pid, target.chat_id),
            )
        )

    if office is not None:
        r = renderer(office)
        where = problem.group_name if problem.level == "group" else problem.team_name
        send(
            "nobody",
            office,
            r.t(
                "problems.notice.nobody",
                number=number(pid),
                level=r.level(problem.level),
                where=where or "-",
            ),
        )

    told: set[int] = set()
    for cadre_id, chat_id in reporter_chats:
        if cadre_id == ev.actor_id:
            continue
        r = renderer(chat_id)
        send("notice", chat_id, r.notice(view, event_view(ev)))
        told.add(cadre_id)

    for cadre_id, chat_id in leader_chats:
        if cadre_id == ev.actor_id or cadre_id in told:
            continue
        r = renderer(chat_id)
        send(
            "sentup",
            chat_id,
            r.t(
                "problems.notice.group_sent_up",
                subject=r.subject(view),
                to=r.level(ev.to_level),
                how=r.t(f"problems.notice.how_{ev.action}", who=ev.actor_name or ""),
                note=ev.note,
            ),
        )
    await enqueue_many(conn, pending, now)
