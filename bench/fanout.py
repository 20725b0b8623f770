"""Fan-out bench: N notifications through the real dispatcher, with cadres' replies.

The Bot API here is a fake in the same process that ENFORCES Telegram's limits on what
reaches it, measured with time.monotonic() when a request arrives: at most 30 messages
in any second overall, one a second per chat, 20 a minute per group; a request over a
limit gets 429 with retry_after and is not delivered. Each request takes 10–40 ms each
way, like a network.

The notifications go to private chats and, one in ten, to group chats (ten groups).
While they go out, cadres write to the bot (/help, about 5 a second from 50 cadres):
their replies leave through the application's rate limiter, which shares one budget
with the outgoing queue (bot/budget.py), as with the shipped ``rate_limit = true``.

Two runs, each on a fresh database, with the application started as in production (the
dispatcher's background loop, the real clock):

1. clean: all N delivered within 1.15 × the floor ((N + replies) / 30 s), no 429, none
   lost or twice, and the p95 of a cadre's wait for a reply;
2. failing: a share of sends fail (429 with retry_after, 5xx, connect timeouts, and
   answers lost after delivery); every notification still delivered exactly once. This
   run has no time target (retries cost time by design); its floor ratio is printed.

    python bench/fanout.py            # 1,000 notifications (about 45 s + the failing run)
    python bench/fanout.py --quick    # 200
    python bench/fanout.py --only clean --runs 10   # the target: 10 of 10 clean runs met

Each run prints this process's CPU time and /proc/loadavg beside its figures: the floor
ratio does not depend on the machine's speed, but a loaded machine delays requests (the
pacer must still draw no 429), so judge it with the load in view.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from telegram import Update
from telegram.error import TimedOut
from telegram.request import RequestData

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_application  # noqa: E402
from campaign.message import Message  # noqa: E402
from campaign.settings import (  # noqa: E402
    OutboxSettings,
    ReminderSettings,
    Settings,
    StorageSettings,
    TelegramSettings,
)
from storage import outbox  # noqa: E402
from storage.db import open_database  # noqa: E402
from tests.fakebot import OfflineRequest  # noqa: E402

TOKEN = "7000001:BENCH-token-abcdefghijklmnopqrstuvwxyz0123"
GLOBAL_LIMIT, GLOBAL_SPAN = 30, 1.0
CHAT_SPAN = 1.0
GROUP_LIMIT, GROUP_SPAN = 20, 60.0
FIRST_CHAT = 10_000_000
GROUPS = 10
FIRST_GROUP = -1_000_000_000_100
FIRST_CADRE = 20_000_000
CADRES = 50
REPLY_EVERY = 0.2  # seconds between two cadres' messages (--reply-every)


def _timed_out(cause: Exception) -> TimedOut:
    exc = TimedOut()
    exc.__cause__ = cause
    return exc


@dataclass
class Figures:
    requests: int = 0
    limit_429: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    deliveries: Counter[str] = field(default_factory=Counter)
    replies: int = 0
    reply_waits: list[float] = field(default_factory=list)
    last_delivery: float = 0.0


class EnforcingBotAPI(OfflineRequest):
    """A Bot API that answers sends like Telegram and refuses what breaks its limits."""

    timeout = 5.0

    def __init__(self, fail_rate: float, seed: int) -> None:
        self.fail_rate = fail_rate
        self.rng = random.Random(seed)
        self.figures = Figures()
        self._window: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self._groups: dict[int, deque[float]] = {}
        self._ids = 0

    def _over_limit(self, chat_id: int, now: float) -> bool:
        while self._window and self._window[0] <= now - GLOBAL_SPAN:
            self._window.popleft()
        last = self._chat_last.get(chat_id)
        over = len(self._window) >= GLOBAL_LIMIT or (last is not None and now - last < CHAT_SPAN)
        if chat_id < 0:
            group = self._groups.setdefault(chat_id, deque())
            while group and group[0] <= now - GROUP_SPAN:
                group.popleft()
            over = over or len(group) >= GROUP_LIMIT
            group.append(now)
        # Every request that reaches the server counts, refused or not.
        self._window.append(now)
        self._chat_last[chat_id] = now
        return over

    @staticmethod
    def _answer(code: int, body: dict[str, Any]) -> tuple[int, bytes]:
        return code, json.dumps(body).encode()

    def _refuse(self, code: int, description: str, **parameters: Any) -> tuple[int, bytes]:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return self._answer(code, body)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if api_method == "getMe":
            return self._answer(
                200,
                {
                    "ok": True,
                    "result": {
                        "id": 7000001,
                        "is_bot": True,
                        "first_name": "Bench",
                        "username": "bench_bot",
                    },
                },
            )
        if api_method != "sendMessage":
            return self._refuse(404, f"Not Found: {api_method}")
        chat_id = int(str(params["chat_id"]))
        fig = self.figures
        kind = None
        if self.rng.random() < self.fail_rate:
            kind = self.rng.choice(("429", "5xx", "connect_timeout", "lost_answer"))
        await asyncio.sleep(self.rng.uniform(0.010, 0.040))  # on the way there
        if kind == "connect_timeout":
            fig.injected[kind] += 1
            raise _timed_out(httpx.ConnectTimeout("injected: connect timed out"))
        fig.requests += 1
        if self._over_limit(chat_id, time.monotonic()):
            fig.limit_429 += 1
            answer = self._refuse(429, "Too Many Requests: retry after 1", retry_after=1)
        elif kind == "429":
            fig.injected[kind] += 1
            wait = self.rng.randint(1, 3)
            answer = self._refuse(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        elif kind == "5xx":
            fig.injected[kind] += 1
            answer = self._refuse(self.rng.choice((500, 502)), "Internal Server Error")
        else:
            if chat_id >= FIRST_CADRE and chat_id < FIRST_CADRE + CADRES:
                fig.replies += 1
            else:
                fig.deliveries[str(params["text"])] += 1
                fig.last_delivery = time.monotonic()
            self._ids += 1
            message = {
                "message_id": self._ids,
                "date": int(time.time()),
                "chat": (
                    {"id": chat_id, "type": "supergroup", "title": "g"}
                    if chat_id < 0
                    else {"id": chat_id, "type": "private", "first_name": "c"}
                ),
                "text": params["text"],
            }
            answer = self._answer(200, {"ok": True, "result": message})
        await asyncio.sleep(self.rng.uniform(0.010, 0.040))  # on the way back
        if kind == "lost_answer":
            fig.injected[kind] += 1
            raise _timed_out(httpx.ReadTimeout("injected: the answer was lost"))
        return answer


@dataclass
class Result:
    n: int
    elapsed: float
    figures: Figures
    statuses: dict[str, int]
    cpu: float = 0.0  # this process's CPU seconds over the run
    load: str = ""  # /proc/loadavg at the end of the run

    @property
    def floor(self) -> float:
        return (self.n + self.figures.replies) / GLOBAL_LIMIT

    @property
    def duplicates(self) -> int:
        return sum(1 for c in self.figures.deliveries.values() if c > 1)

    @property
    def lost(self) -> int:
        return self.n - len(self.figures.deliveries)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


async def run(
    n: int,
    fail_rate: float,
    seed: int,
    folder: Path,
    reply_every: float = REPLY_EVERY,
    margin: float | None = None,
) -> Result:
    outbox_settings = OutboxSettings()  # as shipped
    if margin is not None:
        outbox_settings = OutboxSettings(margin_seconds=margin)
    settings = Settings(
        telegram=TelegramSettings(rate_limit=True),  # as shipped
        storage=StorageSettings(database=str(folder / "bench.sqlite3")),
        reminders=ReminderSettings(quiet_start=clock_time(0, 0), quiet_end=clock_time(0, 0)),
        outbox=outbox_settings,
    )
    cpu0 = time.process_time()
    api = EnforcingBotAPI(fail_rate, seed)
    async with open_database(settings.storage.database) as db:
        app = build_application(settings, token=TOKEN, db=db, request=api, updates_request=api)
        await app.initialize()
        async with db.write() as conn:
            now = app.bot_data["fieldbot.deps"].now()
            for i in range(n):
                await outbox.enqueue(
                    conn,
                    key=f"bench:{i}",
                    chat_id=FIRST_GROUP - (i // 10) % GROUPS if i % 10 == 9 else FIRST_CHAT + i,
                    message=Message(f"通知 #{i}：您上报的问题已转到工作队"),
                    now=now,
                )
        started = time.monotonic()
        await app.start()
        deadline = started + 10 * n / GLOBAL_LIMIT + 60
        cadres = asyncio.create_task(_cadres_write(app, api.figures, reply_every))
        try:
            while time.monotonic() < deadline:
                row = await db.fetchone(
                    "SELECT COUNT(*) AS n FROM outbox WHERE status IN ('pending', 'sending')"
                )
                if row is not None and row["n"] == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            cadres.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await cadres
            await app.stop()
            await app.shutdown()
        statuses = await outbox.counts(db)
    elapsed = (api.figures.last_delivery or time.monotonic()) - started
    cpu = time.process_time() - cpu0
    return Result(n, elapsed, api.figures, statuses, cpu, loadavg())


async def _cadres_write(app: Any, fig: Figures, every: float) -> None:
    """Cadres message the bot while the fan-out runs; each waits for the reply."""
    pending: set[asyncio.Task[None]] = set()

    async def one(i: int) -> None:
        cadre = FIRST_CADRE + i % CADRES
        data = {
            "update_id": 1_000_000 + i,
            "message": {
                "message_id": i + 1,
                "date": int(time.time()),
                "chat": {"id": cadre, "type": "private", "first_name": "c"},
                "from": {"id": cadre, "is_bot": False, "first_name": "c"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
        t0 = time.monotonic()
        await app.process_update(Update.de_json(data, app.bot))
        fig.reply_waits.append(time.monotonic() - t0)

    try:
        for i in itertools.count():
            task = asyncio.create_task(one(i))
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(every)
    finally:
        for task in pending:
            task.cancel()


def report(title: str, r: Result) -> None:
    f = r.figures
    print(f"== {title}")
    groups = sum(1 for i in range(r.n) if i % 10 == 9)
    print(
        f"   notifications       {r.n}: {r.n - groups} private chats, {groups} to {GROUPS} groups"
    )
    waits = sorted(f.reply_waits) or [0.0]
    p95 = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))]
    print(f"   replies to cadres   {f.replies} sent; a cadre waited p95 {p95 * 1000:.0f} ms")
    print(f"   elapsed             {r.elapsed:.1f} s  (floor {r.floor:.1f} s at 30/s)")
    print(f"   floor ratio         {r.elapsed / r.floor:.3f}")
    print(f"   CPU time            {r.cpu:.1f} s of this process (load {r.load})")
    print(f"   requests            {f.requests} reached the API")
    print(f"   429 for the limits  {f.limit_429}")
    injected = ", ".join(f"{k} {v}" for k, v in sorted(f.injected.items())) or "none"
    print(f"   injected failures   {sum(f.injected.values())} ({injected})")
    print(f"   delivered           {len(f.deliveries)} distinct")
    print(f"   duplicates          {r.duplicates}")
    print(f"   lost                {r.lost}")
    states = ", ".join(f"{k} {v}" for k, v in sorted(r.statuses.items()))
    print(f"   queue afterwards    {states}")
    if r.statuses.get("parked"):
        print(
            "   (parked: Telegram's answer was lost after it delivered; at most once means"
            " such an item is not sent again, the office sees it in /parked)"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="200 notifications instead of 1,000")
    p.add_argument("-n", type=int, default=None, help="number of notifications")
    p.add_argument("--fail-rate", type=float, default=0.20, help="share of failing sends")
    p.add_argument("--seed", type=int, default=4)
    p.add_argument(
        "--reply-every", type=float, default=REPLY_EVERY, help="seconds between cadres' messages"
    )
    p.add_argument("--only", choices=("clean", "failing"), default=None)
    p.add_argument(
        "--runs", type=int, default=1, help="clean runs in a row (the target: every one met)"
    )
    p.add_argument(
        "--margin", type=float, default=None, help="[outbox] margin_seconds (default: shipped)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show the dispatcher's log")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR)
    n = args.n or (200 if args.quick else 1000)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "clean"):
            rows = []
            for k in range(args.runs):
                where = Path(tmp) / f"clean{k}"
                clean = asyncio.run(
                    run(n, 0.0, args.seed + k, where, args.reply_every, args.margin)
                )
                report(
                    "clean run" if args.runs == 1 else f"clean run {k + 1} of {args.runs}", clean
                )
                good = (
                    clean.elapsed <= 1.15 * clean.floor
                    and clean.figures.limit_429 == 0
                    and clean.lost == 0
                    and clean.duplicates == 0
                )
                verdict = "met" if good else "MISSED"
                print(f"   target              ≤ 1.15 × floor, 0 × 429, 0 lost, 0 twice: {verdict}")
                rows.append((clean, verdict))
                ok &= good
            if args.runs > 1:
                print(f"== {args.runs} clean runs in a row")
                print("   run  ratio  429  p95 reply  CPU s  load (1/5/15 min)  target")
                for k, (r, verdict) in enumerate(rows, 1):
                    waits = sorted(r.figures.reply_waits) or [0.0]
                    p95 = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))]
                    print(
                        f"   {k:>3}  {r.elapsed / r.floor:.3f}  {r.figures.limit_429:>3}"
                        f"  {p95 * 1000:>6.0f} ms  {r.cpu:>5.1f}  {r.load:<17}  {verdict}"
                    )
                met = sum(1 for _, v in rows if v == "met")
                verdict = "met" if met == args.runs else "MISSED"
                print(
                    f"   target              {args.runs} of {args.runs} clean runs met:"
                    f" {met} met, {verdict}"
                )
        if args.only in (None, "failing"):
            where = Path(tmp) / "failing"
            failing = asyncio.run(
                run(n, args.fail_rate, args.seed, where, args.reply_every, args.margin)
            )
            report(f"failing run ({args.fail_rate:.0%} of sends fail)", failing)
            good = failing.lost == 0 and failing.duplicates == 0
            verdict = "met" if good else "MISSED"
            print(f"   target              every notification exactly once: {verdict}")
            print("   (no time target for this run: retries cost time by design)")
            ok &= good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
