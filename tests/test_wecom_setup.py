"""Setting the WeCom channel up: [wecom] config, `fieldbot wecom sync` (roster phones to
directory userids), the app menu and the team's app chat."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cli import main
from bot.wecom.api import WeComAPI
from bot.wecom.channel import app_menu
from bot.wecom.cli import make_appchat
from campaign.i18n import default_catalog
from campaign.settings import SettingsError, channels, parse_settings
from services import wecom as identity
from services.runtime import Deps
from storage import wecom
from storage.db import Database
from tests.factories import Seed
from tests.fakebot import FakeClock
from tests.fakewecom import AES_KEY, AGENT_ID, CALLBACK_TOKEN, CORP_ID, SECRET, FakeWeCom
from tests.wecom_world import add_members

GOOD: dict[str, Any] = {
    "enabled": True,
    "corp_id": CORP_ID,
    "agent_id": AGENT_ID,
    "secret": SECRET,
    "token": CALLBACK_TOKEN,
    "encoding_aes_key": AES_KEY,
}


def test_wecom_alone_needs_no_telegram_token() -> None:
    s = parse_settings({"wecom": GOOD}, env={})
    assert channels(s) == ("wecom",) and not s.telegram.token
    assert "secret" not in repr(s.wecom.secret) and SECRET not in repr(s)
    both = parse_settings({"wecom": {**GOOD, "telegram": True}}, env={})
    assert channels(both) == ("telegram", "wecom")
    assert channels(parse_settings({}, env={})) == ("telegram",)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"corp_id": ""}, "wecom.corp_id"),
        ({"secret": ""}, "wecom.secret"),
        ({"agent_id": 0}, "wecom.agent_id"),
        ({"encoding_aes_key": "short"}, "wecom.encoding_aes_key"),
        ({"api_base_url": "qyapi.weixin.qq.com"}, "wecom.api_base_url"),
        ({"proxy": "ftp://x"}, "wecom.proxy"),
        ({"member_interval_seconds": 0}, "wecom.member_interval_seconds"),
        ({"colour": "red"}, "wecom.colour"),
    ],
)
def test_bad_wecom_config_names_the_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        parse_settings({"wecom": {**GOOD, **change}}, env={})


def test_run_refuses_half_configured_wecom(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[wecom]\nenabled = true\ncorp_id = "ww1"\n', encoding="utf-8")
    assert main(["--config", str(config), "run"]) == 2
    assert "wecom.secret" in capsys.readouterr().err


def test_wecom_commands_need_wecom_enabled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[storage]\ndatabase = 'x.sqlite3'\n", encoding="utf-8")
    assert main(["--config", str(config), "wecom", "sync"]) == 2
    assert "[wecom]" in capsys.readouterr().err


@pytest.fixture
def fake(clock: FakeClock) -> Any:
    with FakeWeCom(clock=lambda: clock().timestamp()) as f:
        yield f


@pytest.fixture
async def api(fake: FakeWeCom, clock: FakeClock) -> Any:
    client = httpx.AsyncClient(transport=fake.transport())
    yield WeComAPI(
        base_url=fake.base_url,
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        client=client,
        clock=lambda: clock().timestamp(),
    )
    await client.aclose()


def _deps(settings: Any, db: Database, clock: FakeClock) -> Deps:
    return Deps(settings=settings, db=db, catalog=default_catalog(), clock=clock)


async def test_sync_maps_roster_phones_to_userids(
    settings: Any, db: Database, clock: FakeClock, seed: Seed, fake: FakeWeCom, api: WeComAPI
) -> None:
    add_members(fake, seed)
    del fake.members["inspector1"]  # not in the directory
    d = _deps(settings, db, clock)
    result = await identity.sync(d, api.get_userid)
    assert result.mapped == 11 and result.missing == [seed.phones["inspector1"]]
    account = await wecom.account_of(db, wecom.MEMBER, "cadre1")
    assert account is not None and account.phone == seed.phones["cadre1"]
    assert account.internal_id > 2**52  # beyond any Telegram id
    # Again: only the phone still unmapped is looked up.
    calls = len(fake.api_calls("user/getuserid"))
    again = await identity.sync(d, api.get_userid)
    assert again.mapped == 0 and len(fake.api_calls("user/getuserid")) == calls + 1
    # A failing lookup is counted and tried next time; nothing else changes.
    fake.fail_next("user/getuserid", -1, "system busy")
    failed = await identity.sync(d, api.get_userid)
    assert failed.failed == 1 and failed.mapped == 0


async def test_the_app_menu_is_valid_for_wecom(api: WeComAPI, fake: FakeWeCom) -> None:
    menu = app_menu(default_catalog(), "zh-CN")
    await api.create_menu(menu)
    assert fake.menu == menu
    keys = [b.get("key") for b in menu["button"]] + [
        s["key"] for b in menu["button"] for s in b.get("sub_button", [])
    ]
    assert {"/visit", "/problem", "/start", "/summary", "/help"} <= set(keys)


async def test_appchat_of_a_team(
    settings: Any, db: Database, clock: FakeClock, seed: Seed, fake: FakeWeCom, api: WeComAPI
) -> None:
    from storage import people

    add_members(fake, seed)
    d = _deps(settings, db, clock)
    assert await make_appchat(d, api, "T1") is None  # nobody joined through WeCom yet
    await identity.sync(d, api.get_userid)
    for key in ("captain1", "cadre1", "cadre2"):
        account = await wecom.account_of(db, wecom.MEMBER, key)
        assert account is not None
        await people.bind(db, seed.cadres[key], account.internal_id, "contact", clock())
    made = await make_appchat(d, api, "T1")
    assert made is not None
    name, chatid, members, kind = made
    assert (name, members, kind) == ("城关镇工作队", 3, "team")
    chat = fake.chats[chatid]
    assert chat.owner == "captain1" and sorted(chat.members) == ["cadre1", "cadre2", "captain1"]
    bound = await people.team_chat(db, seed.teams["T1"])
    assert bound is not None and bound.chat_id < -(2**52)


def test_member_window_holds_the_30th_message_of_a_minute() -> None:
    from bot.wecom.bridge import PER_HOUR, PER_MINUTE, MemberWindow

    now = [1000.0]
    w = MemberWindow(clock=lambda: now[0])
    for _ in range(PER_MINUTE):
        assert w.delay("u1") == 0.0
        w.sent.setdefault("u1", deque()).append(now[0])
        now[0] += 1.0
    assert w.delay("u1") == pytest.approx(60.0 - PER_MINUTE)  # until the first is a minute old
    assert w.delay("u2") == 0.0  # per member
    now[0] += 60.0
    assert w.delay("u1") == 0.0
    w.sent["u3"] = deque(now[0] - 3000 + i for i in range(PER_HOUR))
    assert w.delay("u3") == pytest.approx(600.0)  # the hour's limit: until the oldest ages out


def test_jobs_move_off_the_busy_hour_and_half_hour() -> None:
    from datetime import time

    from bot.wecom.channel import off_peak, paced_for_wecom

    assert off_peak(time(19, 30)) == time(19, 37) and off_peak(time(9, 0)) == time(9, 7)
    assert off_peak(time(9, 15)) == time(9, 15) and off_peak(time(23, 30)) == time(23, 37)
    s = paced_for_wecom(parse_settings({"wecom": GOOD}, env={}))
    assert s.reminders.evening_nudge == time(19, 37) and s.plans.remind_time == time(9, 15)
    assert s.reminders.quiet_start == time(21, 30)  # quiet hours stay as set
    assert s.outbox.chat_interval_seconds == 3.6
    late = parse_settings(
        {"wecom": GOOD, "reminders": {"evening_nudge": "20:30", "nudge_latest": "20:35"}},
        env={},
    )
    assert paced_for_wecom(late).reminders.evening_nudge == time(20, 30)  # kept before the latest
