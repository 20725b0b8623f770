"""A step's three calls (handlers/screen: send, edit, answer a press) hand their plain
JSON straight to the connection instead of through ``do_api_request``: the same request
reaches the connection, the same errors come back, the rate limiter sees the same call,
and without a rate limiter the call goes out all the same."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest
from telegram.error import TelegramError
from telegram.ext import ApplicationBuilder, BaseRateLimiter
from telegram.request import RequestData

from handlers import screen
from tests.fakebot import TOKEN, OfflineRequest

ME = {"id": 1, "is_bot": True, "first_name": "bot", "username": "bot"}


class Canned(OfflineRequest):
    """Answers every call with ``answer``; records what was sent."""

    timeout = None

    def __init__(self) -> None:
        self.answer: tuple[int, bytes] = (200, b'{"ok":true,"result":true}')
        self.sent: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.data: list[RequestData] = []  # what each call handed the connection

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *a: Any, **k: Any
    ) -> tuple[int, bytes]:
        if url.endswith("/getMe"):
            return 200, json.dumps({"ok": True, "result": ME}).encode()
        assert request_data is not None
        self.sent.append((url, request_data.parameters, request_data.json_parameters))
        self.data.append(request_data)
        return self.answer


class Recording(BaseRateLimiter[int]):
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any], int | None]] = []

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        self.seen.append((endpoint, dict(data), rate_limit_args))
        return await callback(*args, **kwargs)


async def _bot(limited: bool = True) -> tuple[Any, Canned, Recording]:
    request, limiter = Canned(), Recording()
    builder = ApplicationBuilder().token(TOKEN).request(request).get_updates_request(request)
    if limited:
        builder = builder.rate_limiter(limiter)
    app = builder.build()
    await app.initialize()
    del limiter.seen[:]
    return app.bot, request, limiter


def _library_params(text: str | None, alert: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"callback_query_id": "42"}
    if text is not None:
        params["text"] = text
    if alert:
        params["show_alert"] = True
    return params


def _meaning(json_parameters: dict[str, str], parameters: dict[str, Any]) -> dict[str, Any]:
    """What Telegram reads of the form fields: a str parameter as it is, any other one's
    JSON decoded (ours is orjson's compact JSON, the library's ``json.dumps``'s)."""
    assert json_parameters.keys() == parameters.keys()
    return {
        k: v if isinstance(parameters[k], str) else json.loads(v)
        for k, v in json_parameters.items()
    }


def _same_call(ours: tuple[str, dict[str, Any], dict[str, str]], theirs: Any) -> None:
    """The same method and parameters, with form fields that mean the same."""
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert _meaning(ours[2], ours[1]) == _meaning(theirs[2], theirs[1])


@pytest.mark.parametrize(
    ("text", "alert"), [(None, False), ("已提交", False), ("草稿已关闭", True)]
)
async def test_the_same_request(text: str | None, alert: bool) -> None:
    bot, request, limiter = await _bot()
    await bot.do_api_request("answerCallbackQuery", _library_params(text, alert))
    await screen.answer(bot, "42", text, alert)
    _same_call(request.sent[1], request.sent[0])
    assert limiter.seen[1] == limiter.seen[0]


MARKUP = screen.inline([[screen.button("宣讲政策 ✓", "v:k:1"), screen.button("完成", "v:d")]])
MESSAGE = {"ok": True, "result": {"message_id": 7, "date": 0, "chat": {"id": 5, "type": "private"}}}


@pytest.mark.parametrize("limited", [True, False])
@pytest.mark.parametrize(
    ("thread", "reply_to", "markup"),
    [(None, None, None), (None, None, MARKUP), (12, 3, MARKUP), (None, 3, screen.REMOVE_KEYBOARD)],
)
async def test_the_same_send(
    limited: bool, thread: int | None, reply_to: int | None, markup: Any
) -> None:
    bot, request, limiter = await _bot(limited)
    request.answer = (200, json.dumps(MESSAGE).encode())
    params: dict[str, Any] = {"chat_id": 5, "text": "第 1 步：选地点 <b>&"}
    if markup is not None:
        params["reply_markup"] = markup
    if thread is not None:
        params["message_thread_id"] = thread
    if reply_to is not None:
        params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    await bot.do_api_request("sendMessage", params)
    assert await screen.send(bot, 5, params["text"], markup, thread, reply_to) == 7
    _same_call(request.sent[1], request.sent[0])
    assert limiter.seen[1:] == limiter.seen[:1] if limited else not limiter.seen


@pytest.mark.parametrize("markup", [None, MARKUP])
async def test_the_same_edit(markup: Any) -> None:
    bot, request, limiter = await _bot()
    request.answer = (200, json.dumps(MESSAGE).encode())
    params: dict[str, Any] = {"chat_id": 5, "message_id": 7, "text": "核对"}
    if markup is not None:
        params["reply_markup"] = markup
    await bot.do_api_request("editMessageText", params)
    await screen.edit(bot, 5, 7, "核对", markup)
    _same_call(request.sent[1], request.sent[0])
    assert limiter.seen[1] == limiter.seen[0]


def _refusal(code: int, description: str, **parameters: Any) -> tuple[int, bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, json.dumps(body).encode()


@pytest.mark.parametrize(
    "answer",
    [
        _refusal(400, "Bad Request: query is too old and response timeout expired"),
        _refusal(403, "Forbidden: bot was blocked by the user"),
        _refusal(429, "Too Many Requests: retry after 3", retry_after=3),
        (502, b"<html>Bad Gateway</html>"),
        (200, b"not json"),
    ],
)
async def test_the_same_errors(answer: tuple[int, bytes]) -> None:
    bot, request, _ = await _bot()
    request.answer = answer
    with pytest.raises(TelegramError) as theirs:
        await bot.do_api_request("answerCallbackQuery", _library_params("x", True))
    with pytest.raises(TelegramError) as ours:
        await screen.answer(bot, "42", "x", True)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


async def test_the_request_reads_the_same() -> None:
    """What a connection may read of the request (the documented face of RequestData:
    HTTPXRequest, bot/keepalive.py) means what the library's does: the same fields,
    each with the same JSON (compact here, with spaces and escapes there)."""
    bot, request, _ = await _bot()
    request.answer = (200, json.dumps(MESSAGE).encode())
    params = {"chat_id": 5, "text": "第 1 步 & <b>", "reply_markup": MARKUP}
    await bot.do_api_request("sendMessage", params)
    await screen.send(bot, 5, params["text"], MARKUP)
    theirs, ours = request.data
    assert type(ours) is not RequestData
    assert ours.contains_files is theirs.contains_files is False
    assert ours.multipart_data == theirs.multipart_data == {}
    assert ours.parameters == theirs.parameters
    expected = _meaning(theirs.json_parameters, theirs.parameters)
    assert _meaning(ours.json_parameters, ours.parameters) == expected
    assert _meaning(json.loads(ours.json_payload), params) == expected
    for encoded in (
        ours.url_encoded_parameters(),
        ours.parametrized_url("u", {"safe": "/"}).removeprefix("u?"),
    ):
        fields = {k: v[0] for k, v in parse_qs(encoded, strict_parsing=True).items()}
        assert _meaning(fields, params) == expected
    assert ours.parametrized_url("u").startswith("u?")
