"""The dispatcher: sends the outgoing queue, paced to Telegram's limits, each item once.

One per application. While the application runs, a background task drains the queue,
woken by ``enqueue`` or at the latest every ``outbox.poll_seconds``. Tests call
``drain(now)`` instead: it sends everything that may go at ``now`` and says what it did.

A drain is a series of passes. Each pass claims, in one transaction, at most one due
item per chat that the pacer lets go now, and marks them 'sending' (committed before
any call). The calls then run side by side; each outcome is committed the moment its
answer arrives. docs/dispatch.md explains the rule for an answer that never came.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import Application
from telegram.request import BaseRequest

from bot.budget import PACER_KEY, pacer_for
from bot.keepalive import KeepAliveRequest
from bot.leader import Leadership
from bot.sending import (
    QueueBot,
    message_id_of,
    never_sent,
    params_of,
    request_of,
    retry_seconds,
)
from campaign import delivery
from campaign.delivery import EDITS, METHODS, SENDS, CardItem, CardPlan, DueItem
from campaign.message import Message
from campaign.message import is_json as neutral
from campaign.pacing import Pacer, Ticket
from campaign.quiet import next_allowed, silent, waits_for_morning
from services.runtime import DEPS_KEY, Deps
from storage import leases, outbox
from storage.db import Database, to_text
from storage.outbox import Item

log = logging.getLogger(__name__)

DISPATCHER_KEY = "fieldbot.dispatcher"

_MAX_PASSES = 500
_HEADS_PER_PASS = 500
_INVALID_TOKEN_PAUSE = 60.0
# On the live clock a claim waits this long after the pacer frees its first place, so
# that one claim (a transaction reading the queue's heads) takes the few that free
# together rather than one each.
_GATHER = 0.015
_HEADS_SLACK = 16

SENT = "sent"
RETRY = "retry"
PARKED = "parked"
DROPPED = "dropped"
SUPERSEDED = "superseded"
FOLDED = "folded"


def _card_create(it: Item) -> bool:
    """A card's creating message whose outcome is unknown is sent again rather than
    parked: parked, it froze (later edits folded into it, the chat kept the old status
    until the office acted). If the first did arrive the chat shows the card twice; its
    buttons stay harmless, since every press is judged against the problem's current
    state and level, and later edits go to the card that answered."""
    return it.method == delivery.SEND_MESSAGE and it.card is not None


def _rendered(it: Item) -> tuple[str, dict[str, Any]]:
    """The Bot API call an item makes (for rules that look at it); an unreadable item
    looks like an empty send, which nothing folds or merges."""
    try:
        return request_of(it.method, it.payload)
    except ValueError:
        return it.method, {}


def _collapse(items: list[Item]) -> CardPlan:
    """``delivery.collapse_card`` for one card's unsent items in either stored form.

    A neutral item holds the card's whole state (text and buttons), so the rule sees it
    as one text field: a text edit replaces every text field, hence the newest state
    wins, as on Telegram. A card with items in both forms (queued across an upgrade) is
    collapsed as the Bot API calls they make, and the result stored in that form."""
    if all(neutral(i.payload) for i in items):
        plan = delivery.collapse_card(
            [CardItem(i.id, i.method, {"text": i.payload}, i.status, i.urgent) for i in items]
        )
        rewrites = [dataclasses.replace(rw, payload=rw.payload["text"]) for rw in plan.rewrites]
        return CardPlan(rewrites, plan.superseded)
    return delivery.collapse_card(
        [CardItem(i.id, i.method, _rendered(i)[1], i.status, i.urgent) for i in items]
    )


@dataclass
class DrainReport:
    """What one drain did: item id → outcome, and when there may be more to send."""

    outcomes: dict[int, str] = field(default_factory=dict)
    next_at: datetime | None = None

    def ids(self, outcome: str) -> list[int]:
        return sorted(i for i, o in self.outcomes.items() if o == outcome)

    @property
    def sent(self) -> list[int]:
        return self.ids(SENT)


class Dispatcher:
    def __init__(
        self, deps: Deps, bot: QueueBot, *, owns_request: bool, pacer: Pacer | None = None
    ) -> None:
        self.deps = deps
        self.bot = bot
        self._owns_request = owns_request
        # One budget per bot token: the application's replies draw from the same pacer
        # (bot/budget.py), so that together they stay within Telegram's limits.
        self.pacer = pacer or pacer_for(deps.settings)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._recovered = False
        self._blocked_until: float | None = None
        self._live = False  # draining on the live clock (not a test's given moment)
        self._claiming: list[tuple[Item, int | None, Ticket]] = []
        self._flying = 0  # sends of the live drain in flight while it claims
        self._started = 0
        self._finished = 0
        self._done = asyncio.Condition()
        # Several processes on one database (webhook mode): only the lease holder drains
        # (bot/leader.py). None: this process is the only one and always drains.
        self.leadership: Leadership | None = None
        self._leading = False
        # Telegram and WeCom in one process (docs/wecom.md): each channel's dispatcher
        # claims its own chats only. None: every chat.
        self.accepts: Callable[[int], bool] | None = None

    @property
    def db(self) -> Database:
        return self.deps.db

    # --- lifecycle ---------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the background loop (the application is running)."""
        if self.running:
            return
        await self.db.ensure_open()
        if self._owns_request:  # no getMe: a slow network must not stop the start
            await self.bot.request.initialize()
        self._stopping = False
        outbox.add_listener(self.wake)
        try:  # PostgreSQL: woken by any process's enqueue (NOTIFY); polling stays
            await self.db.listen(outbox.CHANNEL, self.wake)
        except Exception as exc:
            log.warning("cannot LISTEN for queued messages (%s); polling only", exc)
        self._task = asyncio.create_task(self._run(), name="fieldbot-dispatcher")

    async def stop(self) -> None:
        """Finish the pass in hand (its outcomes are recorded), then stop."""
        outbox.remove_listener(self.wake)
        with contextlib.suppress(Exception):
            await self.db.unlisten(outbox.CHANNEL, self.wake)
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            grace = self.deps.settings.outbox.send_timeout_seconds + 5
            try:
                await asyncio.wait_for(task, timeout=grace)
            except TimeoutError:
                log.warning("the dispatcher did not stop in %.0f s; cancelled", grace)
        if self._owns_request:
            await self.bot.request.shutdown()

    def settled(self) -> Coroutine[Any, Any, None]:
        """Awaitable: done once a drain that starts after this call has finished."""
        return self._wait_for_drain(self._started + 1)

    async def _wait_for_drain(self, number: int) -> None:
        async with self._done:
            await self._done.wait_for(lambda: self._finished >= number)

    async def _run(self) -> None:
        poll = self.deps.settings.outbox.poll_seconds
        while not self._stopping:
            self._wake.clear()
            delay = poll
            if not self._may_drain():
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=poll)
                except TimeoutError:
                    pass
                continue
            try:
                report = await self.drain()
                if report.next_at is not None:
                    ahead = (report.next_at - self.deps.now()).total_seconds()
                    delay = min(poll, max(0.005, ahead))
            except Exception:
                log.exception("the dispatcher failed a drain; trying again in %.0f s", poll)
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    def _may_drain(self) -> bool:
        """Whether this process drains now. A process that has just become the leader
        first recovers what the last one left 'sending', as after a restart."""
        if self.leadership is None:
            return True
        leading = self.leadership.leading
        if leading and not self._leading:
            self._recovered = False
            log.info("this process took over the outgoing queue")
        self._leading = leading
        return leading

    async def _fenced(self, at: datetime) -> bool:
        """Inside a claim's transaction: True when another process may be the leader
        now (our lease lapsed), so nothing is claimed."""
        lead = self.leadership
        if lead is None:
            return False
        return not await leases.holds(self.db, lead.name, lead.holder, lead.clock())

    # --- draining ----------------------------------------------------------------------

    async def drain(self, now: datetime | None = None) -> DrainReport:
        """Send everything that may go at ``now`` (default: the clock, read per pass)."""
        async with self._lock:
            self._started += 1
            try:
                return await self._drain(now)
            finally:
                self._finished = self._started
                async with self._done:
                    self._done.notify_all()

    async def _drain(self, now: datetime | None) -> DrainReport:
        report = DrainReport()
        if not self._recovered:
            await self._recover(now or self.deps.now(), report)
            self._recovered = True
        self._blocked_until = None
        async with self.db.write() as conn:
            for item_id in await outbox.drop_expired(conn, now or self.deps.now()):
                report.outcomes[item_id] = DROPPED
        # Each send holds its places in the pacer's windows from its claim until its
        # answer is in (``_send``), and a window's span after that.
        self._live = now is None
        if self._live:
            await self._drain_live(report)
        for _ in range(0 if self._live else _MAX_PASSES):
            at = now or self.deps.now()
            batch = await self._claim_held(at, report)
            if not batch:
                break
            await asyncio.gather(*(self._held(it, mid, tk, at, report) for it, mid, tk in batch))
        at = now or self.deps.now()
        report.next_at = await self._next_at(at)
        self.pacer.forget_idle(at.timestamp())
        return report

    async def _claim_held(
        self, at: datetime, report: DrainReport
    ) -> list[tuple[Item, int | None, Ticket]]:
        try:
            return await self._claim(at, report)
        except BaseException:
            for _, _, ticket in self._claiming:  # nothing was sent
                self.pacer.cancel(ticket)
            raise

    async def _drain_live(self, report: DrainReport) -> None:
        """On the live clock the passes overlap: a pass claims what the pacer lets go,
        its calls start, and the next pass claims as soon as a place in the windows
        frees up, not when the slowest call of the last pass has answered. One chat's
        items still go one at a time (its window holds the place until the answer), and
        the drain returns once nothing it sent is in flight."""
        poll = self.deps.settings.outbox.poll_seconds
        spawned: list[asyncio.Task[None]] = []
        flying: set[asyncio.Task[None]] = set()
        try:
            for _ in range(_MAX_PASSES * 10):
                if self._stopping:
                    break
                if len(flying) >= _HEADS_PER_PASS:
                    # never more in flight than one pass could claim: what a crash
                    # leaves 'sending' stays within what it did before the overlap
                    await asyncio.wait(set(flying), return_when=asyncio.FIRST_COMPLETED)
                    continue
                at = self.deps.now()
                self._blocked_until = None  # what blocks now, not at an earlier pass
                self._flying = len(flying)
                self.pacer.forget_idle(at.timestamp())
                batch = await self._claim_held(at, report)
                for it, mid, tk in batch:
                    task = asyncio.create_task(self._held(it, mid, tk, at, report))
                    spawned.append(task)
                    flying.add(task)
                    task.add_done_callback(flying.discard)
                if batch:
                    continue
                if not flying:
                    break  # _run comes back when the pacer allows (report.next_at)
                wait = None
                if self._blocked_until is not None:
                    # a little after the first place frees: the next few come with it
                    wait = self._blocked_until + _GATHER - self.deps.now().timestamp()
                if wait is None or wait > poll:
                    await asyncio.wait(set(flying))
                else:
                    await asyncio.wait(set(flying), timeout=max(0.0, wait))
        finally:
            if spawned:
                await asyncio.gather(*spawned)

    async def _recover(self, now: datetime, report: DrainReport) -> None:
        """After a restart: an item left 'sending' may or may not have reached Telegram.
        An edit is repeated (harmless); anything else is parked, never sent twice."""
        async with self.db.write() as conn:
            if await self._fenced(now):
                return
            for it in await outbox.interrupted(conn):
                if delivery.is_idempotent(it.method) or _card_create(it):
                    await outbox.retry_later(
                        conn, it.id, now, "interrupted mid-send; sent again", counts=True
                    )
                    report.outcomes[it.id] = RETRY
                else:
                    await outbox.park(
                        conn,
                        it.id,
                        "interrupted mid-send: Telegram may or may not have it; not sent"
                        " again so that nobody gets it twice",
                    )
                    report.outcomes[it.id] = PARKED
                    log.warning("outbox item %s was mid-send at a restart; parked", it.id)
        # Telegram still counts what the last run sent: start the pacer from it.
        for chat_id, when in await outbox.recent_sends(self.db, now - timedelta(seconds=61)):
            # sent_at is kept to the second; the send may have been up to 1 s later.
            self.pacer.take(chat_id, min(when.timestamp() + 1.0, now.timestamp()))

    def _quiet_until(self, now: datetime) -> datetime | None:
        r = self.deps.settings.reminders
        end = next_allowed(now, self.deps.settings.tz, r.quiet_start, r.quiet_end)
        return end if end > now else None

    def _blocked(self, until: float) -> None:
        if self._blocked_until is None or until < self._blocked_until:
            self._blocked_until = until

    async def _claim(
        self, at: datetime, report: DrainReport
    ) -> list[tuple[Item, int | None, Ticket]]:
        t = at.timestamp()
        # Quiet hours hold only scheduled items (see _hold_for_morning); the rest is due.
        urgent_only = False
        quiet_end = self._quiet_until(at)
        s = self.deps.settings.outbox
        chosen: list[tuple[Item, int | None, Ticket]] = []
        self._claiming = chosen  # _drain frees their places if the claim fails
        async with self.db.write() as conn:
            if await self._fenced(at):
                return chosen
            if quiet_end is not None:
                await self._hold_for_morning(conn, at, quiet_end)
            for items in (await outbox.card_backlog(conn)).values():
                plan = _collapse(items)
                for rw in plan.rewrites:
                    await outbox.rewrite(conn, rw.id, rw.method, rw.payload, rw.urgent)
                await outbox.supersede(conn, plan.superseded, "superseded by a newer card state")
                for i in plan.superseded:
                    report.outcomes[i] = SUPERSEDED
            probe = at - timedelta(hours=s.unreachable_retry_hours)
            for i in await outbox.drop_for_unreachable(conn, probe, "chat unreachable"):
                report.outcomes[i] = DROPPED
            for chat_id, n in (await outbox.due_group_counts(conn, at, urgent_only)).items():
                if self.accepts is not None and not self.accepts(chat_id):
                    continue
                free = self.pacer.group_free(chat_id, t)
                if n > free:
                    await self._fold(conn, chat_id, at, urgent_only, free, report)
            for it in await outbox.due_heads(conn, at, urgent_only, self._heads(t)):
                if self.accepts is not None and not self.accepts(it.chat_id):
                    continue
                ready = self.pacer.queue_ready_at(t)
                if ready > t:
                    self._blocked(ready)
                    break
                ready = self.pacer.ready_at(it.chat_id, t)
                if ready > t:
                    self._blocked(ready)
                    continue
                if it.method not in METHODS:
                    await outbox.park(conn, it.id, f"unknown method {it.method!r}")
                    report.outcomes[it.id] = PARKED
                    continue
                resolved = await self._resolve(conn, it, report)
                if resolved is None:
                    continue
                chosen.append((*resolved, self.pacer.begin(it.chat_id, t)))
            await outbox.mark_sending(conn, [it.id for it, _, _ in chosen])
        return chosen

    def _heads(self, t: float) -> int:
        """How many chats' heads a claim reads. A pass claims at most the free places of
        the overall window, and passes over a head only when its chat's own window or
        pause holds it (or it waits for its card): on the live clock, when passes come
        many a second, it reads that many and a few more, not the whole queue each
        time. The next pass, a moment later, reads on."""
        if not self._live:
            return _HEADS_PER_PASS
        if self.accepts is not None:  # heads of the other channel's chats are passed over
            return _HEADS_PER_PASS - self._flying
        bound = self.pacer.free(t) + self.pacer.chats_held(t) + _HEADS_SLACK
        return min(_HEADS_PER_PASS - self._flying, bound)

    async def _hold_for_morning(self, conn: Any, at: datetime, until: datetime) -> None:
        """Quiet hours: scheduled nudges and bulletins wait until they end; what someone's
        action caused stays due and goes silently (``_send``). Held items leave the head
        of their chat, so they block nothing behind them."""
        for _ in range(_MAX_PASSES):
            heads = await outbox.due_heads(conn, at, False, _HEADS_PER_PASS)
            held = [h for h in heads if waits_for_morning(h.key, h.urgent)]
            if not held:
                return
            for h in held:
                await outbox.retry_later(
                    conn, h.id, until, "waits for quiet hours to end", counts=True
                )

    async def _resolve(
        self, conn: Any, it: Item, report: DrainReport
    ) -> tuple[Item, int | None] | None:
        """Fill in the message an edit changes. None: not this pass (waiting or parked)."""
        if it.method not in EDITS or "message_id" in it.payload:
            return it, None
        if it.card is None:
            await outbox.park(conn, it.id, "an edit needs a card or a message_id")
            report.outcomes[it.id] = PARKED
            return None
        known = await outbox.card_message(conn, it.card)
        if known is not None and known[1] is not None and known[0] == it.chat_id:
            return it, known[1]
        if await outbox.card_create_status(conn, it.card) in ("pending", "sending"):
            return None  # the card's message is on its way; the edit follows it
        # The card has no message (folded into a digest, or never created): show it anew.
        if neutral(it.payload):  # a neutral edit is the card's whole state
            payload = it.payload if it.payload.get("text") else None
        else:
            payload = delivery.edit_as_create(it.payload)
        if payload is None or it.method != delivery.EDIT_TEXT:
            await outbox.park(conn, it.id, "the card has no message to edit")
            report.outcomes[it.id] = PARKED
            return None
        await outbox.rewrite(conn, it.id, delivery.SEND_MESSAGE, payload, it.urgent)
        return dataclasses.replace(it, method=delivery.SEND_MESSAGE, payload=payload), None

    async def _fold(
        self,
        conn: Any,
        chat_id: int,
        at: datetime,
        urgent_only: bool,
        free: int,
        report: DrainReport,
    ) -> None:
        """More due for a group than its minute allows: one digest instead of the rest."""
        due = await outbox.due_in_chat(conn, chat_id, at, urgent_only)
        calls = {i.id: _rendered(i) for i in due}
        _, fold = delivery.plan_digest(
            [DueItem(i.id, delivery.foldable(*calls[i.id]), i.urgent) for i in due], free
        )
        if not fold:
            return
        items = {i.id: i for i in due}
        lang = self.deps.settings.campaign.language
        cat = self.deps.catalog
        text = delivery.digest_text(
            cat.t(lang, "dispatch.digest_header", count=len(fold)),
            [delivery.plain_text(calls[i][1]) for i in fold],
            cat.t(lang, "dispatch.digest_more"),
        )
        key = f"digest:{chat_id}:{fold[0]}:{fold[-1]}"
        await outbox.enqueue(
            conn,
            key=key,
            chat_id=chat_id,
            message=Message(text),
            now=at,
            urgent=any(items[i].urgent for i in fold),
        )
        await outbox.supersede(conn, fold, f"folded into {key}")
        for i in fold:
            report.outcomes[i] = FOLDED
        log.info("folded %d messages for chat %s into one digest", len(fold), chat_id)

    # --- one call ---------------------------------------------------------------------

    def _answered(self, ticket: Ticket, at: datetime) -> float:
        """The answer to a send is in: its places in the pacer's windows run a span from
        now (on the live clock; a test's drain counts at the moment it was given)."""
        when = max(at.timestamp(), self.deps.now().timestamp()) if self._live else at.timestamp()
        self.pacer.end(ticket, when)
        return when

    async def _held(
        self, it: Item, message_id: int | None, ticket: Ticket, at: datetime, report: DrainReport
    ) -> None:
        try:
            await self._send(it, message_id, ticket, at, report)
        finally:
            self.pacer.cancel(ticket)  # never sent (answered sends are already ended)

    async def _send(
        self, it: Item, message_id: int | None, ticket: Ticket, at: datetime, report: DrainReport
    ) -> None:
        s = self.deps.settings.outbox
        tries = it.attempts + 1
        try:
            method, params = request_of(it.method, it.payload)
            params = params_of(params)
        except OSError as exc:
            self.pacer.cancel(ticket)
            await self._park(it, f"cannot read the file to send: {exc}", report)
            return
        except ValueError as exc:
            self.pacer.cancel(ticket)
            await self._park(it, str(exc), report)
            return
        params["chat_id"] = it.chat_id
        if method in SENDS and silent(self._quiet_until(at) is not None, it.urgent):
            # Caused by someone's action: sent now, but without a sound in quiet hours.
            params["disable_notification"] = True
        if message_id is not None:
            params["message_id"] = message_id
        answered = at.timestamp()
        try:
            try:
                result = await self.bot.call(
                    method,
                    params,
                    read_timeout=s.send_timeout_seconds,
                    media_timeout=max(20.0, s.send_timeout_seconds),
                )
            finally:
                answered = self._answered(ticket, at)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            if self.pacer.flood(it.chat_id, wait, answered):
                log.warning("Telegram limits the whole bot: everything waits %.0f s", wait)
            await self._retry(it, at + timedelta(seconds=wait), f"429 {exc}", report, counts=False)
        except Forbidden as exc:
            await self._unreachable(it, exc.message, at, report)
        except ChatMigrated as exc:
            await self._park(it, f"the group became supergroup {exc.new_chat_id}", report)
        except BadRequest as exc:
            if it.method in EDITS and "not modified" in exc.message.lower():
                await self._sent(it, message_id, at, report)
            else:
                await self._park(it, f"400 {exc.message}", report)
        except InvalidToken as exc:
            self.pacer.pause_all(at.timestamp() + _INVALID_TOKEN_PAUSE)
            log.error("the Bot API refused the token; the queue waits")
            until = at + timedelta(seconds=_INVALID_TOKEN_PAUSE)
            await self._retry(it, until, str(exc), report, counts=False)
        except Exception as exc:  # network errors, 5xx, timeouts, anything unforeseen
            reason = f"{type(exc).__name__}: {exc}"
            if never_sent(exc) or delivery.is_idempotent(it.method) or _card_create(it):
                if delivery.should_park(tries, s.max_attempts):
                    await self._park(it, f"{tries} tries failed; last: {reason}", report)
                else:
                    delay = delivery.backoff(tries, s.backoff_seconds, s.backoff_max_seconds)
                    await self._retry(it, at + timedelta(seconds=delay), reason, report)
            else:
                await self._park(
                    it,
                    f"no answer from Telegram ({reason}): it may or may not have arrived;"
                    " not sent again so that nobody gets it twice",
                    report,
                )
        else:
            await self._sent(it, message_id_of(result) or message_id, at, report)

    async def _sent(
        self, it: Item, message_id: int | None, at: datetime, report: DrainReport
    ) -> None:
        async with self.db.write() as conn:
            await outbox.mark_sent(conn, it, message_id, at)
            await outbox.clear_unreachable(conn, it.chat_id)  # a retried chat answered
        report.outcomes[it.id] = SENT

    async def _retry(
        self, it: Item, until: datetime, error: str, report: DrainReport, *, counts: bool = True
    ) -> None:
        async with self.db.write() as conn:
            await outbox.retry_later(conn, it.id, until, error, counts=counts)
        report.outcomes[it.id] = RETRY

    async def _park(self, it: Item, error: str, report: DrainReport) -> None:
        async with self.db.write() as conn:
            await outbox.park(conn, it.id, error)
        report.outcomes[it.id] = PARKED
        log.warning("outbox item %s (%s to %s) parked: %s", it.id, it.method, it.chat_id, error)

    async def _unreachable(self, it: Item, reason: str, at: datetime, report: DrainReport) -> None:
        """403: the user blocked the bot or the bot left the group. Stop writing there and
        tell the office once."""
        async with self.db.write() as conn:
            await outbox.drop(conn, it.id, f"403 {reason}")
            fresh, dropped = await outbox.mark_unreachable(conn, it.chat_id, reason, at)
            if fresh:
                await self._tell_office(conn, it.chat_id, at)
        report.outcomes[it.id] = DROPPED
        for i in dropped:
            report.outcomes[i] = DROPPED
        log.warning(
            "chat %s is unreachable (%s); %d queued items dropped",
            it.chat_id,
            reason,
            len(dropped) + 1,
        )

    async def _tell_office(self, conn: Any, chat_id: int, at: datetime) -> None:
        office = await outbox.office_chat_id(conn)
        if office is None or office == chat_id:
            log.warning("chat %s is unreachable and no office chat can be told", chat_id)
            return
        label = await outbox.chat_label(conn, chat_id)
        lang = self.deps.settings.campaign.language
        cat = self.deps.catalog
        if label.cadre_name:
            text = cat.t(
                lang,
                "dispatch.unreachable_cadre",
                name=label.cadre_name,
                team=label.team_name or cat.t(lang, "start.none"),
            )
        elif chat_id < 0:
            text = cat.t(lang, "dispatch.unreachable_group", title=label.chat_title or chat_id)
        else:
            text = cat.t(lang, "dispatch.unreachable_user", chat=chat_id)
        await outbox.enqueue(
            conn,
            key=f"unreachable:{chat_id}:{to_text(at)}",
            chat_id=office,
            message=Message(text),
            now=at,
        )

    async def _next_at(self, at: datetime) -> datetime | None:
        """When the next drain may find something to send."""
        async with self.db.write() as conn:
            candidates = []
            nxt = await outbox.next_due(conn, urgent_only=False)
            if nxt is not None:
                candidates.append(max(nxt, at))
        if self._blocked_until is not None:
            candidates.append(datetime.fromtimestamp(self._blocked_until, at.tzinfo))
        future = [c for c in candidates if c > at]
        if future:
            return min(future)
        return at if candidates else None


def install_dispatcher(app: Application, *, request: BaseRequest | None = None) -> Dispatcher:  # type: ignore[type-arg]
    """Give the application its dispatcher. With ``request`` (tests, benches) the
    dispatcher shares it; otherwise it opens its own connection pool."""
    d: Deps = app.bot_data[DEPS_KEY]
    s = d.settings
    owns = request is None
    req = request or KeepAliveRequest(
        connection_pool_size=64,
        read_timeout=s.outbox.send_timeout_seconds,
        write_timeout=s.outbox.send_timeout_seconds,
        connect_timeout=5.0,
        pool_timeout=5.0,
        proxy=s.telegram.proxy or None,  # [telegram] proxy; else HTTPS_PROXY applies
    )
    bot = QueueBot(
        app.bot.token,
        base_url=s.telegram.base_url,
        base_file_url=s.telegram.base_file_url,
        request=req,
        get_updates_request=req,
    )
    dispatcher = Dispatcher(d, bot, owns_request=owns, pacer=app.bot_data.get(PACER_KEY))
    app.bot_data[DISPATCHER_KEY] = dispatcher
    return dispatcher


def dispatcher_of(app: Application) -> Dispatcher:  # type: ignore[type-arg]
    value = app.bot_data[DISPATCHER_KEY]
    assert isinstance(value, Dispatcher)
    return value
