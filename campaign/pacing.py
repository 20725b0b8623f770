"""Telegram's sending limits as plain sliding windows; every method takes ``now``.

Telegram asks bots for about 30 messages a second overall, at most one a second in any
one chat, and at most 20 a minute in a group. We model each limit as "at most N sends
in any window of W seconds" (what an enforcing server can measure), widen every window
by a small margin so that jitter between our clock and the server's never tips a send
over, and add the pauses Telegram orders with 429 ``retry_after``.

Times are float seconds on any steady scale (the dispatcher passes epoch seconds of its
clock). Nothing here sleeps: callers ask when something may go and decide themselves.
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from dataclasses import dataclass

# 429s for this many different chats within FLOOD_SPAN seconds mean Telegram is limiting
# the bot as a whole, not one chat: then everything waits.
GLOBAL_FLOOD_CHATS = 3
FLOOD_SPAN = 1.0


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; private chats positive."""
    return chat_id < 0


@dataclass(frozen=True)
class Limits:
    global_count: int = 30
    global_window: float = 1.0
    chat_interval: float = 1.0
    group_count: int = 20
    group_window: float = 60.0
    margin: float = 0.05
    # Places of the overall window the outgoing queue leaves to replies while replies
    # are being sent: a cadre's answer never waits behind a fan-out's backlog.
    reply_reserve: int = 5
    reply_span: float = 2.0


class Window:
    """At most ``limit`` events in any ``span`` seconds."""

    __slots__ = ("limit", "span", "_events")

    def __init__(self, limit: int, span: float) -> None:
        if limit < 1 or span <= 0:
            raise ValueError("a window needs a positive limit and span")
        self.limit = limit
        self.span = span
        self._events: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._events and self._events[0] <= now - self.span:
            self._events.popleft()

    def count(self, now: float) -> int:
        """Events in the window that ends at ``now``."""
        self._prune(now)
        return len(self._events)

    def free(self, now: float) -> int:
        """How many events may happen at ``now``."""
        self._prune(now)
        return max(0, self.limit - len(self._events))

    def next_free(self, now: float, spare: int = 0) -> float:
        """The earliest moment at or after ``now`` when one more event is allowed while
        ``spare`` places stay free for someone else."""
        self._prune(now)
        limit = max(1, self.limit - spare)
        if len(self._events) < limit:
            return now
        return self._events[len(self._events) - limit] + self.span

    def take(self, now: float) -> None:
        if self._events and now < self._events[-1]:
            insort(self._events, now)  # a late stamp from a slower sender
        else:
            self._events.append(now)

    def restamp(self, old: float, new: float) -> None:
        """An event counted at ``old`` really happened at ``new`` (later)."""
        try:
            self._events.remove(old)
        except ValueError:
            return  # pruned meanwhile
        self.take(new)

    def idle(self, now: float) -> bool:
        self._prune(now)
        return not self._events


class Pacer:
    """All of Telegram's limits at once: the overall window, one window per chat (and a
    minute window per group), and the pauses that 429 answers ordered."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        lim = self.limits
        self._global = Window(lim.global_count, lim.global_window + lim.margin)
        self._chats: dict[int, Window] = {}
        self._groups: dict[int, Window] = {}
        self._paused: dict[int, float] = {}
        self._all_paused = 0.0
        self._floods: deque[tuple[float, int]] = deque()
        self._last_reply = float("-inf")
        self._replies = Window(1_000_000, lim.global_window + lim.margin)

    def _chat(self, chat_id: int) -> Window:
        w = self._chats.get(chat_id)
        if w is None:
            w = self._chats[chat_id] = Window(1, self.limits.chat_interval + self.limits.margin)
        return w

    def _group(self, chat_id: int) -> Window:
        w = self._groups.get(chat_id)
        if w is None:
            lim = self.limits
            w = self._groups[chat_id] = Window(lim.group_count, lim.group_window + lim.margin)
        return w

    def global_ready_at(self, now: float) -> float:
        return max(self._global.next_free(now), self._all_paused)

    def queue_ready_at(self, now: float) -> float:
        """When the outgoing queue may send its next message overall: while replies are
        going out, it leaves them ``reply_reserve`` places of the window (less those
        they already hold in it)."""
        lim = self.limits
        spare = 0
        if now - self._last_reply < lim.reply_span:
            # the replies already in the window use part of their reserve
            spare = max(0, lim.reply_reserve - self._replies.count(now))
        return max(self._global.next_free(now, spare), self._all_paused)

    def reply(self, chat_id: int, now: float) -> None:
        """Count one reply (a message sent while handling an update) at ``now``."""
        self.take(chat_id, now)
        self._replies.take(now)
        self._last_reply = max(self._last_reply, now)

    def restamp(self, chat_ids: list[int], old: float, new: float) -> None:
        """Sends counted at ``old`` (when they were chosen) went out at ``new``: the
        windows measure what Telegram measures, the moment a request is sent."""
        if new <= old:
            return
        for chat_id in chat_ids:
            self._global.restamp(old, new)
            if chat_id in self._chats:
                self._chats[chat_id].restamp(old, new)
            if chat_id in self._groups:
                self._groups[chat_id].restamp(old, new)

    def chat_ready_at(self, chat_id: int, now: float) -> float:
        """When this chat's own limits (and any pause) allow its next send."""
        at = max(self._chat(chat_id).next_free(now), self._paused.get(chat_id, 0.0))
        if is_group(chat_id):
            at = max(at, self._group(chat_id).next_free(now))
        return at

    def ready_at(self, chat_id: int, now: float) -> float:
        return max(self.chat_ready_at(chat_id, now), self.global_ready_at(now))

    def can_send(self, chat_id: int, now: float) -> bool:
        return self.ready_at(chat_id, now) <= now

    def take(self, chat_id: int, now: float) -> None:
        """Count one send to ``chat_id`` at ``now``."""
        self._global.take(now)
        self._chat(chat_id).take(now)
        if is_group(chat_id):
            self._group(chat_id).take(now)

    def group_free(self, chat_id: int, now: float) -> int:
        """Sends a group may still get in its current minute window."""
        return self._group(chat_id).free(now)

    def flood(self, chat_id: int, retry_after: float, now: float) -> bool:
        """Telegram answered 429 for ``chat_id``: that chat waits ``retry_after``. When
        several chats are refused at once the limit is the bot's, and everything waits.
        Returns True when the pause is global."""
        until = now + max(0.0, retry_after)
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), until)
        self._floods.append((now, chat_id))
        while self._floods and self._floods[0][0] < now - FLOOD_SPAN:
            self._floods.popleft()
        if len({c for _, c in self._floods}) >= GLOBAL_FLOOD_CHATS:
            self.pause_all(max(self._paused.get(c, until) for _, c in self._floods))
            return True
        return False

    def pause_all(self, until: float) -> None:
        self._all_paused = max(self._all_paused, until)

    def forget_idle(self, now: float) -> None:
        """Drop the windows of chats that sent nothing lately (memory stays small)."""
        for table in (self._chats, self._groups):
            for chat_id in [c for c, w in table.items() if w.idle(now)]:
                del table[chat_id]
        for chat_id in [c for c, until in self._paused.items() if until <= now]:
            del self._paused[chat_id]
