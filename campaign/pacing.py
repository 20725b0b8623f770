"""Telegram's sending limits as plain sliding windows; every method takes ``now``.

Telegram asks bots for about 30 messages a second overall, at most one a second in any
one chat, and at most 20 a minute in a group. We model each limit as "at most N sends
in any window of W seconds" (what an enforcing server can measure), and add the pauses
Telegram orders with 429 ``retry_after``.

The server counts a request when it arrives, which we never see: it is after we let the
request go and before its answer reaches us. So a send holds its place in a window from
the moment it is let go until W seconds after its answer (``Pacer.begin`` / ``end``).
Then no window the server measures can hold more than N, however long the network or a
busy event loop delays a request (a send stamped when it was chosen, as before, drew
429s whenever the requests left late). ``Limits.margin`` widens every window a little
more, for clocks that tick at slightly different rates.

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
    margin: float = 0.02
    # Places of the overall window the outgoing queue leaves to replies while replies
    # are being sent: a cadre's answer never waits behind a fan-out's backlog.
    reply_reserve: int = 5
    reply_span: float = 2.0


class Window:
    """At most ``limit`` sends in any ``span`` seconds, as a server that counts each
    request when it ARRIVES can measure it.

    We cannot know when a request arrives, only that it is after we let it go and before
    its answer reaches us. So a send holds its place from the moment it is let go
    (``begin``) until one span after its answer (``end``): then any ``limit + 1`` sends
    the server could count in one span were all holding places at once, which the window
    never allows, whatever the network's delay or our event loop's lag. ``take`` counts a
    send whose answer is already in (it began and ended at ``now``)."""

    __slots__ = ("limit", "span", "_events", "_open")

    def __init__(self, limit: int, span: float) -> None:
        if limit < 1 or span <= 0:
            raise ValueError("a window needs a positive limit and span")
        self.limit = limit
        self.span = span
        self._events: deque[float] = deque()  # when answered, oldest first
        self._open = 0  # let go, answer awaited

    def _prune(self, now: float) -> None:
        while self._events and self._events[0] <= now - self.span:
            self._events.popleft()

    def count(self, now: float) -> int:
        """Places held at ``now``: sends answered within the span and sends in flight."""
        self._prune(now)
        return len(self._events) + self._open

    def free(self, now: float) -> int:
        """How many sends may be let go at ``now``."""
        return max(0, self.limit - self.count(now))

    def next_free(self, now: float, spare: int = 0) -> float:
        """The earliest moment at or after ``now`` when one more send may go while
        ``spare`` places stay free for someone else. A send still in flight frees its
        place a span after its answer at the earliest, so not before ``now + span``: the
        caller asks again then."""
        held = self.count(now)
        limit = max(1, self.limit - spare)
        if held < limit:
            return now
        k = held - limit  # the k-th place to free up (0: the first) lets one more go
        if k < len(self._events):
            return max(now, self._events[k] + self.span)
        return now + self.span

    def take(self, now: float) -> None:
        """Count a send answered at ``now``."""
        if self._events and now < self._events[-1]:
            insort(self._events, now)  # a late stamp from a slower sender
        else:
            self._events.append(now)

    def begin(self) -> None:
        """A send is let go: it holds a place until its answer (``end``)."""
        self._open += 1

    def end(self, now: float) -> None:
        """The answer to a send begun earlier arrived at ``now`` (or it failed then)."""
        self._open = max(0, self._open - 1)
        self.take(now)

    def cancel(self) -> None:
        """A send begun earlier never left (nothing reached the server)."""
        self._open = max(0, self._open - 1)

    def idle(self, now: float) -> bool:
        return self.count(now) == 0


@dataclass(eq=False)
class Ticket:
    """One send let go by the pacer; ``Pacer.end`` it when its answer arrives."""

    chat_id: int
    windows: tuple[Window, ...]
    done: bool = False


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

    def reply(self, chat_id: int, now: float) -> Ticket:
        """Let one reply (a message sent while handling an update) go at ``now``; ``end``
        the ticket when its answer arrives."""
        ticket = self.begin(chat_id, now)
        self._replies.take(now)
        self._last_reply = max(self._last_reply, now)
        return ticket

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

    def _windows(self, chat_id: int) -> tuple[Window, ...]:
        if is_group(chat_id):
            return (self._global, self._chat(chat_id), self._group(chat_id))
        return (self._global, self._chat(chat_id))

    def begin(self, chat_id: int, now: float) -> Ticket:
        """Let one send to ``chat_id`` go at ``now``: it holds its places in every window
        until ``end`` (its answer) and a window's span after that."""
        windows = self._windows(chat_id)
        for w in windows:
            w.begin()
        return Ticket(chat_id, windows)

    def end(self, ticket: Ticket, now: float) -> None:
        """The answer to ``ticket``'s send arrived at ``now`` (or the call failed then)."""
        if ticket.done:
            return
        ticket.done = True
        for w in ticket.windows:
            w.end(now)

    def cancel(self, ticket: Ticket) -> None:
        """``ticket``'s send never left: its places are free again."""
        if ticket.done:
            return
        ticket.done = True
        for w in ticket.windows:
            w.cancel()

    def take(self, chat_id: int, now: float) -> None:
        """Count one send to ``chat_id`` answered at ``now``."""
        for w in self._windows(chat_id):
            w.take(now)

    def free(self, now: float) -> int:
        """Places of the overall window free at ``now``."""
        return self._global.free(now)

    def chats_held(self, now: float) -> int:
        """At most how many chats' own windows or pauses hold their next send at
        ``now`` (every chat the pacer still remembers)."""
        return len(self._chats) + len(self._groups) + len(self._paused)

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
