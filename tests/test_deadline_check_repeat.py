"""The scheduler's deadline check runs every few minutes: a check with nothing new to
queue finds the warnings already in the outbox and neither renders nor writes them
again (and the whole run is one trip to the writing thread), while a new colour is
still queued."""

from __future__ import annotations

from typing import Any

import pytest

from campaign.settings import Settings
from scheduler.runner import check_deadlines
from services import problem_deadlines
from services.runtime import Deps
from storage import outbox
from storage.db import Database
from tests.factories import Seed
from tests.fakebot import FakeClock
from tests.scheduler_factories import TG, add_problem, bind_world, local, make_deps, queued


@pytest.fixture
def deps(settings: Settings, db: Database, clock: FakeClock) -> Deps:
    return make_deps(settings, db, clock)


@pytest.fixture
async def world(db: Database, seed: Seed) -> Seed:
    return await bind_world(db, seed)


async def test_a_repeated_check_renders_and_queues_nothing(
    deps: Deps, db: Database, world: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = await add_problem(
        db, world.cadres["cadre1"], world.places["v1"], deadline=local(2026, 11, 17, 18)
    )
    assert await check_deadlines(deps, local(2026, 11, 16, 9)) == 1  # blue: one day left
    before = [(r.key, r.chat_id, r.text) for r in await queued(db, "deadline:")]
    assert [k for k, _, _ in before] == [f"deadline:{pid}:group:blue:{TG['leader1']}"]

    rendered: list[Any] = []
    real = problem_deadlines._text

    def counting(*args: Any) -> str:
        rendered.append(args)
        return real(*args)

    monkeypatch.setattr(problem_deadlines, "_text", counting)
    assert await check_deadlines(deps, local(2026, 11, 16, 9, 5)) == 0
    assert rendered == []
    assert [(r.key, r.chat_id, r.text) for r in await queued(db, "deadline:")] == before

    # The deadline day: yellow is new and queued, blue is not queued again.
    assert await check_deadlines(deps, local(2026, 11, 17, 9)) == 1
    assert len(rendered) == 1
    keys = sorted(r.key for r in await queued(db, "deadline:"))
    assert keys == sorted(
        [
            f"deadline:{pid}:group:blue:{TG['leader1']}",
            f"deadline:{pid}:group:yellow:{TG['leader1']}",
        ]
    )


async def test_enqueue_many_is_idempotent_by_key(db: Database) -> None:
    from campaign.message import Message
    from tests.report_factories import local as at

    items = [outbox.NewItem(f"k:{i}", 500 + i, Message(f"m{i}")) for i in range(3)]
    async with db.write() as conn:
        assert await outbox.enqueue_many(conn, items, at(2026, 11, 16)) == 3
    async with db.write() as conn:
        more = [*items, outbox.NewItem("k:3", 503, Message("m3"))]
        assert await outbox.enqueue_many(conn, more, at(2026, 11, 16)) == 1
    assert await outbox.known_keys(db, ["k:0", "k:3", "k:9"]) == {"k:0", "k:3"}
