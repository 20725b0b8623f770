"""What the scheduler asks about ended problems, on working days only:

- a call-back (回访) ``[callbacks] workdays_after`` working days after a problem was
  solved or explained: its reporter (or, if the reporter has left, the group leader) is
  asked to call back or visit the people and record the answer;
- an unanswered call-back is reminded once, then listed for the group leader;
- each month, an explained problem on the watch list is put to its owner: can it be
  solved now?

"Who is due" is a query that takes ``now``; each ask is written with its messages in one
transaction, and keys make a second run at the same moment queue nothing. A person who
paused reminders (/mute) is asked once the pause ends; nothing is asked in quiet hours.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from campaign.callbacks import CALLBACK, WATCH
from campaign.message import Button, Message
from campaign.problem_callbacks import RESULTS, Stage, month_key, stage, workdays_after
from campaign.problem_cards import Renderer, number
from campaign.quiet import is_quiet
from services.jobs import lang_of
from services.problem_render import card_view, renderer
from services.runtime import Deps
from storage import problem_callbacks as store
from storage import problems
from storage.db import Connection
from storage.outbox import enqueue
from storage.problem_callbacks import CallbackRow, Closing, Recipient

# Problems that ended longer ago than this when call-backs began are not called back.
_LOOK_BACK = timedelta(days=60)


@dataclass(frozen=True)
class JobCounts:
    asked: int = 0
    reminded: int = 0
    listed: int = 0
    watch: int = 0


def _r(deps: Deps, who: Recipient) -> Renderer:
    return renderer(deps, lang_of(deps, who.lang))


def _reachable(who: Recipient | None) -> bool:
    return who is not None and who.active and who.chat_id is not None and not who.muted


async def _send(
    conn: Connection, key: str, who: Recipient, message: Message, now: datetime
) -> None:
    assert who.chat_id is not None
    await enqueue(conn, key=key, chat_id=who.chat_id, message=message, now=now)


def answer_buttons(r: Renderer, callback_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        tuple(
            Button(r.t(f"callbacks.result.{res}"), CALLBACK.build("ans", callback_id, res))
            for res in RESULTS
        ),
    )


async def _ask_text(deps: Deps, r: Renderer, problem_id: int, key: str) -> str | None:
    p = await problems.get(deps.db, problem_id)
    if p is None:
        return None
    return r.t(
        key,
        subject=r.subject(card_view(p)),
        status=r.t(f"problems.status.{p.status}"),
        resolution=p.resolution or "-",
    )


async def run(deps: Deps, now: datetime) -> JobCounts:
    """Everything due at ``now``; nothing on a day off, nothing in quiet hours (the
    first sweep after they end asks)."""
    local = now.astimezone(deps.settings.tz)
    r = deps.settings.reminders
    if not deps.calendar().is_workday(local.date()):
        return JobCounts()
    if is_quiet(local.time().replace(tzinfo=None), r.quiet_start, r.quiet_end):
        return JobCounts()
    return JobCounts(
        await ask_due(deps, now),
        *await chase_unanswered(deps, now),
        await ask_watch(deps, now),
    )


async def _asked(deps: Deps, c: Closing, now: datetime) -> Recipient | None:
    """The reporter, or (the reporter has left) the group's first leader."""
    reporter = await store.recipient(deps.db, c.reporter_id, now)
    if reporter is not None and reporter.active:
        return reporter
    leaders = await store.group_leaders(deps.db, c.group_id, now)
    return leaders[0] if leaders else None


async def ask_due(deps: Deps, now: datetime) -> int:
    """Call-backs due: ``workdays_after`` working days after the closing."""
    cal, tz = deps.calendar(), deps.settings.tz
    today = now.astimezone(tz).date()
    n = deps.settings.callbacks.workdays_after
    asked = 0
    for c in await store.closings_without_callback(deps.db, now - _LOOK_BACK):
        if today < workdays_after(cal, c.closed_at.astimezone(tz).date(), n):
            continue
        who = await _asked(deps, c, now)
        if who is not None and who.muted:
            continue  # asked once the pause ends
        r = _r(deps, who) if who is not None else renderer(deps, deps.settings.campaign.language)
        text = await _ask_text(deps, r, c.problem_id, "callbacks.ask")
        if text is None:
            continue
        async with deps.db.write() as conn:
            callback_id = await store.add_callback(conn, c, who.cadre_id if who else None, now)
            if callback_id is None:
                continue
            if who is not None and _reachable(who):
                message = Message(text, answer_buttons(r, callback_id))
                await _send(conn, f"callback:{callback_id}:ask", who, message, now)
        asked += 1
    return asked


async def chase_unanswered(deps: Deps, now: datetime) -> tuple[int, int]:
    """Remind the person asked once; later, list what is still unanswered for the
    group leader (one message per leader, a button per call-back)."""
    cal, tz, s = deps.calendar(), deps.settings.tz, deps.settings.callbacks
    today = now.astimezone(tz).date()
    reminded = 0
    to_list: dict[int | None, list[CallbackRow]] = defaultdict(list)
    for k in await store.unanswered(deps.db):
        step = stage(
            cal,
            k.asked_at.astimezone(tz).date(),
            k.reminded_at.astimezone(tz).date() if k.reminded_at else None,
            k.listed_at is not None,
            today,
            s.remind_workdays,
            s.list_workdays,
        )
        if step is Stage.REMIND:
            who = await store.recipient(deps.db, k.asked_id, now) if k.asked_id else None
            if who is not None and who.muted:
                continue
            async with deps.db.write() as conn:
                await store.mark(conn, k.id, "reminded_at", now)
                if _reachable(who):
                    assert who is not None
                    r = _r(deps, who)
                    text = await _ask_text(deps, r, k.problem_id, "callbacks.remind")
                    message = Message(text or "", answer_buttons(r, k.id))
                    await _send(conn, f"callback:{k.id}:remind", who, message, now)
            reminded += 1
        elif step is Stage.LIST:
            to_list[k.group_id].append(k)
    listed = 0
    for group_id, items in to_list.items():
        leaders = [x for x in await store.group_leaders(deps.db, group_id, now) if _reachable(x)]
        async with deps.db.write() as conn:
            for k in items:
                await store.mark(conn, k.id, "listed_at", now)
            for leader in leaders:
                r = _r(deps, leader)
                lines = [r.t("callbacks.list_head", count=len(items))]
                lines += [
                    r.t(
                        "callbacks.list_line",
                        number=number(k.problem_id),
                        who=k.asked_name or "-",
                        when=r.when(k.asked_at),
                    )
                    for k in items
                ]
                buttons = tuple(
                    (
                        Button(
                            r.t("callbacks.record", number=number(k.problem_id)),
                            CALLBACK.build("rec", k.id),
                        ),
                    )
                    for k in items[:20]
                )
                key = f"callback-list:{leader.cadre_id}:{today.isoformat()}:{items[0].id}"
                await _send(conn, key, leader, Message("\n".join(lines), buttons), now)
        listed += len(items)
    return reminded, listed


async def ask_watch(deps: Deps, now: datetime) -> int:
    """Once a month, each watched explained problem is put to its owner (or, the owner
    gone, the leaders of its level): still cannot / can now / solved meanwhile."""
    tz = deps.settings.tz
    month = month_key(now.astimezone(tz).date())
    since = now - timedelta(days=deps.settings.callbacks.watch_after_days)
    asked = 0
    for w in await store.watch_due(deps.db, month, since):
        owner = await store.recipient(deps.db, w.owner_id, now) if w.owner_id else None
        if owner is None or not owner.active:
            leaders = await store.level_leaders(deps.db, w.level, w.team_id, w.group_id, now)
            owner = leaders[0] if leaders else None
        if owner is not None and owner.muted:
            continue
        r = (
            _r(deps, owner)
            if owner is not None
            else renderer(deps, deps.settings.campaign.language)
        )
        text = await _ask_text(deps, r, w.problem_id, "callbacks.watch.ask")
        if text is None:
            continue
        buttons = (
            (Button(r.t("callbacks.watch.still"), WATCH.build("still", w.problem_id)),),
            (Button(r.t("callbacks.watch.can"), WATCH.build("can", w.problem_id)),),
            (Button(r.t("callbacks.watch.solved"), WATCH.build("solved", w.problem_id)),),
        )
        async with deps.db.write() as conn:
            if not await store.add_watch_check(
                conn, w.problem_id, month, owner.cadre_id if owner else None, now
            ):
                continue
            if _reachable(owner):
                assert owner is not None
                key = f"watch:{w.problem_id}:{month}"
                await _send(conn, key, owner, Message(text, buttons), now)
        asked += 1
    return asked
