"""A fake Bot API over real HTTP, for running the bot as a separate process.

The bot reaches it through its ``base_url`` setting (``http://127.0.0.1:PORT/bot``).
Every method is answered by :meth:`tests.fakebot.FakeBotAPI.answer`, so the rules are
the ones the in-process tests use (empty text, text over 4096 characters, callback data
over 64 bytes ... are refused as Telegram refuses them). ``getUpdates`` is served here,
like Telegram: an update stays queued until a later call's ``offset`` confirms it, so
updates a killed bot fetched but never confirmed are delivered again after a restart;
a long poll returns as soon as an update arrives.

The server lives in the test process (a thread) and outlives every bot process, so what
the bot sent before a kill is still there after the restart. Tests drive it through its
control API (``/control/...``, see :class:`ControlClient`): queue a user's update, press a
button shown in a chat, read what the bot called, arm a SIGKILL at a chosen call.

Run it on its own to point a real bot at it by hand::

    python -m tests.fakeserver --port 8081
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import itertools
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakebot import TOKEN, ApiRefusal, Call, FakeBotAPI, StoredMessage

# Parameters whose value the Bot API receives JSON-encoded; every other one is text.
_JSON_PARAMS = {
    "reply_markup",
    "commands",
    "media",
    "entities",
    "caption_entities",
    "scope",
    "link_preview_options",
    "reply_parameters",
    "allowed_updates",
    "show_alert",
    "disable_notification",
    "protect_content",
    "drop_pending_updates",
    "offset",
    "limit",
    "timeout",
    "cache_time",
}
SHOWING = {
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendMediaGroup",
    "sendLocation",
    "sendVoice",
    "copyMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
}
MAX_BATCH = 100


@dataclass
class Logged:
    """One Bot API call as the server saw it."""

    seq: int
    method: str
    params: dict[str, Any]
    ok: bool
    error: str = ""
    message_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "params": self.params,
            "ok": self.ok,
            "error": self.error,
            "message_ids": self.message_ids,
        }


@dataclass
class FailPlan:
    """Answer the next ``times`` calls of ``method`` with an error instead of the result."""

    method: str
    status: int = 500
    description: str = "Internal Server Error"
    times: int = 1


@dataclass
class KillPlan:
    """SIGKILL ``pid`` when the ``nth`` matching call arrives, before or after answering it.

    ``before``: the call is lost, as if the process died just before sending it.
    ``after``: Telegram did it, but the bot never learns (no response is written)."""

    pid: int
    nth: int = 1
    method: str | None = None
    phase: str = "before"
    min_offset: int | None = None  # getUpdates only: a call confirming at least this id
    seen: int = 0

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.method is not None and method != self.method:
            return False
        if self.min_offset is not None and int(params.get("offset") or 0) < self.min_offset:
            return False
        self.seen += 1
        return self.seen >= self.nth


class FakeTelegram:
    """The server's state: the answering rules, the update queue, the call log."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.api = FakeBotAPI()
        self.cond = threading.Condition()
        self.pending: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self.confirmed = 0  # every update below this id was confirmed
        self.deliveries: dict[int, int] = {}
        self.log: list[Logged] = []
        self.polls = 0
        self.kill: KillPlan | None = None
        self.killed: list[int] = []
        self.failures: list[FailPlan] = []
        self.closing = False

    # --- the control side ----------------------------------------------------------------
    def post_update(self, update: dict[str, Any]) -> int:
        with self.cond:
            update = dict(update)
            if "update_id" not in update:
                update["update_id"] = next(self._update_ids)
            self.pending.append(update)
            self.pending.sort(key=lambda u: u["update_id"])
            self.cond.notify_all()
            return int(update["update_id"])

    def reserve_update_ids(self, after: int) -> None:
        """Keep new ids above ``after`` (a restarted server on a used database)."""
        with self.cond:
            nxt = next(self._update_ids)
            self._update_ids = itertools.count(max(nxt, after + 1))

    def find_button(self, chat_id: int, label: str) -> tuple[StoredMessage, str] | None:
        with self.cond:
            for stored in sorted(self.api.messages.values(), key=lambda m: -m.message_id):
                if stored.chat_id != chat_id or not stored.reply_markup:
                    continue
                for row in stored.reply_markup.get("inline_keyboard", []):
                    for b in row:
                        if label in b.get("text", "") and b.get("callback_data"):
                            return stored, str(b["callback_data"])
        return None

    def render(self, stored: StoredMessage) -> dict[str, Any]:
        with self.cond:
            return self.api.render(stored)

    def calls_since(
        self, since: int, wait: float = 0.0, chat_id: str | None = None
    ) -> list[Logged]:
        """Calls after seq ``since`` (to ``chat_id`` if given), waiting up to ``wait`` s for
        one to arrive."""

        def found() -> list[Logged]:
            calls = self.log[since:]  # seq is 1-based and dense
            if chat_id is not None:
                calls = [c for c in calls if str(c.params.get("chat_id")) == chat_id]
            return calls

        deadline = time.monotonic() + wait
        with self.cond:
            while not found() and not self.closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return found()

    def arm_kill(self, plan: KillPlan | None) -> None:
        with self.cond:
            self.kill = plan

    def fail_next(self, plan: FailPlan) -> None:
        with self.cond:
            self.failures.append(plan)

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait (woken by every call and update) until ``predicate()`` holds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.2))
            return True

    def state(self) -> dict[str, Any]:
        with self.cond:
            return {
                "pending": [u["update_id"] for u in self.pending],
                "confirmed": self.confirmed,
                "polls": self.polls,
                "calls": len(self.log),
                "deliveries": dict(self.deliveries),
                "killed": list(self.killed),
                "armed": self.kill is not None,
            }

    def reset(self) -> None:
        """Forget messages, calls and queued updates; update ids keep growing."""
        with self.cond:
            self.api = FakeBotAPI()
            self.pending.clear()
            self.deliveries.clear()
            self.log.clear()
            self.kill = None
            self.failures.clear()
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()

    # --- the Bot API side ----------------------------------------------------------------
    def _should_kill(self, method: str, params: dict[str, Any], phase: str) -> int | None:
        plan = self.kill
        if plan is None or plan.phase != phase or not plan.matches(method, params):
            return None
        self.kill = None
        self.killed.append(plan.pid)
        return plan.pid

    def bot_call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """Answer one call; ``None`` as the body means the bot was killed: write nothing."""
        with self.cond:
            pid = self._should_kill(method, params, "before")
            if pid is not None:
                _sigkill(pid)
                return 0, None
            if method == "getUpdates":
                result: Any = self._get_updates(params)
                if result is None:
                    return 0, None
                status, body = 200, {"ok": True, "result": result}
            else:
                status, body = self._answer(method, params)
            pid = self._should_kill(method, params, "after")
            if pid is not None:
                _sigkill(pid)
                return 0, None
            return status, body

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        call = Call(method, params)
        seq = len(self.log) + 1
        try:
            for plan in self.failures:
                if plan.method == method and plan.times > 0:
                    plan.times -= 1
                    raise ApiRefusal(plan.status, plan.description)
            # Telegram takes one answer per button press: FakeBotAPI.answer refuses a
            # second one.
            result = self.api.answer(call)
        except ApiRefusal as refusal:
            self.log.append(Logged(seq, method, params, False, refusal.description))
            self.cond.notify_all()
            body: dict[str, Any] = {
                "ok": False,
                "error_code": refusal.code,
                "description": refusal.description,
            }
            if refusal.extra:
                body["parameters"] = refusal.extra
            return refusal.code, body
        ids: list[int] = []
        for item in result if isinstance(result, list) else [result]:
            if isinstance(item, dict) and "message_id" in item:
                ids.append(int(item["message_id"]))
        if not ids and "message_id" in params:
            ids = [int(params["message_id"])]
        self.log.append(Logged(seq, method, params, True, message_ids=ids))
        self.cond.notify_all()
        return 200, {"ok": True, "result": result}

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Telegram's rules: ``offset`` confirms every update below it (they are gone for
        good); the rest is delivered again until confirmed. Waits up to ``timeout``."""
        self.polls += 1
        self.cond.notify_all()
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or MAX_BATCH), MAX_BATCH))
        timeout = float(params.get("timeout") or 0)
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
            self.confirmed = max(self.confirmed, offset)
        polls_at_start = self.polls
        deadline = time.monotonic() + timeout
        while not self.pending and not self.closing:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.cond.wait(min(left, 0.5))
            if self.polls != polls_at_start:
                # A newer getUpdates took over (Telegram answers the older one 409).
                return None
        batch = self.pending[:limit] if offset >= 0 else self.pending[offset:][:limit]
        for u in batch:
            self.deliveries[u["update_id"]] = self.deliveries.get(u["update_id"], 0) + 1
        self.cond.notify_all()
        return batch


def _sigkill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _decode_params(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _JSON_PARAMS:
            try:
                out[key] = json.loads(value)
                continue
            except ValueError:
                pass
        out[key] = value
    return out


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        data = json.loads(body)
        return data if isinstance(data, dict) else {}
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        raw: dict[str, str] = {}
        files: dict[str, Any] = {}
        for part in msg.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[str(name)] = {"file_name": part.get_filename(), "size": len(payload)}
            else:
                raw[str(name)] = payload.decode("utf-8")
        params = _decode_params(raw)
        for name, info in files.items():
            params.setdefault(name, info)
        return params
    pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    return _decode_params(dict(pairs))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None  # quiet; the call log is the record

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:  # the bot was killed while we answered
            pass

    def _body(self) -> tuple[str, bytes]:
        length = int(self.headers.get("Content-Length") or 0)
        return self.headers.get("Content-Type") or "", self.rfile.read(length)

    def do_GET(self) -> None:  # noqa: N802
        self._route()

    def do_POST(self) -> None:  # noqa: N802
        self._route()

    def _route(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        ctype, body = self._body()
        query = dict(urllib.parse.parse_qsl(url.query))
        fake = self.server.fake
        parts = url.path.strip("/").split("/")
        try:
            if parts[0] == "control" and len(parts) == 2:
                payload = json.loads(body) if body else {}
                status, answer = _control(fake, parts[1], query, payload)
                self._send(status, answer)
                return
            if len(parts) == 2 and parts[0].startswith("bot"):
                if parts[0][3:] != fake.token:
                    self._send(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                    return
                params = {**_decode_params(query), **_parse_body(ctype, body)}
                status, reply = fake.bot_call(parts[1], params)
                if reply is None:
                    self.close_connection = True
                    return
                self._send(status, reply)
                return
            self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        except Exception as exc:  # a bug in the fake must show up, not hang the bot
            self._send(500, {"ok": False, "error_code": 500, "description": repr(exc)})


def _control(
    fake: FakeTelegram, action: str, query: dict[str, str], payload: dict[str, Any]
) -> tuple[int, Any]:
    if action == "post_update":
        return 200, {"update_id": fake.post_update(payload)}
    if action == "press":
        found = fake.find_button(int(payload["chat_id"]), str(payload["label"]))
        if found is None:
            return 404, {"error": f"no button {payload['label']!r} in chat {payload['chat_id']}"}
        stored, data = found
        query_id = f"q{time.monotonic_ns()}"
        update = {
            "callback_query": {
                "id": query_id,
                "from": payload["user"],
                "chat_instance": f"ci{stored.chat_id}",
                "data": data,
                "message": fake.render(stored),
            }
        }
        return 200, {"update_id": fake.post_update(update), "data": data, "query_id": query_id}
    if action == "calls":
        since = int(query.get("since") or 0)
        calls = fake.calls_since(since, float(query.get("wait") or 0), query.get("chat_id"))
        with fake.cond:
            seq, confirmed = len(fake.log), fake.confirmed
        return 200, {"calls": [c.as_dict() for c in calls], "seq": seq, "confirmed": confirmed}
    if action == "sent":
        chat = query.get("chat_id")
        shown = [
            c.as_dict()
            for c in fake.calls_since(0)
            if c.ok and c.method in SHOWING and (chat is None or str(c.params["chat_id"]) == chat)
        ]
        return 200, {"calls": shown}
    if action == "state":
        return 200, fake.state()
    if action == "reset":
        fake.reset()
        return 200, {"ok": True}
    if action == "fail_next":
        fake.fail_next(FailPlan(**payload))
        return 200, {"ok": True}
    if action == "arm_kill":
        fake.arm_kill(KillPlan(**payload) if payload else None)
        return 200, {"ok": True}
    return 404, {"error": f"unknown control action {action!r}"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # A dispatcher sends many calls at once (tests/test_procs_process.py); the default
    # backlog of 5 resets connections under load, which the bot must take as "no answer".
    request_queue_size = 128
    fake: FakeTelegram


class FakeServer:
    """The HTTP server in a background thread, on 127.0.0.1 and a free port."""

    def __init__(self, token: str = TOKEN, port: int = 0) -> None:
        self.fake = FakeTelegram(token)
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self.fake
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.fake.close()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ControlClient:
    """The tests' side of the control API, over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.confirmed = 0  # the bot's confirmed offset, as of the last ``calls``
        self.last_query_id = ""

    def _call(
        self, action: str, payload: dict[str, Any] | None = None, **query: Any
    ) -> dict[str, Any]:
        q = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(payload or {}, ensure_ascii=False).encode()
        req = urllib.request.Request(
            f"{self.url}/control/{action}" + (f"?{q}" if q else ""),
            data=data,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as err:
            raise LookupError(json.loads(err.read()).get("error", str(err))) from None

    def post_update(self, update: dict[str, Any]) -> int:
        return int(self._call("post_update", update)["update_id"])

    def press(self, user: dict[str, Any], chat_id: int, label: str) -> int:
        """Press the newest button in ``chat_id`` whose text contains ``label``; the
        press's callback query id is kept in ``last_query_id``."""
        payload = {"user": user, "chat_id": chat_id, "label": label}
        got = self._call("press", payload)
        self.last_query_id = str(got["query_id"])
        return int(got["update_id"])

    def calls(
        self, since: int = 0, wait: float = 0.0, chat_id: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Calls after ``since`` (waiting up to ``wait`` s for one) and the new cursor."""
        got = self._call("calls", since=since, wait=wait, chat_id=chat_id)
        self.confirmed = int(got["confirmed"])
        return list(got["calls"]), int(got["seq"])

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        return list(self._call("sent", chat_id=chat_id)["calls"])

    def state(self) -> dict[str, Any]:
        return self._call("state")

    def reset(self) -> None:
        self._call("reset")

    def arm_kill(self, pid: int, **plan: Any) -> None:
        self._call("arm_kill", {"pid": pid, **plan})

    def fail_next(
        self, method: str, status: int = 500, description: str = "", times: int = 1
    ) -> None:
        plan = {"method": method, "status": status, "times": times}
        self._call("fail_next", {**plan, "description": description or "Internal Server Error"})

    def disarm(self) -> None:
        self._call("arm_kill", {})


def serve(argv: list[str] | None = None, ready: Callable[[FakeServer], None] | None = None) -> None:
    p = argparse.ArgumentParser(description="fake Bot API server for Fieldbot tests")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--token", default=TOKEN)
    args = p.parse_args(argv)
    server = FakeServer(args.token, args.port).start()
    print(f"fake Bot API on {server.base_url} (token {args.token.split(':')[0]}:...)")
    if ready is not None:
        ready(server)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    serve()
