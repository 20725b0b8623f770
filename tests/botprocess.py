"""The real bot as a separate process, talking HTTP to the fake Bot API server.

``BotProcess`` writes a config TOML into a folder (token, ``base_url`` pointing at the
fake server, a database file, ``rate_limit = false``), runs ``python -m bot.cli --config
... run``, waits until the bot polls, and kills it with SIGKILL or stops it with SIGTERM.
The stdout and stderr of every run go, appended, to one log file: the whole run's log.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakebot import TOKEN
from tests.fakeserver import FakeServer

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0


# The real process reads the real clock, so its quiet hours are set explicitly: none by
# day, or a window around the present moment for the night run (tests must pass at any
# hour, in or out of the configured 21:30-07:30).
DAY = "day"
NIGHT = "night"


def reminders_config(hours: str, tz: str = "Asia/Shanghai") -> str:
    """The [reminders] section for ``DAY`` (no quiet hours) or ``NIGHT`` (quiet hours
    from two hours ago to two hours ahead; nudges moved out of their way)."""
    if hours == DAY:
        return '\n[reminders]\nquiet_start = "00:00"\nquiet_end = "00:00"\n'
    now = datetime.now(ZoneInfo(tz))
    start = (now - timedelta(hours=2)).strftime("%H:%M")
    end = (now + timedelta(hours=2)).strftime("%H:%M")
    return (
        f'\n[reminders]\nquiet_start = "{start}"\nquiet_end = "{end}"\n'
        'evening_nudge = "00:00"\nnudge_latest = "00:01"\n'
    )


class BotDied(AssertionError):
    """The bot process exited on its own."""


def write_config(
    folder: Path,
    base: str,
    token: str = TOKEN,
    extra: str = "",
    telegram_extra: str = "",
    hours: str = DAY,
    database: Path | None = None,
    url: str = "",
) -> Path:
    config = folder / "config.toml"
    config.write_text(
        "[telegram]\n"
        f'token = "{token}"\n'
        f'base_url = "{base}/bot"\n'
        f'base_file_url = "{base}/file/bot"\n'
        "rate_limit = false\n" + telegram_extra + "\n[storage]\n"
        f'database = "{database or folder / "fieldbot.sqlite3"}"\n'
        + (f'url = "{url}"\n' if url else "")
        + f'backup_dir = "{folder / "backups"}"\n'
        + extra
        + reminders_config(hours),
        encoding="utf-8",
    )
    return config


class BotProcess:
    """Starts, kills and restarts ``fieldbot run`` against a FakeServer."""

    def __init__(
        self,
        folder: Path,
        server: FakeServer,
        *,
        token: str = TOKEN,
        verbose: bool = False,
        extra_config: str = "",
        telegram_config: str = "",
        hours: str = DAY,
        database: Path | None = None,  # several processes on one database (webhook mode)
        url: str = "",  # [storage] url: a PostgreSQL database instead of the file
    ) -> None:
        self.folder = folder
        self.server = server
        self.hours = hours
        self.config = write_config(
            folder, server.url, token, extra_config, telegram_config, hours, database, url
        )
        self.database = database or folder / "fieldbot.sqlite3"
        self.url = url
        self.log_path = folder / "bot.log"
        self.verbose = verbose
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._killed: set[int] = set()

    def command(self, *args: str) -> list[str]:
        verbose = ["-v"] if self.verbose else []
        return [sys.executable, "-m", "bot.cli", "--config", str(self.config), *verbose, *args]

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "FIELDBOT_TOKEN"}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def run_cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """A one-shot ``fieldbot`` command (migrate, invite ...), its output captured."""
        return subprocess.run(
            self.command(*args),
            cwd=ROOT,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start ``fieldbot run`` without waiting for it."""
        assert self.proc is None or self.proc.poll() is not None, "the bot is already running"
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts + 1} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command("run"),
                cwd=ROOT,
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.starts += 1
        return self.proc

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the bot and wait until it long-polls for updates."""
        fake = self.server.fake
        with fake.cond:
            polls_before = fake.polls
        proc = self.spawn()
        ok = fake.wait_until(lambda: fake.polls > polls_before or proc.poll() is not None, timeout)
        if proc.poll() is not None:
            raise BotDied(f"the bot exited with {proc.returncode}:\n{self.log_tail()}")
        if not ok:
            self.kill()
            raise AssertionError(f"the bot did not poll within {timeout} s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def kills(self) -> int:
        """How many runs ended by SIGKILL (ours or the fake server's)."""
        return len(self._killed)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self._killed.add(self.proc.pid)
        self.proc.wait(timeout=30)

    def reap(self, timeout: float = 30) -> int:
        """Wait for an exit the fake server caused (an armed kill)."""
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout)
        if code == -signal.SIGKILL:
            self._killed.add(self.proc.pid)
        return code

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as a service manager stops the bot; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the bot did not stop on SIGTERM") from None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_text().splitlines()[-lines:])

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read the bot's database (WAL: safe while the bot runs)."""
        if self.url:
            from storage.pg import reading

            with reading(self.url) as snapshot:
                return list(snapshot.execute(sql, params).fetchall())
        conn = sqlite3.connect(self.database, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return list(conn.execute(sql, params).fetchall())
        finally:
            conn.close()

    def __enter__(self) -> BotProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
