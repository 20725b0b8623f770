"""Fixtures: a temporary database, a fake clock, the fake Bot API, a real Application."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import build_application
from bot.dispatcher import DrainReport, dispatcher_of
from campaign.settings import Settings, StorageSettings, TelegramSettings
from handlers.flow_route import FlowConversation
from storage.db import Database, open_database
from tests.botprocess import DAY, BotProcess
from tests.factories import Seed, seed_roster
from tests.fakebot import TOKEN, FakeBotAPI, FakeClock, Harness, TgUser
from tests.fakeserver import FakeServer
from tests.pgtest import PG_SKIP_REASON, PG_URL, pg_scratch, pg_template

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Every update the tests send to a flow is routed both ways (the quick one and the
# library's), and a difference fails the test (handlers/flow_route.py).
FlowConversation.verify = True


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """``bot.cli.main`` sets up logging for a real run; give pytest its handlers back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        telegram=TelegramSettings(rate_limit=False),
        storage=StorageSettings(
            database=str(tmp_path / "fieldbot.sqlite3"), backup_dir=str(tmp_path / "backups")
        ),
    )


@pytest.fixture
def clock() -> FakeClock:
    # A Monday morning, a working day.
    return FakeClock(datetime(2026, 11, 16, 9, 0, tzinfo=SHANGHAI))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the test needs SQLite itself (files, snapshots)"
    )


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the ``db`` fixture opens: every test that uses it runs on SQLite,
    and on PostgreSQL too when FIELDBOT_TEST_PG names a server (.ci/run starts one)."""
    marker = request.node.get_closest_marker("sqlite_only")
    if request.param == "postgresql" and marker is not None:
        pytest.skip(f"SQLite only: {marker.args[0] if marker.args else 'needs the file'}")
    return str(request.param)


@pytest.fixture(scope="session")
def _pg_template() -> str:
    return asyncio.run(pg_template(PG_URL)) if PG_URL else ""


@pytest.fixture
async def db(settings: Settings, backend: str, _pg_template: str) -> AsyncIterator[Database]:
    if backend == "sqlite":
        async with open_database(settings.storage.database) as database:
            yield database
        return
    async with pg_scratch(PG_URL, _pg_template, f"t_{uuid.uuid4().hex[:12]}") as url:
        async with open_database(url) as database:
            yield database


@pytest.fixture
async def seed(db: Database) -> Seed:
    return await seed_roster(db)


@pytest.fixture
def api(clock: FakeClock) -> FakeBotAPI:
    return FakeBotAPI(clock)


AppFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_bot(
    settings: Settings, db: Database, api: FakeBotAPI, clock: FakeClock
) -> AsyncIterator[AppFactory]:
    """Build (and later shut down) applications on the shared database: call it again
    to simulate a restart. Keyword arguments replace settings sections."""
    started = []

    async def factory(**sections: object) -> Harness:
        s = dataclasses.replace(settings, **sections) if sections else settings
        app = build_application(
            s, token=TOKEN, db=db, request=api, updates_request=api, clock=clock
        )
        await app.initialize()
        started.append(app)
        harness = Harness(app, api, clock)
        if len(started) > 1:
            # Across a simulated restart, Telegram's update ids keep growing and button
            # presses keep getting fresh query ids (each can be answered once).
            before = started[-2].bot_data
            harness._update_ids = before.get("harness.next_update", harness._update_ids)
            harness._query_ids = before.get("harness.next_query", harness._query_ids)
        app.bot_data["harness.next_update"] = harness._update_ids
        app.bot_data["harness.next_query"] = harness._query_ids
        return harness

    yield factory
    for app in started:
        await app.shutdown()


@pytest.fixture
async def bot(make_bot: AppFactory, seed: Seed) -> Harness:
    return await make_bot()


def user(user_id: int, lang: str | None = "zh-hans") -> TgUser:
    return TgUser(user_id, first_name=f"u{user_id}", language_code=lang)


async def join(
    bot: Harness, seed: Seed, key: str, user_id: int, lang: str | None = "zh-hans"
) -> TgUser:
    """Bind a seeded cadre to a Telegram user through the real contact flow."""
    u = user(user_id, lang)
    await bot.contact(u, seed.phones[key])
    return u


async def drain(bot: Harness) -> DrainReport:
    """Send what the outgoing queue may send at the clock's time, as the running bot's
    dispatcher would; move the clock to let paced items follow."""
    return await dispatcher_of(bot.app).drain(bot.clock())


# --- the real bot as a process, against the fake Bot API over HTTP (tests/botprocess.py)


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def bot_process(
    request: pytest.FixtureRequest, tmp_path: Path, fake_server: FakeServer
) -> Iterator[BotProcess]:
    """The real bot, by day (no quiet hours) unless a test parametrizes it indirectly
    with ``NIGHT`` (quiet hours around the present moment)."""
    folder = tmp_path / "live"
    folder.mkdir()
    process = BotProcess(folder, fake_server, hours=getattr(request, "param", DAY))
    yield process
    process.kill()
