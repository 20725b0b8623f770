#!/usr/bin/env python3
# ruff: noqa: E402  (the repository root goes on sys.path first, for tests/fakebot.py)
"""The visit flow on PostgreSQL beside SQLite: ``bench/visits.py --db postgresql://...``.

    .venv/bin/python bench/visits.py --db postgresql://postgres@127.0.0.1:5432/postgres \
        [--cadres 300] [--procs 3] [--concurrency 8] [--photos 1]

Every figure is taken on a scratch database made (and dropped) on the named server, so
the bench never touches data. It prints, in one run:

1. One process, cadre after cadre (as bench/visits.py measures SQLite): updates a
   second, p50/p95/p99 per update and the process's CPU per update, for SQLite (a
   temporary file) and for PostgreSQL; and the statements each update sends to
   PostgreSQL (round trips).
2. Several processes on one PostgreSQL database, as Telegram and a proxy drive them:
   ``--procs`` real ``fieldbot run`` processes in webhook mode (the real configuration,
   the secret header, each on its own port), and this process as the load generator:
   it serves the fake Bot API (tests/fakebot.py's rules, on tornado) and posts every
   cadre's visit-flow updates over HTTP, round robin across the processes as the
   proxy in docs/processes.md does; a cadre posts a step, waits until the bot's answer
   is shown in the chat, then posts the next; ``--per-proc`` x ``--procs`` cadres,
   ``--concurrency`` x ``--procs`` at once. A warm-up of 4 cadres a process comes
   first, not measured. Printed: updates a second across the processes (first post to
   last answer), p50/p95 from a post to its answer shown and to its 200, the CPU of
   each bot process, of the PostgreSQL server (when it runs on this machine) and of
   the load generator (from /proc/<pid>/stat), and what their sum per update says of
   the rate two cores could carry. Every visit saved once and no update left unhandled
   is checked ("WRONG" otherwise).

The multi-process part alone, and before/after in one run (``--base``: another checkout
of the bot, e.g. ``git worktree add /tmp/base main``; its runs and this checkout's
alternate, ``--rounds`` of each)::

    .venv/bin/python bench/visits_pg.py --db postgresql://... --procs 3 --cadres 24 \
        --concurrency 12 [--base /tmp/base --rounds 2]

``FIELDBOT_BENCH_PROFILE=DIR`` runs each bot process under cProfile (DIR/p0.prof ...).

Target (issue 18): the visit flow >= 1,000 updates/s across the processes; a missed
target prints "missed". The load of the machine is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler

from bench.visits import (
    CADRES_PER_GROUP,
    FIRST_USER,
    TrackingAPI,
    add_history,
    figures,
    make_roster,
    run_ours,
)
from storage import pg
from storage.db import database_for
from tests.botprocess import write_config
from tests.fakebot import TOKEN, ApiRefusal, Call, Harness, TgUser
from tests.fakeserver import SHOWING, _decode_params, _parse_body
from tests.pgtest import _admin, with_database

TARGET_UPDATES_PER_SECOND = 1000


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


class Counted:
    """Counts the statements PgConn sends (each one round trip to the server)."""

    def __init__(self) -> None:
        self.statements = 0
        self._run = pg.PgConn.run
        self._many = pg.PgConn.executemany

    def __enter__(self) -> Counted:
        counter = self
        run, many = self._run, self._many

        async def counted_run(conn: pg.PgConn, sql: str, params: Any) -> pg.PgCursor:
            counter.statements += 1
            return await run(conn, sql, params)

        async def counted_many(conn: pg.PgConn, sql: str, params: Any) -> pg.PgCursor:
            counter.statements += 1
            return await many(conn, sql, params)

        pg.PgConn.run = counted_run  # type: ignore[method-assign,assignment]
        pg.PgConn.executemany = counted_many  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        pg.PgConn.run = self._run  # type: ignore[method-assign]
        pg.PgConn.executemany = self._many  # type: ignore[method-assign]


# --- several webhook processes, driven over HTTP from outside -----------------------------

SECRET = "bench-webhook-secret-0123456789-abcdef"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REPLY_TIMEOUT = 60.0


class FakeBotApi:
    """The fake Bot API inside the load generator (tornado, on this process's loop): the
    answering rules of tests/fakebot.py, the newest keyboard of each chat, and a count
    of the messages shown in each chat, which the cadres wait on."""

    def __init__(self) -> None:
        self.api = TrackingAPI(lambda: datetime.now(UTC))
        self.shown: dict[int, int] = {}
        self.waiting: dict[int, tuple[int, asyncio.Future[None]]] = {}
        self.calls = 0
        # Makes the cadres' updates (ids go on growing, as Telegram's do).
        self.updates = Harness(None, self.api, lambda: datetime.now(UTC))  # type: ignore[arg-type]

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.calls += 1
        try:
            result = self.api.answer(Call(method, params))
        except ApiRefusal as refusal:
            return refusal.code, {
                "ok": False,
                "error_code": refusal.code,
                "description": refusal.description,
            }
        finally:
            self.api.calls.clear()
        if method in SHOWING:
            chat = int(params["chat_id"])
            seen = self.shown[chat] = self.shown.get(chat, 0) + 1
            wait = self.waiting.get(chat)
            if wait is not None and seen >= wait[0] and not wait[1].done():
                wait[1].set_result(None)
        return 200, {"ok": True, "result": result}

    async def shown_at_least(self, chat: int, count: int) -> None:
        if self.shown.get(chat, 0) >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting[chat] = (count, future)
        try:
            await asyncio.wait_for(future, REPLY_TIMEOUT)
        finally:
            self.waiting.pop(chat, None)


class _BotApiHandler(RequestHandler):
    def initialize(self, fake: FakeBotApi) -> None:  # tornado's per-request set-up
        self.fake = fake

    def check_xsrf_cookie(self) -> None:
        return None

    def post(self, token: str, method: str) -> None:
        if token != TOKEN:
            self.set_status(401)
            self.finish({"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        query = {k: v[-1].decode() for k, v in self.request.query_arguments.items()}
        ctype = self.request.headers.get("Content-Type", "")
        params = {**_decode_params(query), **_parse_body(ctype, self.request.body)}
        status, body = self.fake.answer(method, params)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))

    get = post


class _Unknown(RequestHandler):
    def check_xsrf_cookie(self) -> None:
        return None

    def post(self) -> None:
        print(f"the fake Bot API has no {self.request.path}", file=sys.stderr)
        self.set_status(404)
        self.finish({"ok": False, "error_code": 404, "description": "Not Found"})

    get = post


class Hook:
    """One kept-alive HTTP/1.1 connection to one webhook process (as a proxy keeps)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.head = (
            "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{SECRET_HEADER}: {SECRET}\r\nContent-Length: "
        ).encode()

    async def post(self, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _ticks(pid: int | str) -> tuple[int, int]:
    """(own CPU, waited-for children's CPU) of a process, in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def _server_ticks(postmaster: int) -> int:
    """The PostgreSQL server's CPU: the postmaster, its children that have ended, and
    its children still running."""
    own, ended = _ticks(postmaster)
    running = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == postmaster:
            running += int(stat[11]) + int(stat[12])
    return own + ended + running


async def _postmaster(url: str) -> int | None:
    """The server's main process, if it runs on this machine (the parent of a backend)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:  # read while the backend lives: it ends with its connection
        return _parent_of(int(await conn.fetchval("SELECT pg_backend_pid()")))
    finally:
        await conn.close()


def _parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


# The messages shown in the cadre's chat for each step of the visit (the note draws two:
# the next prompt and a word on the note; the submit two: the card and the saved visit).
_SHOWN = {"note": 2, "submit": 2}


class LoadGenerator:
    """The cadres' visit flow, posted to the processes as Telegram posts (round robin, as
    the proxy in docs/processes.md spreads them), each cadre waiting for the bot's answer
    to a step before the next one, ``concurrency`` cadres at once."""

    def __init__(self, fake: FakeBotApi, ports: list[int], photos: int) -> None:
        self.fake = fake
        self.ports = ports
        self.photos = photos
        self.h = fake.updates
        self.turn = itertools.count()
        self.latencies: list[float] = []
        self.acked: list[float] = []  # post to the 200 (recorded)
        self.refused = 0

    async def step(self, hooks: list[Hook], u: TgUser, data: dict[str, Any], shows: int) -> None:
        expected = self.fake.shown.get(u.id, 0) + shows
        body = json.dumps(data, ensure_ascii=False).encode()
        started = time.perf_counter()
        while True:
            status = await hooks[next(self.turn) % len(hooks)].post(body)
            if status == 200:
                break
            self.refused += 1  # the proxy would try the next process
        self.acked.append(time.perf_counter() - started)
        await self.fake.shown_at_least(u.id, expected)
        self.latencies.append(time.perf_counter() - started)

    def press(self, u: TgUser, label: str) -> dict[str, Any]:
        message = self.fake.api.keyboard_of[u.id]
        for row in message.reply_markup["inline_keyboard"]:
            for b in row:
                if label in b["text"]:
                    return self.h.callback_update(u, b["callback_data"], message)
        raise AssertionError(f"no button {label!r} for {u.id}: {message.text!r}")

    async def visit(self, hooks: list[Hook], u: TgUser, n: int) -> None:
        h, step, press = self.h, self.step, self.press
        g = (u.id - FIRST_USER) // CADRES_PER_GROUP
        await step(hooks, u, h.text_update(u, "/visit"), 1)
        for label in (f"{g}号社区", "宣讲政策", "调查研究", "完成", "今天"):
            await step(hooks, u, press(u, label), 1)
        await step(hooks, u, h.text_update(u, f"走访社区，了解第{n}户的情况"), _SHOWN["note"])
        await step(hooks, u, h.text_update(u, "12"), 1)
        for k in range(self.photos):
            photo = [{"file_id": f"ph{n}-{k}", "file_unique_id": f"u{n}-{k}", "width": 640,
                      "height": 480}]  # fmt: skip
            await step(hooks, u, h.message_update(u, photo=photo), 1)
        location = {"latitude": 30.0 + g / 1000, "longitude": 114.001}
        await step(hooks, u, h.message_update(u, location=location), 1)
        await step(hooks, u, press(u, "下一步"), 1)
        await step(hooks, u, press(u, "提交"), _SHOWN["submit"])

    async def run(self, users: list[TgUser], concurrency: int) -> None:
        queue = list(enumerate(users))
        queue.reverse()

        async def lane() -> None:
            hooks = [Hook(port) for port in self.ports]
            try:
                while queue:
                    n, u = queue.pop()
                    await self.visit(hooks, u, n)
            finally:
                for hook in hooks:
                    hook.close()

        await asyncio.gather(*(lane() for _ in range(concurrency)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _webhook_config(port: int) -> str:
    return (
        "\n[telegram.webhook]\n"
        f'listen = "127.0.0.1"\nport = {port}\nurl = "https://example.invalid/hook"\n'
        f'path = "hook"\nsecret_token = "{SECRET}"\n'
        # As the one-process figures: photos are not downloaded while cadres type.
        "\n[media]\ndownload = false\n"
    )


def _spawn(
    config: Path, log_path: Path, env: dict[str, str], root: Path
) -> subprocess.Popen[bytes]:
    profile = os.environ.get("FIELDBOT_BENCH_PROFILE")  # a folder: cProfile each process
    prof = ["-m", "cProfile", "-o", f"{profile}/{config.parent.name}.prof"] if profile else []
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, *prof, "-m", "bot.cli", "--config", str(config), "run"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def _count(url: str, sql: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def drive(
    url: str,
    folder: Path,
    procs: int,
    cadres: int,
    concurrency: int,
    photos: int,
    warm: int,
    root: Path = ROOT,
) -> dict[str, Any]:
    """Start the fake Bot API and ``procs`` real ``fieldbot run`` webhook processes on
    ``url``, post every cadre's visit, and measure."""
    fake = FakeBotApi()
    api_port = _free_port()
    web = WebApplication(
        [(r"/bot([^/]+)/(\w+)", _BotApiHandler, {"fake": fake}), (r".*", _Unknown)]
    )
    api_server = HTTPServer(web)
    api_server.listen(api_port, address="127.0.0.1")
    base = f"http://127.0.0.1:{api_port}"
    ports = [_free_port() for _ in range(procs)]
    children: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    env = {k: v for k, v in os.environ.items() if k != "FIELDBOT_TOKEN"}
    try:
        for i, port in enumerate(ports):
            own = folder / f"p{i}"
            own.mkdir()
            config = write_config(
                own, base, TOKEN, _webhook_config(port), 'mode = "webhook"\n', url=url
            )
            logs.append(own / "bot.log")
            children.append(_spawn(config, logs[-1], env, root))
        deadline = time.monotonic() + 120
        while not all("listening on" in p.read_text(errors="replace") for p in logs):
            dead = [c for c in children if c.poll() is not None]
            if dead or time.monotonic() > deadline:
                tails = "\n".join(p.read_text(errors="replace")[-2000:] for p in logs)
                raise RuntimeError(f"the webhook processes did not start:\n{tails}")
            await asyncio.sleep(0.1)
        postmaster = await _postmaster(url)
        users = [TgUser(FIRST_USER + i, f"u{i}", "zh-hans") for i in range(cadres + warm)]
        # Warm-up, not measured: every process's first updates import modules, fill
        # caches and prepare statements, and the leader runs its catch-up at the start.
        try:
            await LoadGenerator(fake, ports, photos).run(users[cadres:], min(concurrency, warm))
        except TimeoutError:
            tails = "\n".join(p.read_text(errors="replace")[-3000:] for p in logs)
            raise RuntimeError(f"no answer in {REPLY_TIMEOUT} s; the logs end:\n{tails}") from None
        await asyncio.sleep(1.0)
        users = users[:cadres]
        gen = LoadGenerator(fake, ports, photos)
        load = _load()
        bots0 = [sum(_ticks(c.pid)) for c in children]
        server0 = _server_ticks(postmaster) if postmaster else 0
        me0 = sum(_ticks(os.getpid()))
        calls0 = fake.calls
        began = time.perf_counter()
        await gen.run(users, concurrency)
        wall = time.perf_counter() - began
        bots = [sum(_ticks(c.pid)) - b for c, b in zip(children, bots0, strict=True)]
        server = (_server_ticks(postmaster) - server0) if postmaster else None
        me = sum(_ticks(os.getpid())) - me0
        load_after = _load()
        # Every visit saved once; every update recorded and (soon) handled.
        deadline = time.monotonic() + 30
        while await _count(url, "SELECT COUNT(*) FROM inbox WHERE status <> 'done'"):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        visits = await _count(url, "SELECT COUNT(*) FROM visits")
        pending = await _count(url, "SELECT COUNT(*) FROM inbox WHERE status <> 'done'")
        errors = [
            line
            for p in logs
            for line in p.read_text(errors="replace").splitlines()
            if " ERROR " in line or "Traceback" in line
        ]
        return {
            "updates": len(gen.latencies),
            "wall": wall,
            "latencies": gen.latencies,
            "acked": gen.acked,
            "bots": [t / CLOCK_TICKS for t in bots],
            "server": None if server is None else server / CLOCK_TICKS,
            "generator": me / CLOCK_TICKS,
            "load": load,
            "load_after": load_after,
            "visits": visits,
            "pending": pending,
            "refused": gen.refused,
            "errors": errors[:5],
            "api_calls": fake.calls - calls0,
        }
    finally:
        for c in children:
            if c.poll() is None:
                c.send_signal(signal.SIGTERM)
        for c in children:
            try:
                c.wait(timeout=30)
            except subprocess.TimeoutExpired:
                c.kill()
        api_server.stop()


def several(
    server: str,
    procs: int,
    cadres: int,
    concurrency: int,
    photos: int,
    base: Path | None = None,
    rounds: int = 1,
) -> bool:
    """Prints the multi-process figures; False when the target was missed. With
    ``base`` (another checkout of the bot), runs of that code ("before") and of this one
    ("after") alternate, ``rounds`` of each, so that the load hits both alike."""
    runs: list[tuple[str, Path]] = [("after", ROOT)]
    if base is not None:
        runs = [("before", base), ("after", ROOT)]
    met = True
    summary: list[tuple[str, dict[str, Any]]] = []
    for _ in range(rounds):
        for label, root in runs:
            r = _one_run(server, procs, cadres, concurrency, photos, root)
            summary.append((label, r))
            met = _print_run(label, r, procs, cadres, concurrency) and met
    if len(summary) > 1:
        print(f"{'':8}{'updates/s':>10}{'p50 ms':>8}{'p95 ms':>8}{'CPU µs/update':>15}  load")
        for label, r in summary:
            q = statistics.quantiles(r["latencies"], n=100, method="inclusive")
            cpu = sum(r["bots"]) + (r["server"] or 0) + r["generator"]
            print(
                f"{label:8}{r['updates'] / r['wall']:10.0f}{q[49] * 1000:8.1f}"
                f"{q[94] * 1000:8.1f}{cpu / r['updates'] * 1e6:15.0f}  {r['load']}"
            )
    return met


def _one_run(
    server: str, procs: int, cadres: int, concurrency: int, photos: int, root: Path
) -> dict[str, Any]:
    name, url = _scratch(server)
    try:
        warm = 4 * procs
        asyncio.run(_prepare(url, cadres + warm, 0))
        with tempfile.TemporaryDirectory(prefix="fieldbot-bench-") as tmp:
            r = asyncio.run(drive(url, Path(tmp), procs, cadres, concurrency, photos, warm, root))
    finally:
        _drop(server, name)
    r["warm"] = warm
    return r


def _print_run(label: str, r: dict[str, Any], procs: int, cadres: int, concurrency: int) -> bool:
    n, wall, warm = r["updates"], r["wall"], r["warm"]
    rate = n / wall
    q = statistics.quantiles(r["latencies"], n=100, method="inclusive")
    a = statistics.quantiles(r["acked"], n=100, method="inclusive")
    met = rate >= TARGET_UPDATES_PER_SECOND
    print(
        f"[{label}] PostgreSQL, {procs} webhook processes (fieldbot run) posted to over HTTP"
        f" by a load generator, {cadres} cadres, {concurrency} at a time ({n} updates,"
        f" {r['api_calls']} Bot API calls): {rate:.0f} updates/s across the processes"
        f" (target >= {TARGET_UPDATES_PER_SECOND}: {'ok' if met else 'missed'});"
        f" p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms (post to the answer shown;"
        f" post to the 200: p50 {a[49] * 1000:.1f} ms, p95 {a[94] * 1000:.1f} ms);"
        f" load before {r['load']}, after {r['load_after']}"
    )
    parts = [(f"bot process {i}", t) for i, t in enumerate(r["bots"])]
    if r["server"] is not None:
        parts.append(("PostgreSQL server", r["server"]))
    parts.append(("load generator + fake Bot API", r["generator"]))
    total = sum(t for _, t in parts)
    cores = os.cpu_count() or 1
    print(f"  CPU over {wall:.1f} s ({cores} cores: {cores * wall:.1f} CPU s at most):")
    for part, t in parts:
        print(f"    {part:32}{t:7.2f} s  {t / n * 1e6:6.0f} µs/update  {t / wall * 100:4.0f}%")
    print(
        f"    {'all':32}{total:7.2f} s  {total / n * 1e6:6.0f} µs/update"
        f"  (at most {cores * n / total:.0f} updates/s with the {cores} cores to themselves)"
    )
    if r["visits"] != cadres + warm or r["pending"] or r["errors"]:
        print(
            f"  WRONG: {r['visits']} visits saved of {cadres + warm}, {r['pending']} updates not"
            f" handled, errors in the logs: {r['errors']}"
        )
        return False
    if r["refused"]:
        print(f"  {r['refused']} posts refused and posted again")
    return met


# --- the bench ----------------------------------------------------------------------------


async def _prepare(url: str, cadres: int, history: int) -> None:
    db = database_for(url)
    await db.open()
    try:
        await db.migrate()
        await make_roster(db, cadres)
        if history:
            await add_history(db, cadres, history)
        async with db.write() as conn:
            await conn.execute("ANALYZE")
    finally:
        await db.close()


def _scratch(server: str) -> tuple[str, str]:
    name = f"fieldbot_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server, f"CREATE DATABASE {name}"))
    return name, with_database(server, name)


def _drop(server: str, name: str) -> None:
    asyncio.run(_admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def pg_main(args: argparse.Namespace) -> int:
    """SQLite and PostgreSQL in one run, figures side by side (see the module's text)."""
    server = args.db
    cadres = args.cadres
    rows: list[tuple[str, tuple[float, float, float, float], float]] = []
    load = _load()
    with tempfile.TemporaryDirectory(prefix="fieldbot-bench-") as tmp:
        lat, cpu, _ = asyncio.run(
            run_ours(Path(tmp) / "bench.sqlite3", cadres, None, args.history, args.photos)
        )
        rows.append(("sqlite", figures(lat), sum(cpu) / len(cpu) * 1e6))
    name, url = _scratch(server)
    try:
        with Counted() as counted:
            lat, cpu, _ = asyncio.run(run_ours(url, cadres, None, args.history, args.photos))
        rows.append(("postgresql", figures(lat), sum(cpu) / len(cpu) * 1e6))
        # The roster and the history are counted too; BEGIN and COMMIT are not.
        per_update = counted.statements / len(lat)
    finally:
        _drop(server, name)
    print(
        f"visit flow, one process, cadre after cadre: {cadres} cadres, {args.photos} photo(s)"
        f" a visit; load before {load}, after {_load()}"
    )
    print(f"{'':12}{'updates/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'CPU µs':>9}")
    for label, f, c in rows:
        print(f"{label:12}{f[0]:11.0f}{f[1]:9.2f}{f[2]:9.2f}{f[3]:9.2f}{c:9.0f}")
    print(f"PostgreSQL statements per update (BEGIN and COMMIT not counted): {per_update:.1f}")
    if args.procs:
        # --per-proc cadres and --concurrency at once for each process: in all, over HTTP.
        per_proc = args.per_proc or max(1, cadres // args.procs)
        several(
            server, args.procs, per_proc * args.procs, args.concurrency * args.procs, args.photos
        )
    return 0


def main() -> int:
    p = argparse.ArgumentParser(
        description="the multi-process part of bench/visits.py --db postgresql://... alone"
    )
    p.add_argument("--db", required=True, help="a postgresql:// server (scratch databases)")
    p.add_argument("--procs", type=int, default=3)
    p.add_argument("--cadres", type=int, default=60)
    p.add_argument("--concurrency", type=int, default=12, help="cadres at once, in all")
    p.add_argument("--photos", type=int, default=1)
    p.add_argument(
        "--base",
        type=Path,
        help="another checkout of the bot (e.g. git worktree of main): its processes'"
        " runs alternate with this checkout's, before/after in one run",
    )
    p.add_argument("--rounds", type=int, default=1, help="with --base: runs of each")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args()
    met = several(
        args.db, args.procs, args.cadres, args.concurrency, args.photos, args.base, args.rounds
    )
    return 0 if met or not args.strict else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
