"""The crash run: scripted members use the real bot process while it is killed.

Every member plays its script (tests/scripts.py) at the same time, like a person: an
action, then waiting for the bot to take it (its update confirmed) and for the answer
the script expects. Meanwhile the bot is killed with SIGKILL at seeded random points,
half of them at a chosen Bot API call (before the call is done, or after it is done but
before the bot hears back), half from outside at a random moment, and started again.

Afterwards :func:`verify` checks what the run must leave behind, and
:func:`log_problems` what its log must not hold.
"""

from __future__ import annotations

import json
import random
import re
import signal
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.botprocess import BotProcess
from tests.fakeserver import SHOWING, ControlClient, FakeServer
from tests.scripts import FLOWS, Expect, Press, PressFirst, Script, Send, ShareContact
from tests.updates import Updates

EXPECT_TIMEOUT = 45.0


@dataclass
class Player:
    script: Script
    pos: int = 0
    since: int = 0  # the call log cursor when the last action was posted
    last_update: int = 0
    waiting_since: float = 0.0
    failure: str | None = None

    @property
    def done(self) -> bool:
        return self.failure is not None or self.pos >= len(self.script.steps)


@dataclass
class Report:
    players: int
    actions: int
    kills: int
    starts: int
    seconds: float
    failures: list[str] = field(default_factory=list)
    posted: list[int] = field(default_factory=list)
    idle_kills: int = 0

    def summary(self) -> str:
        return (
            f"{self.players} members, {self.actions} actions, {self.kills} kills "
            f"({self.idle_kills} on an idle bot), "
            f"{self.starts} starts, {self.seconds:.1f} s, {len(self.failures)} failures"
        )


class CrashRun:
    def __init__(
        self,
        server: FakeServer,
        bot: BotProcess,
        scripts: Sequence[Script],
        *,
        kills: int,
        seed: int,
        expect_timeout: float = EXPECT_TIMEOUT,
    ) -> None:
        self.server = server
        self.bot = bot
        self.client = ControlClient(server.url)
        self.players = [Player(s) for s in scripts]
        self.rng = random.Random(seed)
        self.kills = kills
        self.expect_timeout = expect_timeout
        self.updates = Updates()
        self.shown: dict[int, list[tuple[int, str]]] = {}
        # A press's answer (an alert, e.g. "already submitted" for a Submit handled again
        # after a kill) is shown in the chat the button was in.
        self.query_chats: dict[str, int] = {}
        self.cursor = 0
        self.actions_posted = 0
        self.report = Report(len(self.players), 0, 0, 0, 0.0)
        total = sum(1 for p in self.players for s in p.script.steps if not isinstance(s, Expect))
        # Kill k happens when the run has posted its kill_points[k]-th action; the last
        # fifth is left free so that a kill still due has traffic to land in.
        span = range(1, max(total * 4 // 5, kills + 1))
        self.kill_points = sorted(self.rng.sample(span, kills))
        self._wall_kill_at: float | None = None
        self._kill_pending = False

    # --- the loop --------------------------------------------------------------------
    def run(self) -> Report:
        started = time.monotonic()
        _, self.cursor = self.client.calls(0)
        self.bot.start()
        while not all(p.done for p in self.players):
            for p in self.players:
                self._advance(p)
            calls, self.cursor = self.client.calls(self.cursor, wait=0.2)
            for c in calls:
                if c["ok"] and c["method"] in SHOWING:
                    chat = int(c["params"]["chat_id"])
                    text = str(c["params"].get("text") or c["params"].get("caption") or "")
                    self.shown.setdefault(chat, []).append((c["seq"], text))
                elif c["ok"] and c["method"] == "answerCallbackQuery":
                    query_chat = self.query_chats.get(str(c["params"].get("callback_query_id")))
                    text = str(c["params"].get("text") or "")
                    if query_chat is not None and text:
                        self.shown.setdefault(query_chat, []).append((c["seq"], text))
            self._kill_and_restart()
        self.client.disarm()
        # A kill that found no traffic left still happens, on the idle bot.
        while self._kill_pending or self.kill_points:
            self.report.idle_kills += 1
            self.kill_points = self.kill_points[1:] if not self._kill_pending else self.kill_points
            self.bot.kill()
            self._kill_and_restart()
        self.report.seconds = time.monotonic() - started
        self.report.kills = self.bot.kills
        self.report.starts = self.bot.starts
        self.report.failures = [p.failure for p in self.players if p.failure]
        return self.report

    def _kill_and_restart(self) -> None:
        if self.bot.running and self._wall_kill_at is not None:
            if time.monotonic() >= self._wall_kill_at:
                self._wall_kill_at = None
                self.client.disarm()
                self.bot.kill()
        if not self.bot.running:
            if self.bot.reap() != -signal.SIGKILL:
                raise AssertionError(
                    f"the bot exited by itself ({self.bot.proc and self.bot.proc.returncode}):\n"
                    + self.bot.log_tail()
                )
            self._kill_pending = False
            self.bot.start()

    def _maybe_arm_kill(self) -> None:
        if self._kill_pending or not self.kill_points:
            return
        if self.actions_posted < self.kill_points[0]:
            return
        self.kill_points.pop(0)
        self._kill_pending = True
        if self.rng.random() < 0.5:
            self.client.arm_kill(
                self.bot.pid,
                nth=self.rng.randint(1, 6),
                phase=self.rng.choice(["before", "after"]),
            )
        else:
            self._wall_kill_at = time.monotonic() + self.rng.uniform(0.0, 0.4)

    def _advance(self, p: Player) -> None:
        while not p.done:
            step = p.script.steps[p.pos]
            chat_default = p.script.member.user.id
            if isinstance(step, Expect):
                chat = chat_default if step.chat_id is None else step.chat_id
                seen = self.shown.get(chat, [])
                if any(seq > p.since and step.met_by(text) for seq, text in seen):
                    p.pos += 1
                    continue
                if time.monotonic() - p.waiting_since > self.expect_timeout:
                    texts = [t[:80] for seq, t in seen if seq > p.since]
                    p.failure = (
                        f"{p.script.member.name} step {p.pos}: no {step.any_of!r} in chat "
                        f"{chat} within {self.expect_timeout:.0f} s; shown since: {texts!r}"
                    )
                return
            if p.last_update and self.client.confirmed <= p.last_update:
                if time.monotonic() - p.waiting_since > self.expect_timeout:
                    p.failure = (
                        f"{p.script.member.name} step {p.pos}: update {p.last_update} "
                        f"was not taken within {self.expect_timeout:.0f} s"
                    )
                return  # a person waits until the bot took their last message
            p.since = self.cursor
            p.last_update = self._post(p, step)
            p.waiting_since = time.monotonic()
            p.pos += 1
            self.actions_posted += 1
            self.report.actions += 1
            self.report.posted.append(p.last_update)
            self._maybe_arm_kill()

    def _post(self, p: Player, step: Any) -> int:
        m = p.script.member
        u = self.updates
        if isinstance(step, Send):
            return self.client.post_update(u.text(m.user, step.text, step.chat_id))
        if isinstance(step, ShareContact):
            return self.client.post_update(u.contact(m.user, step.phone or m.phone, step.owner_id))
        if isinstance(step, Press | PressFirst):
            chat = m.user.id if step.chat_id is None else step.chat_id
            label = step.label if isinstance(step, Press) else ""
            update_id = self.client.press(m.user.as_dict(), chat, label)
            self.query_chats[self.client.last_query_id] = chat
            return update_id
        raise TypeError(step)


# --- what the run must leave behind ---------------------------------------------------

Query = Callable[[str, tuple[Any, ...]], list[Any]]


def sqlite_query(database: Path | str) -> Query:
    """Plain reads of the run's database: the SQLite file, or (a ``postgresql://``
    address) the PostgreSQL database, the same SQL either way (storage/pg.py)."""
    if str(database).startswith(("postgresql://", "postgres://")):
        return pg_query(str(database))

    def query(sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        conn = sqlite3.connect(database, timeout=10)
        try:
            return list(conn.execute(sql, params).fetchall())
        finally:
            conn.close()

    return query


def pg_query(url: str) -> Query:
    from storage.pg import reading

    def query(sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with reading(url) as conn:
            cur = conn.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()]

    return query


def verify(scripts: Sequence[Script], query: Query) -> list[str]:
    """Every member bound exactly once to their own account, languages as last chosen,
    each team chat bound, each flow's record there exactly once. Returns the problems."""
    problems: list[str] = []
    members = [s.member for s in scripts]
    bound = {
        cadre: tg
        for cadre, tg in query("SELECT cadre_id, telegram_user_id FROM telegram_bindings", ())
    }
    if len(bound) != len(members):
        problems.append(f"{len(bound)} bindings for {len(members)} members")
    for m in members:
        if bound.get(m.cadre_id) != m.user.id:
            problems.append(f"{m.name}: bound to {bound.get(m.cadre_id)}, not {m.user.id}")
        (audits,) = query(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'bind' AND subject = ?",
            (f"cadre:{m.cadre_id}",),
        )[0]
        if audits != 1:
            problems.append(f"{m.name}: bound {audits} times in the audit log")
    prefs = dict(query("SELECT telegram_user_id, lang FROM user_prefs", ()))
    for s in scripts:
        if prefs.get(s.member.user.id) != s.final_lang:
            problems.append(
                f"{s.member.name}: language {prefs.get(s.member.user.id)!r}, "
                f"expected {s.final_lang!r}"
            )
    chats = dict(query("SELECT team_id, chat_id FROM bound_chats WHERE kind = 'team'", ()))
    for s in scripts:
        if s.team_chat is not None and chats.get(s.member.team_id) != s.team_chat:
            problems.append(f"{s.member.name}: team chat {chats.get(s.member.team_id)}")
    office = [r[0] for r in query("SELECT chat_id FROM bound_chats WHERE kind = 'office'", ())]
    wanted = {s.office_chat for s in scripts if s.office_chat is not None}
    if wanted and office != sorted(wanted):
        problems.append(f"office chat {office}, expected {sorted(wanted)}")
    open_drafts = query("SELECT cadre_id, kind, step FROM drafts WHERE status = 'open'", ())
    for cadre_id, kind, step in open_drafts:
        problems.append(f"cadre {cadre_id}: a {kind} draft left open at step {step}")
    for s in scripts:
        for name in s.flows:
            (count,) = query(FLOWS[name].count_sql, (s.member.cadre_id,))[0]
            if count != 1:
                problems.append(f"{s.member.name}: {count} {name} records, expected 1")
            (drafted,) = query(FLOWS[name].draft_sql, (s.member.cadre_id,))[0]
            if drafted != 1:
                problems.append(
                    f"{s.member.name}: {drafted} {name} records from a submitted draft, expected 1"
                )
    return problems


UNFINISHED_OUTBOX = "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"


INTERRUPTED = "interrupted mid-send"


def verify_outbox(query: Query, sent: Sequence[tuple[str, int, str]]) -> list[str]:
    """Every queued message went out at most once, and every one not parked exactly once.
    ``sent``: (method, chat_id, text) of each call Telegram accepted. A send the
    dispatcher was killed in the middle of is parked, not sent again (docs/dispatch.md):
    it may have reached Telegram once or not at all, and stays for the office's /parked.
    A card's creating message is the documented exception: interrupted, it is sent again
    (parked, the card would freeze), so it may arrive once per try, never more.
    Items still pending, parked for any other reason, or sent twice or never (by their
    text in their chat) are reported."""
    problems: list[str] = []
    rows = query(
        "SELECT key, chat_id, method, payload, status, COALESCE(last_error, ''), card,"
        " attempts FROM outbox ORDER BY id",
        (),
    )
    for key, chat_id, method, payload, status, error, card, attempts in rows:
        if status in ("pending", "sending"):
            problems.append(f"outbox {key}: still {status}")
            continue
        if status == "parked" and INTERRUPTED not in error:
            problems.append(f"outbox {key}: parked ({error})")
            continue
        if status not in ("sent", "parked") or method != "sendMessage":
            continue  # superseded edits, dropped items; card edits are checked by text
        text = str(json.loads(payload).get("text", ""))
        times = sum(1 for m, c, t in sent if m == method and c == chat_id and t == text)
        most = max(1, int(attempts)) if card is not None else 1
        if times > most or (times == 0 and status == "sent"):
            problems.append(f"outbox {key}: sent {times} times")
    return problems


def parked_mid_send(query: Query) -> list[str]:
    """The outbox keys parked because a kill interrupted their send."""
    rows = query("SELECT key, COALESCE(last_error, '') FROM outbox WHERE status = 'parked'", ())
    return [key for key, error in rows if INTERRUPTED in error]


def unprocessed(posted: Sequence[int], query: Query) -> list[int]:
    done = {r[0] for r in query("SELECT update_id FROM processed_updates", ())}
    return [u for u in posted if u not in done]


_SEPARATORS = r"[\s\-().]*"


def phone_pattern(phone: str) -> re.Pattern[str]:
    """The 11 national digits of a mainland number, however they are spaced."""
    national = re.sub(r"\D", "", phone)[-11:]
    return re.compile(_SEPARATORS.join(national))


def log_problems(
    text: str, token: str, phones: Sequence[str], errors_too: bool = True
) -> list[str]:
    """Lines that leak the token or a full phone number, and (``errors_too``) lines that
    report an error or hold a traceback."""
    problems: list[str] = []
    secret = token.split(":", 1)[1]
    patterns = [phone_pattern(p) for p in phones]
    for n, line in enumerate(text.splitlines(), 1):
        if token in line or secret in line:
            problems.append(f"line {n} holds the token: {line[:120]}")
        if any(p.search(line) for p in patterns):
            problems.append(f"line {n} holds a full phone number: {line[:160]}")
        if errors_too and re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line):
            problems.append(f"line {n} reports an error: {line[:160]}")
    return problems
