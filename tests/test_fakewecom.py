"""The fake WeCom behaves like WeCom where the bot depends on it, and the API client
(bot/wecom/api.py) copes with it: tokens, validation, the one-update rule, media expiry,
per-member limits, and the callbacks' signatures, encryption and retries."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from bot.wecom.api import WeComAPI, WeComError
from bot.wecom.crypto import CryptoError, WeComCrypto
from bot.wecom.inbound import Inbound, InboundError, parse
from tests.fakewecom import (
    AES_KEY,
    AGENT_ID,
    CALLBACK_TOKEN,
    CODE_LIFE,
    CORP_ID,
    MEDIA_LIFE,
    PER_MINUTE,
    SECRET,
    TOKEN_LIFE,
    FakeWeCom,
    FakeWeComError,
    Forge,
)

BUTTONS = [{"text": "✅ 已解决", "key": "solve"}, {"text": "⏫ 上报", "key": "escalate"}]


def card(task_id: str = "p1-1", buttons: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "msgtype": "template_card",
        "template_card": {
            "card_type": "button_interaction",
            "main_title": {"title": "问题 #1 村道塌方"},
            "sub_title_text": "第一网格 · 反映人 张三",
            "task_id": task_id,
            "button_list": BUTTONS if buttons is None else buttons,
        },
    }


def text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


# -- a stand-in for the bot's callback server ---------------------------------------------


@dataclass
class Receiver:
    """Answers WeCom's callbacks like a bot would, and records what it understood."""

    crypto: WeComCrypto = field(
        default_factory=lambda: WeComCrypto(CALLBACK_TOKEN, AES_KEY, CORP_ID)
    )
    answers: list[int | str] = field(default_factory=list)  # next statuses; "drop" closes
    reply: bytes | None = None  # a plain passive reply to encrypt, if any
    got: list[Inbound] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    posts: int = 0
    url: str = ""


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        r: Receiver = self.server.receiver
        q = dict(parse_qsl(urlsplit(self.path).query))
        try:
            echo = r.crypto.verify_url(
                q.get("msg_signature", ""),
                q.get("timestamp", ""),
                q.get("nonce", ""),
                q.get("echostr", ""),
            )
        except CryptoError as exc:
            r.refused.append(exc.reason)
            self._send(403, b"")
            return
        self._send(200, echo)

    def do_POST(self) -> None:
        r: Receiver = self.server.receiver
        r.posts += 1
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = r.answers.pop(0) if r.answers else 200
        if answer == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        q = dict(parse_qsl(urlsplit(self.path).query))
        try:
            plain = r.crypto.decrypt_post(
                q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""), body
            )
            message = parse(plain)
        except (CryptoError, InboundError) as exc:
            r.refused.append(getattr(exc, "reason", "inbound"))
            self._send(200, b"")  # answered, so WeCom does not retry a forgery
            return
        if answer != 200:
            self._send(int(answer), b"")
            return
        r.got.append(message)
        out = b""
        if r.reply is not None:
            out = r.crypto.encrypt_reply(r.reply, q["timestamp"], q["nonce"])
        self._send(200, out)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ReceiverHandler)
    server.daemon_threads = True
    r = Receiver()
    server.receiver = r  # type: ignore[attr-defined]
    r.url = f"http://127.0.0.1:{server.server_address[1]}/wecom/callback"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield r
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake(receiver: Receiver) -> Iterator[FakeWeCom]:
    with FakeWeCom(callback_url=receiver.url) as f:
        f.add_member("zhangsan", mobile="13800000001", name="张三")
        f.add_member("lisi", mobile="13800000002", name="李四")
        f.add_member("wangwu", mobile="13800000003", name="王五")
        yield f


@pytest.fixture
async def api(fake: FakeWeCom) -> AsyncIterator[WeComAPI]:
    client = WeComAPI(
        base_url=fake.base_url, corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID, clock=fake.now
    )
    yield client
    await client.close()


# -- tokens ---------------------------------------------------------------------------------


async def test_wrong_secret_or_corp_is_a_configuration_error(fake: FakeWeCom) -> None:
    for corp, secret, code in [(CORP_ID, "nope", 40001), ("wwother", SECRET, 40013)]:
        client = WeComAPI(base_url=fake.base_url, corp_id=corp, secret=secret, agent_id=AGENT_ID)
        with pytest.raises(WeComError) as exc:
            await client.send("zhangsan", text("hi"))
        assert exc.value.errcode == code and exc.value.bad_credentials
        assert "nope" not in str(exc.value)
        await client.close()
    assert fake.texts("zhangsan") == []


async def test_token_is_cached_until_it_expires(fake: FakeWeCom, api: WeComAPI) -> None:
    await api.send("zhangsan", text("一"))
    await api.send("zhangsan", text("二"))
    assert fake.token_fetches == 1
    fake.advance(TOKEN_LIFE)
    await api.send("zhangsan", text("三"))
    assert fake.token_fetches == 2
    assert fake.texts("zhangsan") == ["一", "二", "三"]


async def test_a_refused_token_is_fetched_again_once(fake: FakeWeCom, api: WeComAPI) -> None:
    await api.send("zhangsan", text("一"))
    fake.expire_tokens()  # WeCom expired it early; the client still thinks it is good
    await api.send("zhangsan", text("二"))
    assert fake.token_fetches == 2
    assert [c.errcode for c in fake.api_calls("message/send")] == [0, 42001, 0]
    fake.fail_next("message/send", 40014, times=2)
    with pytest.raises(WeComError) as exc:
        await api.send("zhangsan", text("三"))
    assert exc.value.token_expired
    assert fake.token_fetches == 3  # one refresh, not a loop
    assert fake.texts("zhangsan") == ["一", "二"]


async def test_concurrent_calls_share_one_token_fetch(fake: FakeWeCom) -> None:
    http = httpx.AsyncClient(transport=fake.transport())
    client = WeComAPI(
        base_url="http://wecom.test",
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        client=http,
        clock=fake.now,
    )
    await asyncio.gather(*(client.send(u, text("hi")) for u in ("zhangsan", "lisi", "wangwu")))
    assert fake.token_fetches == 1
    fake.expire_tokens()
    await asyncio.gather(*(client.send(u, text("again")) for u in ("zhangsan", "lisi")))
    assert fake.token_fetches == 2  # both were refused; one fetched, the other reused it
    assert fake.texts("lisi") == ["hi", "again"]
    await http.aclose()


async def test_no_secret_or_token_reaches_the_log(
    fake: FakeWeCom, api: WeComAPI, caplog: pytest.LogCaptureFixture
) -> None:
    # Another test's logging set-up may have quietened httpx: hear it at DEBUG here.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="httpx"):
        await api.send("zhangsan", text("hi"))
        fake.expire_tokens()
        await api.send("zhangsan", text("again"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "access_token=" in logged  # httpx did log the URLs ...
    assert SECRET not in logged
    for token in fake.tokens:
        assert token not in logged  # ... with the token masked
    assert SECRET not in repr(api)


async def test_rate_limit_and_busy_errors_say_so(fake: FakeWeCom, api: WeComAPI) -> None:
    for code, attr in [(45009, "rate_limited"), (45033, "rate_limited"), (-1, "retryable")]:
        fake.fail_next("message/send", code)
        with pytest.raises(WeComError) as exc:
            await api.send("zhangsan", text("x"))
        assert getattr(exc.value, attr) and exc.value.retryable
    assert fake.texts("zhangsan") == []


# -- message/send ---------------------------------------------------------------------------


async def test_text_and_markdown_limits(fake: FakeWeCom, api: WeComAPI) -> None:
    exact = "问" * 682 + "ab"  # 2048 bytes
    await api.send("zhangsan", text(exact))
    await api.send("zhangsan", {"msgtype": "markdown", "markdown": {"content": "**急**"}})
    for bad, code in [(exact + "c", 45002), ("", 44004)]:
        with pytest.raises(WeComError) as exc:
            await api.send("zhangsan", text(bad))
        assert exc.value.errcode == code
    with pytest.raises(WeComError) as exc:
        await api.send("zhangsan", {"msgtype": "sticker", "sticker": {}})
    assert exc.value.errcode == 40008
    assert fake.texts("zhangsan") == [exact, "**急**"]


async def test_unknown_members(fake: FakeWeCom, api: WeComAPI) -> None:
    with pytest.raises(WeComError) as exc:
        await api.send("stranger", text("hi"))
    assert exc.value.user_unknown
    answer = await api.send("zhangsan|stranger", text("hi"))
    assert answer["invaliduser"] == "stranger"
    assert fake.texts("zhangsan") == ["hi"]


async def test_another_agent_id_is_refused(fake: FakeWeCom) -> None:
    client = WeComAPI(base_url=fake.base_url, corp_id=CORP_ID, secret=SECRET, agent_id=7)
    with pytest.raises(WeComError) as exc:
        await client.send("zhangsan", text("hi"))
    assert exc.value.errcode == 40056
    await client.close()


async def test_button_cards_are_validated_like_wecom(fake: FakeWeCom, api: WeComAPI) -> None:
    six = [{"text": f"选项{i}", "key": f"k{i}"} for i in range(6)]
    answer = await api.send("zhangsan", card("t6", six))
    assert answer["response_code"] and answer["msgid"]
    bad_cards = [
        card("t7", six + [{"text": "第七", "key": "k6"}]),  # 7 buttons
        card("t0", []),
        card("tdup", [{"text": "a", "key": "k"}, {"text": "b", "key": "k"}]),
        card("tnokey", [{"text": "a"}]),
        card("t6"),  # task_id used before
        card("bad task id!"),
        {"msgtype": "template_card", "template_card": {"card_type": "button_interaction"}},
    ]
    for bad in bad_cards:
        with pytest.raises(WeComError):
            await api.send("zhangsan", bad)
    assert [c.task_id for c in fake.cards("zhangsan")] == ["t6"]


async def test_a_card_with_buttons_needs_a_callback_url() -> None:
    with FakeWeCom() as fake:
        fake.add_member("zhangsan")
        client = WeComAPI(base_url=fake.base_url, corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID)
        with pytest.raises(WeComError) as exc:
            await client.send("zhangsan", card())
        assert exc.value.errcode == 43012
        await client.close()


# -- the one-update rule ------------------------------------------------------------------


async def test_each_response_code_updates_once(
    fake: FakeWeCom, api: WeComAPI, receiver: Receiver
) -> None:
    sent = await api.send("zhangsan", card("p1-1"))
    # A press brings a fresh code; the send's own code is a different one.
    delivery = await fake.press("zhangsan", "p1-1", "solve")
    assert delivery is not None and delivery.ok
    press = receiver.got[-1]
    assert (press.kind, press.task_id, press.event_key) == ("card_press", "p1-1", "solve")
    assert press.response_code and press.response_code != sent["response_code"]
    new = card("p1-1", [{"text": "重新打开", "key": "reopen"}])["template_card"]
    await api.update_template_card(["zhangsan"], press.response_code, {"template_card": new})
    now = fake.card("zhangsan", "p1-1")
    assert now is not None and now.keys == ["reopen"] and now.buttons_enabled
    with pytest.raises(WeComError) as exc:
        await api.update_template_card(["zhangsan"], press.response_code, {"template_card": new})
    assert exc.value.response_code_spent
    # The send's code is still good, once: grey the buttons out.
    await api.update_template_card(
        ["zhangsan"], sent["response_code"], {"button": {"replace_name": "已解决"}}
    )
    greyed = fake.card("zhangsan", "p1-1")
    assert greyed is not None and not greyed.buttons_enabled and greyed.replace_name == "已解决"
    # A greyed-out card cannot be pressed: nothing reaches the bot.
    posts = receiver.posts
    assert await fake.press("zhangsan", "p1-1", "reopen") is None
    assert await fake.press("zhangsan", "no-such-task", "solve") is None
    assert await fake.press("lisi", "p1-1", "solve") is None  # not her card
    assert receiver.posts == posts


async def test_response_codes_expire_after_72_hours(
    fake: FakeWeCom, api: WeComAPI, receiver: Receiver
) -> None:
    sent = await api.send("zhangsan", card("p2-1"))
    fake.advance(CODE_LIFE - 1)
    delivery = await fake.press("zhangsan", "p2-1", "escalate")
    assert delivery is not None
    fake.advance(1)
    with pytest.raises(WeComError) as exc:
        await api.update_template_card(
            ["zhangsan"], sent["response_code"], {"button": {"replace_name": "x"}}
        )
    assert exc.value.response_code_spent and "expired" in exc.value.errmsg
    fresh = receiver.got[-1].response_code
    assert fresh is not None
    await api.update_template_card(["zhangsan"], fresh, {"button": {"replace_name": "已上报"}})
    with pytest.raises(WeComError) as exc:
        await api.update_template_card(["zhangsan"], "made-up", {"button": {"replace_name": "x"}})
    assert exc.value.response_code_spent


# -- app chats --------------------------------------------------------------------------------


async def test_appchat_takes_notices_but_no_cards(fake: FakeWeCom, api: WeComAPI) -> None:
    with pytest.raises(WeComError) as exc:
        await api.create_appchat("第一网格", "zhangsan", ["zhangsan"])
    assert exc.value.errcode == 40035
    with pytest.raises(WeComError):
        await api.create_appchat("第一网格", "zhangsan", ["zhangsan", "stranger"])
    chatid = await api.create_appchat("第一网格", "zhangsan", ["zhangsan", "lisi"], "team1")
    assert chatid == "team1"
    with pytest.raises(WeComError):
        await api.create_appchat("again", "zhangsan", ["zhangsan", "lisi"], "team1")
    await api.send_appchat(chatid, text("问题 #1 已解决"))
    await api.send_appchat(chatid, {"msgtype": "markdown", "markdown": {"content": "**周报**"}})
    with pytest.raises(WeComError) as exc:
        await api.send_appchat(chatid, card("p3-1"))
    assert exc.value.errcode == 40008
    with pytest.raises(WeComError) as exc:
        await api.send_appchat("nochat", text("x"))
    assert exc.value.errcode == 40050
    assert [m.text for m in fake.appchat_messages(chatid)] == ["问题 #1 已解决", "**周报**"]
    assert fake.texts("zhangsan") == []  # a chat's message is not a private one


# -- media ------------------------------------------------------------------------------------


async def test_media_round_trip_and_expiry(fake: FakeWeCom, api: WeComAPI) -> None:
    data = b"PK\x03\x04" + b"x" * 100
    media_id = await api.upload_media("file", "第一网格台账.xlsx", data)
    await api.send("zhangsan", {"msgtype": "file", "file": {"media_id": media_id}})
    got, name, ctype = await api.get_media(media_id)
    assert (got, name) == (data, "第一网格台账.xlsx")
    assert ctype.startswith("application/vnd.openxmlformats")
    with pytest.raises(WeComError):  # a file's id is not an image's
        await api.send("zhangsan", {"msgtype": "image", "image": {"media_id": media_id}})
    fake.advance(MEDIA_LIFE)
    with pytest.raises(WeComError) as exc:
        await api.get_media(media_id)
    assert exc.value.media_expired
    with pytest.raises(WeComError) as exc:
        await api.send("zhangsan", {"msgtype": "file", "file": {"media_id": media_id}})
    assert exc.value.media_expired
    with pytest.raises(ValueError):
        await api.upload_media("sticker", "a", b"12345")
    with pytest.raises(WeComError):
        await api.upload_media("image", "empty.jpg", b"")


async def test_a_members_photo_is_media_the_bot_can_fetch(
    fake: FakeWeCom, api: WeComAPI, receiver: Receiver
) -> None:
    photo = b"\xff\xd8\xff" + b"j" * 50
    delivery = await fake.image("zhangsan", photo)
    assert delivery.ok
    got = receiver.got[-1]
    assert got.kind == "image" and got.media_id
    data, _, ctype = await api.get_media(got.media_id)
    assert (data, ctype) == (photo, "image/jpeg")
    await fake.voice("zhangsan", b"#!AMR\n" + b"v" * 20)
    assert receiver.got[-1].kind == "voice" and receiver.got[-1].format == "amr"
    await fake.location("zhangsan", 28.2, 112.9, "某某村")
    loc = receiver.got[-1]
    assert (loc.kind, loc.latitude, loc.longitude, loc.label) == ("location", 28.2, 112.9, "某某村")
    fake.advance(MEDIA_LIFE)
    with pytest.raises(WeComError) as exc:
        await api.get_media(got.media_id)
    assert exc.value.media_expired


# -- directory and menu -----------------------------------------------------------------------


async def test_getuserid_maps_a_mobile(api: WeComAPI) -> None:
    assert await api.get_userid("13800000002") == "lisi"
    assert await api.get_userid("13999999999") is None


async def test_menu_is_validated_and_clickable(
    fake: FakeWeCom, api: WeComAPI, receiver: Receiver
) -> None:
    item = {"type": "click", "name": "走访", "key": "visit"}
    with pytest.raises(WeComError) as exc:
        await api.create_menu({"button": [item] * 4})
    assert exc.value.errcode == 40016
    with pytest.raises(WeComError):
        await api.create_menu({"button": [{"type": "click", "name": "超" * 6, "key": "k"}]})
    await api.create_menu(
        {
            "button": [
                item,
                {"name": "问题", "sub_button": [{"type": "click", "name": "反映", "key": "raise"}]},
            ]
        }
    )
    await fake.menu_click("zhangsan", "raise")
    assert (receiver.got[-1].kind, receiver.got[-1].event_key) == ("menu_click", "raise")
    with pytest.raises(FakeWeComError):
        await fake.menu_click("zhangsan", "nope")
    await fake.enter("lisi")
    assert receiver.got[-1].kind == "enter_agent"


# -- per-member limits ------------------------------------------------------------------------


async def test_the_excess_over_30_a_minute_is_silently_dropped(fake: FakeWeCom) -> None:
    http = httpx.AsyncClient(transport=fake.transport())
    client = WeComAPI(
        base_url="http://wecom.test",
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        client=http,
        clock=fake.now,
    )
    for i in range(PER_MINUTE + 2):
        answer = await client.send("zhangsan", text(f"第{i}条"))
        assert answer["errcode"] == 0  # WeCom says ok even for the dropped ones
    assert len(fake.texts("zhangsan")) == PER_MINUTE
    assert [(d.userid, d.limit) for d in fake.drops] == [("zhangsan", "minute")] * 2
    await client.send("lisi", text("别人不受影响"))
    assert fake.texts("lisi") == ["别人不受影响"]
    fake.advance(60)
    await client.send("zhangsan", text("一分钟后"))
    assert fake.texts("zhangsan")[-1] == "一分钟后"
    # 1000 an hour: 30 a minute for 33 more minutes reaches it.
    for _ in range(33):
        fake.advance(60)
        for _ in range(PER_MINUTE):
            await client.send("zhangsan", text("x"))
    delivered = len(fake.texts("zhangsan"))
    assert delivered == 1000
    assert fake.drops[-1].limit == "hour"
    await http.aclose()


# -- callbacks --------------------------------------------------------------------------------


async def test_a_text_reaches_the_callback_signed_and_encrypted(
    fake: FakeWeCom, receiver: Receiver
) -> None:
    delivery = await fake.text("zhangsan", "村道塌方，需要尽快处理 <急>")
    assert delivery.ok and delivery.attempts == 1
    got = receiver.got[-1]
    assert (got.kind, got.text, got.user_id, got.corp_id) == (
        "text",
        "村道塌方，需要尽快处理 <急>",
        "zhangsan",
        CORP_ID,
    )
    assert got.agent_id == AGENT_ID and got.dedupe_key.startswith("msg:")
    assert b"zhangsan" not in delivery.body  # the envelope shows nothing of the message


async def test_callbacks_are_retried_up_to_three_times(fake: FakeWeCom, receiver: Receiver) -> None:
    receiver.answers = [500, "drop", 200]
    delivery = await fake.text("zhangsan", "一")
    assert delivery.statuses == [500, None, 200] and delivery.ok
    receiver.answers = [503, 503, 503, 503]
    delivery = await fake.text("zhangsan", "二")
    assert delivery.statuses == [503, 503, 503, 503] and not delivery.ok
    assert [m.text for m in receiver.got] == ["一"]


async def test_a_slow_answer_counts_as_none() -> None:
    """No answer within the timeout is a retry, as WeCom does after 5 s (shortened here)."""
    gate = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            gate.wait(60)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/cb"
    with FakeWeCom(callback_url=url, callback_timeout=0.05, retries=1) as fake:
        fake.add_member("zhangsan")
        delivery = await fake.text("zhangsan", "hi")
    gate.set()
    server.shutdown()
    server.server_close()
    assert delivery.statuses == [None, None]


async def test_retries_and_replays_share_a_dedupe_key(fake: FakeWeCom, receiver: Receiver) -> None:
    delivery = await fake.text("zhangsan", "一")
    again = await fake.replay(delivery)
    assert again.body == delivery.body and again.query == delivery.query
    assert receiver.got[0].dedupe_key == receiver.got[1].dedupe_key
    await fake.press("zhangsan", "none", "x")  # nothing
    await fake.enter("zhangsan")
    await fake.replay(fake.deliveries[-1])
    assert receiver.got[-1].dedupe_key == receiver.got[-2].dedupe_key


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (Forge(bad_signature=True), "signature"),
        (Forge(token="another-token"), "signature"),
        (Forge(corp_id="wwanothercorp000000"), "receive_id"),
        (Forge(aes_key="B" * 43), None),  # padding, format or receive id: refused either way
    ],
)
async def test_forged_callbacks_are_refused(
    fake: FakeWeCom, receiver: Receiver, forge: Forge, reason: str | None
) -> None:
    await fake.text("zhangsan", "伪造", forge=forge)
    assert receiver.got == []
    assert len(receiver.refused) == 1
    if reason:
        assert receiver.refused == [reason]


async def test_another_agent_or_a_stale_time_is_visible_to_the_bot(
    fake: FakeWeCom, receiver: Receiver
) -> None:
    await fake.text("zhangsan", "别的应用", forge=Forge(agent_id=5))
    assert receiver.got[-1].agent_id == 5  # the bot compares it with its own
    await fake.text("zhangsan", "旧的", forge=Forge(timestamp=1_000_000_000))
    assert receiver.got[-1].create_time == 1_000_000_000


async def test_hostile_raw_posts_get_an_answer(fake: FakeWeCom, receiver: Receiver) -> None:
    status, _ = await fake.post_raw({"msg_signature": "x"}, b"<xml><Encrypt>!!</Encrypt></xml>")
    assert status == 200 and receiver.refused == ["signature"]


async def test_url_verification(fake: FakeWeCom, receiver: Receiver) -> None:
    status, answer, echo = await fake.verify_url()
    assert (status, answer) == (200, echo)
    status, answer, echo = await fake.verify_url(Forge(bad_signature=True))
    assert status == 403 and answer != echo


async def test_a_passive_reply_reaches_the_member(fake: FakeWeCom, receiver: Receiver) -> None:
    receiver.reply = (
        "<xml><ToUserName><![CDATA[zhangsan]]></ToUserName>"
        f"<FromUserName><![CDATA[{CORP_ID}]]></FromUserName><CreateTime>1</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[收到]]></Content></xml>"
    ).encode()
    delivery = await fake.text("zhangsan", "在吗")
    assert delivery.reply is not None and delivery.reply_error is None
    (got,) = fake.inbox("zhangsan")
    assert got.passive and got.text == "收到"


def test_a_fake_on_the_tests_clock_is_moved_by_it() -> None:
    moment = [1_800_000_000.0]
    fake = FakeWeCom(clock=lambda: moment[0])
    try:
        assert fake.now() == 1_800_000_000.0
        moment[0] += 10
        assert fake.now() == 1_800_000_010.0
        with pytest.raises(FakeWeComError):
            fake.advance(1)
    finally:
        fake.stop()


async def test_strangers_cannot_post(fake: FakeWeCom) -> None:
    with pytest.raises(FakeWeComError):
        await fake.text("stranger", "hi")
