#!/usr/bin/env python3
# ruff: noqa: E402  (the repository root goes on sys.path first, for tests/fakebot.py)
"""Benchmark: 1,000 cadres each log a full visit through the real Application.

A fresh file database gets a generated roster (teams, groups of ten cadres, villages
with households, communities, enterprises), every cadre bound to a Telegram account.
Each cadre then runs /visit → place → two kinds → Done → today → text → head count →
photo → location → Next → Submit, through ``Application.process_update`` with the fake
Bot API from tests/fakebot.py as the request (rate limiting off). The same updates are
then fed to a bare python-telegram-bot Application that only echoes (a MessageHandler
and a CallbackQueryHandler replying), on the same fake API.

It prints updates per second and p50/p95/p99 latency per update for both, and their
ratio. ``--db`` chooses the database file (its folder decides the disk: /dev/shm is
memory, where fsync costs nothing); ``--profile FILE`` writes cProfile stats of our run;
``--history N`` first gives every cadre N past visits, each with its submitted draft, as
at the end of a campaign (100 makes 100,000 visits and drafts for 1,000 cadres);
``--photos N`` sends N photos in each visit. ``--media`` runs two bots side by side,
cadre by cadre in turn, one keeping media ([media] download on, its worker fetching
from the fake Bot API while cadres type) and one not, and prints both with the load.

    .venv/bin/python bench/visits.py [--cadres 1000] [--history 100] [--db PATH] [--profile F]
    .venv/bin/python bench/visits.py --media --cadres 200 --photos 3

The default run is interleaved: cadre by cadre, our Application handles the cadre's
visit and then a minimal echo bot (text only, one canned JSON answer, one call per
update) handles the same updates, so a change of load on the machine hits both. Wall
and CPU time are reported for both, with the ratios and their targets (CPU >= 1/3 of
the echo bot, p95 <= 10 ms), and a table of the CPU by step of the visit (/visit,
place, kind... submit) on both sides, with the part spent inside the fake Bot API, to
show where the time goes. Then, with the shipped ``rate_limit = true``: a few
cadres' visits one after the other (updates per second, p50/p95), and a burst of
``--burst`` cadres writing /visit at the same moment: how many replies a second leave
and the p95 a cadre waits for the answer. A missed target prints "missed".
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, RequestData

from bot.app import build_application, settle_heap
from bot.media import media_fetcher_of
from campaign.settings import MediaSettings, Settings, StorageSettings, TelegramSettings
from storage.db import MARKS_PER_SYNC, Database, database_for, utcnow_text
from tests.fakebot import (
    TOKEN,
    FakeBotAPI,
    FakeClock,
    Harness,
    OfflineRequest,
    StoredMessage,
    TgUser,
)

CADRES_PER_GROUP = 10
GROUPS_PER_TEAM = 10
FIRST_USER = 100_000


class TrackingAPI(FakeBotAPI):
    """The fake Bot API, remembering each chat's newest message with buttons, so the
    script can press them without searching every message."""

    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self.keyboard_of: dict[int, StoredMessage] = {}
        self.cpu = 0.0  # CPU seconds spent inside the fake API (Telegram's side)
        self.sent_at: list[float] = []  # when each sendMessage reached "Telegram"

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        if url.endswith("/sendMessage"):
            self.sent_at.append(time.perf_counter())
        start = time.process_time()
        try:
            return await super().do_request(url, method, *args, **kwargs)
        finally:
            self.cpu += time.process_time() - start

    def _message(
        self, chat_id: int, text: str, markup: Any, kind: str, **extra: Any
    ) -> dict[str, Any]:
        out = super()._message(chat_id, text, markup, kind, **extra)
        if markup and "inline_keyboard" in markup:
            self.keyboard_of[chat_id] = self.messages[(chat_id, out["message_id"])]
        return out


async def add_history(db: Database, cadres: int, per_cadre: int) -> None:
    """``per_cadre`` past visits for every cadre (one every few days before the bench's
    Monday, at the places of their group), each with a submitted draft and two kinds."""
    start = date(2026, 11, 15)
    kinds = ("policy", "survey", "party", "service", "stability", "enterprise")
    drafts_rows, visit_rows, kind_rows = [], [], []
    n = 0
    for i in range(cadres):
        cadre, uid, g = i + 1, FIRST_USER + i, i // CADRES_PER_GROUP
        for k in range(per_cadre):
            n += 1
            day = (start - timedelta(days=k * 2 + i % 2)).isoformat()
            at = f"{day}T02:00:00+00:00"
            place = g * 7 + 1 + (k % 7)
            drafts_rows.append((n, cadre, uid, uid, n, at, at))
            visit_rows.append((n, cadre, g // GROUPS_PER_TEAM + 1, g + 1, place, day, n, at, at))
            kind_rows += [(n, kinds[k % 6]), (n, kinds[(k + 1) % 6])]
    async with db.write() as conn:
        await conn.executemany(
            "INSERT INTO drafts (id, kind, cadre_id, chat_id, user_id, step, data, status,"
            " result_id, created_at, updated_at)"
            " VALUES (?, 'visit', ?, ?, ?, 'summary', '{}', 'submitted', ?, ?, ?)",
            drafts_rows,
        )
        await conn.executemany(
            "INSERT INTO visits (id, cadre_id, team_id, group_id, place_id, visit_date, text,"
            " draft_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '走访', ?, ?, ?)",
            visit_rows,
        )
        await conn.executemany("INSERT INTO visit_kinds (visit_id, kind) VALUES (?, ?)", kind_rows)


async def make_roster(db: Database, cadres: int) -> list[int]:
    """Teams, groups and places for ``cadres`` cadres; returns their Telegram ids."""
    now = utcnow_text()
    groups = -(-cadres // CADRES_PER_GROUP)
    teams = -(-groups // GROUPS_PER_TEAM)
    async with db.write() as conn:
        await conn.executemany(
            "INSERT INTO teams (id, code, name, town) VALUES (?, ?, ?, ?)",
            [(t + 1, f"T{t}", f"第{t}工作队", f"镇{t}") for t in range(teams)],
        )
        await conn.executemany(
            "INSERT INTO groups (id, code, name, team_id) VALUES (?, ?, ?, ?)",
            [(g + 1, f"G{g}", f"第{g}组", g // GROUPS_PER_TEAM + 1) for g in range(groups)],
        )
        places: list[tuple[Any, ...]] = []
        pid = 0
        for g in range(groups):
            gid = g + 1
            for name, kind in (
                (f"{g}号村", "village"),
                (f"{g}号二村", "village"),
                (f"{g}号社区", "community"),
                (f"{g}号企业", "enterprise"),
            ):
                pid += 1
                places.append((pid, f"P{pid}", kind, name, gid, None, 30.0 + g / 1000, 114.0))
            village = pid - 3
            for h in range(3):
                pid += 1
                places.append(
                    (pid, f"P{pid}", "household", f"{g}号村{h}户", gid, village, None, None)
                )
        await conn.executemany(
            "INSERT INTO places (id, code, kind, name, group_id, village_id, lat, lon)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            places,
        )
        rows = []
        for i in range(cadres):
            g = i // CADRES_PER_GROUP
            role = "group_leader" if i % CADRES_PER_GROUP == 0 else "cadre"
            rows.append(
                (
                    i + 1,
                    f"干部{i}",
                    f"+86139{i:08d}",
                    role,
                    g // GROUPS_PER_TEAM + 1,
                    g + 1,
                    now,
                    now,
                )
            )
        await conn.executemany(
            "INSERT INTO cadres (id, name, phone, role, team_id, group_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await conn.executemany(
            "INSERT INTO telegram_bindings (cadre_id, telegram_user_id, via, bound_at)"
            " VALUES (?, ?, 'contact', ?)",
            [(i + 1, FIRST_USER + i, now) for i in range(cadres)],
        )
    return [FIRST_USER + i for i in range(cadres)]


def _press(h: Harness, api: TrackingAPI, u: TgUser, label: str) -> dict[str, Any]:
    message = api.keyboard_of[u.id]
    for row in message.reply_markup["inline_keyboard"]:
        for b in row:
            if label in b["text"]:
                return h.callback_update(u, b["callback_data"], message)
    raise AssertionError(f"no button {label!r} for {u.id}: {message.text!r}")


class RunningClock(FakeClock):
    """Real time from the bench's fixed moment on: the rate limiter waits in real time."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.moment + timedelta(seconds=time.monotonic() - self._t0)


class Ours:
    """One fieldbot Application on its own database, fed update by update."""

    def __init__(
        self,
        path: Path | str,
        media: MediaSettings,
        profile: bool = False,
        rate_limit: bool = False,
    ) -> None:
        self.path = path
        start = datetime(2026, 11, 16, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        self.clock = RunningClock(start) if rate_limit else FakeClock(start)
        self.settings = Settings(
            telegram=TelegramSettings(rate_limit=rate_limit),
            storage=StorageSettings(database=str(path)),
            media=media,
        )
        self.db = database_for(path)  # a postgresql:// address: PostgreSQL
        self.api = TrackingAPI(self.clock)
        self.latencies: list[float] = []
        self.cpu_times: list[float] = []  # CPU of the process (both threads): less hurt by load
        self.api_cpu: list[float] = []  # of which inside the fake Bot API
        self.fed: list[dict[str, Any]] = []
        self.steps: list[str] = []  # the step of the visit each fed update is (by_step)
        self.profiler = cProfile.Profile() if profile else None

    async def open(self, cadres: int, history: int) -> list[TgUser]:
        await self.db.open()
        await self.db.migrate()
        users = [TgUser(uid, f"u{uid}", "zh-hans") for uid in await make_roster(self.db, cadres)]
        if history:
            await add_history(self.db, cadres, history)
        self.app = build_application(
            self.settings,
            token=TOKEN,
            db=self.db,
            request=self.api,
            updates_request=self.api,
            clock=self.clock,
        )
        await self.app.initialize()
        self.h = Harness(self.app, self.api, self.clock)
        await media_fetcher_of(self.app).start()  # downloads run beside the updates
        return users

    async def feed(self, data: dict[str, Any], step: str = "") -> None:
        update = Update.de_json(data, self.app.bot)
        if self.profiler:
            self.profiler.enable()
        api = self.api.cpu
        start, cpu = time.perf_counter(), time.process_time()
        await self.app.process_update(update)
        self.latencies.append(time.perf_counter() - start)
        self.cpu_times.append(time.process_time() - cpu)
        self.api_cpu.append(self.api.cpu - api)
        if self.profiler:
            self.profiler.disable()
        self.fed.append(data)
        self.steps.append(step)
        self.api.calls.clear()

    async def visit(self, u: TgUser, n: int, photos: int) -> None:
        h, api, feed = self.h, self.api, self.feed
        g = (u.id - FIRST_USER) // CADRES_PER_GROUP
        await feed(h.text_update(u, "/visit"), "/visit")
        await feed(_press(h, api, u, f"{g}号社区"), "place")
        await feed(_press(h, api, u, "宣讲政策"), "kind")
        await feed(_press(h, api, u, "调查研究"), "kind")
        await feed(_press(h, api, u, "完成"), "kinds done")
        await feed(_press(h, api, u, "今天"), "date")
        await feed(h.text_update(u, f"走访社区，了解第{n}户的情况，宣讲医保政策"), "text")
        await feed(h.text_update(u, "12"), "head count")
        for k in range(photos):
            photo = [
                {
                    "file_id": f"ph{n}-{k}",
                    "file_unique_id": f"uph{n}-{k}",
                    "width": 640,
                    "height": 480,
                }
            ]
            await feed(h.message_update(u, photo=photo), "photo")
        await feed(
            h.message_update(u, location={"latitude": 30.0 + g / 1000, "longitude": 114.001}),
            "location",
        )
        await feed(_press(h, api, u, "下一步"), "next")
        await feed(_press(h, api, u, "提交"), "submit")

    async def close(self, expected: int) -> dict[str, int]:
        """Stop; the media files by status (what the worker did meanwhile)."""
        await media_fetcher_of(self.app).stop()
        row = await self.db.fetchone("SELECT COUNT(*) AS n FROM visits")
        assert row is not None and row["n"] == expected, (
            f"expected {expected} visits, got {row['n'] if row else 0}"
        )
        files = {
            r["status"]: int(r["n"])
            for r in await self.db.fetchall(
                "SELECT status, COUNT(*) AS n FROM media_files GROUP BY status"
            )
        }
        await self.app.shutdown()
        await self.db.close()
        return files


async def run_ours(
    path: Path | str, cadres: int, profile: str | None, history: int = 0, photos: int = 1
) -> tuple[list[float], list[float], list[dict[str, Any]]]:
    ours = Ours(path, MediaSettings(download=False), profile=bool(profile))
    users = await ours.open(cadres, history)
    for n, u in enumerate(users):
        await ours.visit(u, n, photos)
    await ours.close(cadres * (1 + history))
    if ours.profiler and profile:
        ours.profiler.dump_stats(profile)
    return ours.latencies, ours.cpu_times, ours.fed


async def run_media_pair(
    folder: Path, cadres: int, history: int, photos: int, pause: float
) -> tuple[Ours, Ours, dict[str, int]]:
    """Downloading on and off, interleaved cadre by cadre on two databases, so that both
    see the same load on the machine; the on side's worker fetches while cadres type."""
    on = Ours(folder / "on.sqlite3", MediaSettings(pause_seconds=pause, poll_seconds=0.05))
    off = Ours(folder / "off.sqlite3", MediaSettings(download=False))
    users = await on.open(cadres, history)
    await off.open(cadres, history)
    for n, u in enumerate(users):
        first, second = (on, off) if n % 2 == 0 else (off, on)
        await first.visit(u, n, photos)
        await second.visit(u, n, photos)
    files = await on.close(cadres * (1 + history))
    await off.close(cadres * (1 + history))
    return on, off, files


async def run_echo(updates: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    api = FakeBotAPI()

    async def echo(update: Update, context: Any) -> None:
        message = update.effective_message
        if message is not None:
            await message.reply_text(message.text or "ok")

    async def pressed(update: Update, context: Any) -> None:
        query = update.callback_query
        assert query is not None and update.effective_chat is not None
        await query.answer()
        await context.bot.send_message(update.effective_chat.id, query.data or "ok")

    app: Application = (
        ApplicationBuilder().token(TOKEN).request(api).get_updates_request(api).build()
    )  # type: ignore[type-arg]
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    await app.initialize()
    latencies: list[float] = []
    cpu_times: list[float] = []
    for data in updates:
        update = Update.de_json(data, app.bot)
        start, cpu = time.perf_counter(), time.process_time()
        await app.process_update(update)
        latencies.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
        api.calls.clear()
    await app.shutdown()
    return latencies, cpu_times


_CANNED = (
    b'{"ok":true,"result":{"message_id":1,"date":1763254800,'
    b'"chat":{"id":1,"type":"private"},"text":"ok"}}'
)
_ME = (
    b'{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"echo","username":"echo_bot",'
    b'"can_join_groups":true,"can_read_all_group_messages":false,'
    b'"supports_inline_queries":false}}'
)


class CannedRequest(OfflineRequest):
    """The minimal echo bot's Bot API: one canned answer, nothing stored."""

    cpu = 0.0  # CPU seconds spent here (a canned answer: next to nothing)
    timeout = None
    # A bare python-telegram-bot bot reads answers with the library's own parser (the
    # offline connection it derives from reads them as Fieldbot's does).
    parse_json_payload = staticmethod(BaseRequest.parse_json_payload)

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
        start = time.process_time()
        try:
            if url.endswith("/getMe"):
                return 200, _ME
            if url.endswith("/deleteWebhook") or url.endswith("/answerCallbackQuery"):
                return 200, b'{"ok":true,"result":true}'
            return 200, _CANNED
        finally:
            self.cpu += time.process_time() - start


class Echo:
    """The minimal echo bot: one handler for every update, one sendMessage each."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.cpu_times: list[float] = []
        self.api_cpu: list[float] = []

    async def open(self) -> None:
        self.api = api = CannedRequest()

        async def echo(update: Update, context: Any) -> None:
            chat = update.effective_chat
            assert chat is not None
            message = update.effective_message
            await context.bot.send_message(chat.id, (message and message.text) or "ok")

        self.app: Application = (  # type: ignore[type-arg]
            ApplicationBuilder().token(TOKEN).request(api).get_updates_request(api).build()
        )
        self.app.add_handler(MessageHandler(filters.ALL, echo))
        self.app.add_handler(CallbackQueryHandler(echo))
        await self.app.initialize()

    async def feed(self, data: dict[str, Any]) -> None:
        update = Update.de_json(data, self.app.bot)
        api = self.api.cpu
        start, cpu = time.perf_counter(), time.process_time()
        await self.app.process_update(update)
        self.latencies.append(time.perf_counter() - start)
        self.cpu_times.append(time.process_time() - cpu)
        self.api_cpu.append(self.api.cpu - api)

    async def close(self) -> None:
        await self.app.shutdown()


async def run_interleaved(
    path: Path, cadres: int, history: int, photos: int, profile: str | None
) -> tuple[Ours, Echo]:
    """Cadre by cadre: our visit, then the echo bot on the same updates."""
    ours = Ours(path, MediaSettings(download=False), profile=bool(profile))
    echo = Echo()
    users = await ours.open(cadres, history)
    await echo.open()
    settle_heap()  # as the application's post_init does once it has started
    for n, u in enumerate(users):
        first = len(ours.fed)
        await ours.visit(u, n, photos)
        for data in ours.fed[first:]:
            await echo.feed(data)
    await ours.close(cadres * (1 + history))
    await echo.close()
    if ours.profiler and profile:
        ours.profiler.dump_stats(profile)
    return ours, echo


async def run_limited(path: Path, cadres: int, burst: int) -> tuple[Ours, list[float], float, int]:
    """With the shipped rate limiter: ``cadres`` visits in turn, then ``burst`` other
    cadres writing /visit at once. Returns the visits' side, each burst cadre's wait
    for the answer (seconds), the replies a second that left during the burst (on
    average) and the most that reached Telegram within any one second."""
    ours = Ours(path, MediaSettings(download=False), rate_limit=True)
    users = await ours.open(cadres + burst, 0)
    for n, u in enumerate(users[:cadres]):
        await ours.visit(u, n, 1)
    crowd = users[cadres:]
    updates = [Update.de_json(ours.h.text_update(u, "/visit"), ours.app.bot) for u in crowd]
    waits: list[float] = []
    ours.api.sent_at.clear()
    start = time.perf_counter()

    async def one(update: Update) -> None:
        await ours.app.process_update(update)
        waits.append(time.perf_counter() - start)

    await asyncio.gather(*(one(u) for u in updates))
    span = max(waits) if waits else 1.0
    sent = sum(1 for c in ours.api.calls if c.method == "sendMessage")
    busiest = most_in_a_second(ours.api.sent_at)
    ours.api.calls.clear()
    await ours.close(cadres)
    return ours, waits, sent / span, busiest


def most_in_a_second(moments: list[float]) -> int:
    """The most of ``moments`` (seconds, in order) within any window of one second."""
    most, first = 0, 0
    for last, at in enumerate(moments):
        while at - moments[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def figures(latencies: list[float]) -> tuple[float, float, float, float]:
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return len(latencies) / sum(latencies), q[49] * 1000, q[94] * 1000, q[98] * 1000


def by_step(ours: Ours, echo: Echo) -> None:
    """Where our CPU goes, step by step of the visit, beside the echo bot's on the same
    updates: the mean CPU of each kind of update, the part of it inside the fake Bot API,
    and the step's share of all our CPU (information, not a target)."""
    kinds: dict[str, list[int]] = {}
    for i, step in enumerate(ours.steps):
        kinds.setdefault(step or "?", []).append(i)
    total = sum(ours.cpu_times)
    print(
        f"{'CPU by step':14}{'updates':>8}{'fieldbot µs':>13}{'fake API µs':>13}"
        f"{'echo µs':>9}{'share':>7}"
    )
    for step, at in kinds.items():
        mine = sum(ours.cpu_times[i] for i in at)
        api = sum(ours.api_cpu[i] for i in at)
        theirs = sum(echo.cpu_times[i] for i in at)
        n = len(at)
        print(
            f"{step:14}{n:8}{mine / n * 1e6:13.0f}{api / n * 1e6:13.0f}"
            f"{theirs / n * 1e6:9.0f}{mine / total:7.1%}"
        )


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cadres", type=int, default=1000)
    p.add_argument(
        "--db",
        help="database file (default: a new file in a temporary folder); a postgresql://"
        " address: SQLite and PostgreSQL side by side, one process and several"
        " (scratch databases on that server; bench/visits_pg.py)",
    )
    p.add_argument("--procs", type=int, default=3, help="with postgresql://: processes")
    p.add_argument("--per-proc", type=int, default=0, help="cadres per process (--cadres)")
    p.add_argument(
        "--concurrency", type=int, default=8, help="with postgresql://: cadres at a time"
    )
    p.add_argument("--profile", help="write cProfile stats of our run to this file")
    p.add_argument("--history", type=int, default=0, help="past visits per cadre first")
    p.add_argument("--photos", type=int, default=1, help="photos sent in each visit")
    p.add_argument(
        "--media",
        action="store_true",
        help="compare downloading media on and off, interleaved, in one run",
    )
    p.add_argument(
        "--media-pause",
        type=float,
        default=MediaSettings().pause_seconds,
        help="with --media: seconds between two downloads (the config's default; 0.01 stresses)",
    )
    p.add_argument(
        "--limited-cadres", type=int, default=2, help="visits in turn with rate_limit = true"
    )
    p.add_argument(
        "--burst", type=int, default=1000, help="cadres writing /visit at once (rate limited)"
    )
    args = p.parse_args()
    if args.media:
        return media_main(args)
    if args.db and args.db.startswith(("postgresql://", "postgres://")):
        from bench.visits_pg import pg_main

        return pg_main(args)
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="fieldbot-bench-") as tmp:
        path = Path(args.db) if args.db else Path(tmp) / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        ours, echo = asyncio.run(
            run_interleaved(path, args.cadres, args.history, args.photos, args.profile)
        )
        limited = None
        if args.burst or args.limited_cadres:
            limited = asyncio.run(
                run_limited(Path(tmp) / "limited.sqlite3", args.limited_cadres, args.burst)
            )
    o, e = figures(ours.latencies), figures(echo.latencies)
    print(
        f"database: {path} (steps without fsync, synced every {MARKS_PER_SYNC} updates and at"
        f" each submit); {args.cadres} cadres with {args.history} past visits each,"
        f" {args.photos} photo(s) a visit, {len(ours.latencies)} updates each side,"
        f" interleaved cadre by cadre; rate_limit = false; load before {load_before},"
        f" after {_load()}"
    )
    print(f"{'':12}{'updates/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'CPU µs':>9}")
    oc = sum(ours.cpu_times) / len(ours.cpu_times) * 1e6
    ec = sum(echo.cpu_times) / len(echo.cpu_times) * 1e6
    print(f"{'fieldbot':12}{o[0]:11.0f}{o[1]:9.2f}{o[2]:9.2f}{o[3]:9.2f}{oc:9.0f}")
    print(f"{'echo bot':12}{e[0]:11.0f}{e[1]:9.2f}{e[2]:9.2f}{e[3]:9.2f}{ec:9.0f}")
    print(
        # Three decimals: the target is 1/3, and "0.33 missed" (0.328) reads as a contradiction.
        f"fieldbot / echo: wall {o[0] / e[0]:.3f}, CPU {ec / oc:.3f} (target >= 1/3 = 0.333)"
        + ("  ok" if ec / oc >= 1 / 3 else "  missed")
    )
    print(f"fieldbot p95 {o[2]:.2f} ms (target <= 10 ms)" + ("  ok" if o[2] <= 10 else "  missed"))
    by_step(ours, echo)
    # Information, not a target: the CPU of each side without its Bot API's own work
    # (ours pays the fake Telegram of tests/fakebot.py, the echo bot a canned answer).
    oa = sum(ours.api_cpu) / len(ours.api_cpu) * 1e6
    ea = sum(echo.api_cpu) / len(echo.api_cpu) * 1e6
    print(
        f"without the fake Bot API's own CPU (information): fieldbot {oc - oa:.0f} µs"
        f" ({oa:.0f} µs in the fake API), echo bot {ec - ea:.0f} µs, ratio"
        f" {(ec - ea) / (oc - oa):.3f}"
    )
    if limited is not None:
        side, waits, per_second, busiest = limited
        if side.latencies:
            f = figures(side.latencies)
            print(
                f"rate_limit = true, {args.limited_cadres} visits in turn: {f[0]:.0f} updates/s,"
                f" p50 {f[1]:.1f} ms, p95 {f[2]:.1f} ms"
            )
        if waits:
            q = statistics.quantiles(waits, n=100, method="inclusive") if len(waits) > 1 else waits
            p95 = q[94] if len(waits) > 1 else waits[0]
            print(
                f"rate_limit = true, burst of {len(waits)} cadres writing /visit at once:"
                f" {per_second:.1f} replies/s left on average, at most {busiest} within"
                f" one second (limit 30), p95 wait {p95:.2f} s, last {max(waits):.2f} s"
                f" (floor {(len(waits) + 29) // 30 - 1} s: 30 a second, the first at once)"
                + ("  ok" if busiest <= 30 else "  missed (over 30 in a second)")
            )
        print(f"load after the rate-limited runs: {_load()}")
    return 0


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def media_main(args: argparse.Namespace) -> int:
    """Downloading on against off: the visit conversation must not slow down."""
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="fieldbot-bench-") as tmp:
        on, off, files = asyncio.run(
            run_media_pair(Path(tmp), args.cadres, args.history, args.photos, args.media_pause)
        )
        echo, _ = asyncio.run(run_echo(off.fed))
    e = figures(echo)
    print(
        f"{args.cadres} cadres, {args.photos} photo(s) a visit, {len(on.latencies)} updates a"
        f" side, on and off interleaved cadre by cadre, {args.media_pause} s between two"
        f" downloads; load before {load_before},"
        f" after {_load()}"
    )
    print(f"{'':16}{'updates/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'ratio':>8}")
    for name, run in (("download on", on), ("download off", off)):
        f = figures(run.latencies)
        print(f"{name:16}{f[0]:11.0f}{f[1]:9.2f}{f[2]:9.2f}{f[3]:9.2f}{f[0] / e[0]:8.2f}")
    print(f"{'bare echo':16}{e[0]:11.0f}{e[1]:9.2f}{e[2]:9.2f}{e[3]:9.2f}")
    print(f"media files fetched meanwhile by the worker (on side): {files}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
