"""/export when the workbook's second process fails: the office is told, no file is
sent, and the next /export (its second process working) delivers the workbook."""

from __future__ import annotations

import logging
import sys
from io import BytesIO
from typing import Any

import openpyxl
import pytest

from campaign.i18n import default_catalog
from handlers import reports as report_handlers
from services import export_parts
from storage.db import Database
from tests.factories import Seed
from tests.fakebot import FakeBotAPI, FakeClock, Harness
from tests.test_export_split import split_from
from tests.test_report_chat import CapturingAPI, people_in


@pytest.fixture
def api(clock: FakeClock) -> FakeBotAPI:
    return CapturingAPI(clock)


async def test_export_with_a_failing_second_process_tells_and_sends_nothing(
    bot: Harness, seed: Seed, db: Database, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    u = await people_in(bot, seed, db)
    api: CapturingAPI = bot.api  # type: ignore[assignment]
    splits = split_from(monkeypatch, 2)  # November's 7 visits are split
    with monkeypatch.context() as m, caplog.at_level(logging.ERROR, logger="handlers.reports"):
        m.setattr(
            export_parts, "child_command", lambda: [sys.executable, "-c", "raise SystemExit(3)"]
        )
        await bot.send(u["office1"], "/export 2026-11")
        await report_handlers.wait_for_jobs(bot.app)
    assert [c for c in api.calls if c.method == "sendDocument"] == []
    assert bot.api.last(701).text == default_catalog().t("zh-CN", "reports.error")
    assert "second process ended with 3" in caplog.text

    await bot.send(u["office1"], "/export 2026-11")
    await report_handlers.wait_for_jobs(bot.app)
    assert len([c for c in api.calls if c.method == "sendDocument"]) == 1
    wb = openpyxl.load_workbook(BytesIO(api.files[0][2]))
    assert len(list(wb["走访记录"].iter_rows(min_row=2))) == 7
    assert len(splits) == 2
