"""The real `fieldbot run` as a process with only [wecom] configured (no Telegram token),
against the fake WeCom over HTTP: the app menu is set, a member's first message joins
them and is answered, SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from storage.db import open_database
from tests.botprocess import ROOT, reminders_config
from tests.factories import seed_roster
from tests.fakewecom import AES_KEY, AGENT_ID, CALLBACK_TOKEN, CORP_ID, SECRET, FakeWeCom
from tests.wecom_world import add_members

pytestmark = pytest.mark.sqlite_only("a real process on a database file")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


WAIT = 60.0  # seconds a start or an answer may take on a loaded machine


async def _until(check: Callable[[], Awaitable[bool]]) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + WAIT
    while loop.time() < end:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


def _config(folder: Path, api: str, port: int) -> Path:
    config = folder / "config.toml"
    config.write_text(
        "[storage]\n"
        f'database = "{folder / "fieldbot.sqlite3"}"\n'
        f'backup_dir = "{folder / "backups"}"\n'
        "\n[wecom]\nenabled = true\n"
        f'corp_id = "{CORP_ID}"\nagent_id = {AGENT_ID}\nsecret = "{SECRET}"\n'
        f'token = "{CALLBACK_TOKEN}"\nencoding_aes_key = "{AES_KEY}"\n'
        f'listen = "127.0.0.1"\nport = {port}\npath = "wecom"\napi_base_url = "{api}"\n'
        + reminders_config("day"),
        encoding="utf-8",
    )
    return config


async def test_fieldbot_run_serves_wecom_alone(tmp_path: Path) -> None:
    async with open_database(str(tmp_path / "fieldbot.sqlite3")) as db:
        seed = await seed_roster(db)
    port = _free_port()
    with FakeWeCom(clock=time.time) as fake:  # the process reads the real clock
        config = _config(tmp_path, fake.base_url, port)
        fake.callback_url = f"http://127.0.0.1:{port}/wecom"
        add_members(fake, seed)
        log = (tmp_path / "bot.log").open("ab")
        env = {"PYTHONUNBUFFERED": "1", "PATH": "/usr/bin:/bin"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "--config",
            str(config),
            "run",
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:

            async def listening() -> bool:
                if proc.returncode is not None:
                    raise AssertionError((tmp_path / "bot.log").read_text())
                try:
                    status, _, _ = await fake.verify_url()
                except Exception:
                    return False
                return status == 200

            assert await _until(listening), (tmp_path / "bot.log").read_text()
            assert fake.menu is not None  # the app menu, set at start
            delivery = await fake.text("cadre1", "/start")
            assert delivery.ok

            async def answered() -> bool:
                cards = [c.title for c in fake.cards("cadre1")]
                return any("张伟" in t for t in fake.texts("cadre1") + cards)

            assert await _until(answered), (tmp_path / "bot.log").read_text()
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), WAIT) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            log.close()
    text = (tmp_path / "bot.log").read_text()
    assert (
        SECRET not in text
        and CALLBACK_TOKEN not in text
        and "access_token=" not in text.replace("access_token=***", "")
    )
