"""Fan-out bench: N notifications to N private chats through the real dispatcher.

The Bot API here is a fake in the same process that ENFORCES Telegram's limits on what
reaches it, measured with time.monotonic(): at most 30 requests in any second overall
and one a second per chat; a request over a limit gets 429 with retry_after and is not
delivered. Each request takes 10–40 ms each way, like a network.

Two runs, each on a fresh database, with the application started as in production (the
dispatcher's background loop, the real clock):

1. clean: all N delivered within 1.15 × the N/30 s floor, no 429, none lost or twice;
2. failing: a share of sends fail (429 with retry_after, 5xx, connect timeouts, and
   answers lost after delivery); every notification still delivered exactly once.

    python bench/fanout.py            # 1,000 notifications (about 35 s + the failing run)
    python bench/fanout.py --quick    # 200
"""

from __future__ import annotations

import argparse
import asyncio
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
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_application  # noqa: E402
from campaign.message import Message  # noqa: E402
from campaign.settings import (  # noqa: E402
    ReminderSettings,
    Settings,
    StorageSettings,
    TelegramSettings,
)
from storage import outbox  # noqa: E402
from storage.db import open_database  # noqa: E402

TOKEN = "7000001:BENCH-token-abcdefghijklmnopqrstuvwxyz0123"
GLOBAL_LIMIT, GLOBAL_SPAN = 30, 1.0
CHAT_SPAN = 1.0
FIRST_CHAT = 10_000_000


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
    last_delivery: float = 0.0


class EnforcingBotAPI(BaseRequest):
    """A Bot API that answers sends like Telegram and refuses what breaks its limits."""

    def __init__(self, fail_rate: float, seed: int) -> None:
        self.fail_rate = fail_rate
        self.rng = random.Random(seed)
        self.figures = Figures()
        self._window: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self._ids = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    def _over_limit(self, chat_id: int, now: float) -> bool:
        while self._window and self._window[0] <= now - GLOBAL_SPAN:
            self._window.popleft()
        last = self._chat_last.get(chat_id)
        over = len(self._window) >= GLOBAL_LIMIT or (last is not None and now - last < CHAT_SPAN)
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
                    "result": {"id": 7000001, "is_bot": True, "first_name": "Bench"},
                },
            )
        if api_method != "sendMessage":
            return self._refuse(404, f"Not Found: {api_method}")
        chat_id = int(params["chat_id"])
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
            fig.deliveries[str(params["text"])] += 1
            fig.last_delivery = time.monotonic()
            self._ids += 1
            message = {
                "message_id": self._ids,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "c"},
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

    @property
    def floor(self) -> float:
        return self.n / GLOBAL_LIMIT

    @property
    def duplicates(self) -> int:
        return sum(1 for c in self.figures.deliveries.values() if c > 1)

    @property
    def lost(self) -> int:
        return self.n - len(self.figures.deliveries)


async def run(n: int, fail_rate: float, seed: int, folder: Path) -> Result:
    settings = Settings(
        telegram=TelegramSettings(rate_limit=False),
        storage=StorageSettings(database=str(folder / "bench.sqlite3")),
        reminders=ReminderSettings(quiet_start=clock_time(0, 0), quiet_end=clock_time(0, 0)),
    )
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
                    chat_id=FIRST_CHAT + i,
                    message=Message(f"通知 #{i}：您上报的问题已转到工作队"),
                    now=now,
                )
        started = time.monotonic()
        await app.start()
        deadline = started + 10 * n / GLOBAL_LIMIT + 60
        try:
            while time.monotonic() < deadline:
                row = await db.fetchone(
                    "SELECT COUNT(*) AS n FROM outbox WHERE status IN ('pending', 'sending')"
                )
                if row is not None and row["n"] == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            await app.stop()
            await app.shutdown()
        statuses = await outbox.counts(db)
    elapsed = (api.figures.last_delivery or time.monotonic()) - started
    return Result(n, elapsed, api.figures, statuses)


def report(title: str, r: Result) -> None:
    f = r.figures
    print(f"== {title}")
    print(f"   notifications       {r.n} to {r.n} private chats")
    print(f"   elapsed             {r.elapsed:.1f} s  (floor {r.floor:.1f} s at 30/s)")
    print(f"   floor ratio         {r.elapsed / r.floor:.3f}")
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
    p.add_argument("--only", choices=("clean", "failing"), default=None)
    p.add_argument("-v", "--verbose", action="store_true", help="show the dispatcher's log")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR)
    n = args.n or (200 if args.quick else 1000)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "clean"):
            clean = asyncio.run(run(n, 0.0, args.seed, Path(tmp) / "clean"))
            report("clean run", clean)
            good = (
                clean.elapsed <= 1.15 * clean.floor
                and clean.figures.limit_429 == 0
                and clean.lost == 0
                and clean.duplicates == 0
            )
            verdict = "met" if good else "MISSED"
            print(f"   target              ≤ 1.15 × floor, 0 × 429, 0 lost, 0 twice: {verdict}")
            ok &= good
        if args.only in (None, "failing"):
            failing = asyncio.run(run(n, args.fail_rate, args.seed, Path(tmp) / "failing"))
            report(f"failing run ({args.fail_rate:.0%} of sends fail)", failing)
            good = failing.lost == 0 and failing.duplicates == 0
            verdict = "met" if good else "MISSED"
            print(f"   target              every notification exactly once: {verdict}")
            ok &= good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
