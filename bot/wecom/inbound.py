"""One WeCom callback (a member's message or an event), parsed from its decrypted XML.

WeCom posts every message a member sends to the app, and every event (a template card's
button pressed, a menu item clicked, the member entering the app), as XML inside the
encrypted envelope that :mod:`bot.wecom.crypto` opens. :func:`parse` turns that XML into
an :class:`Inbound` value and refuses anything odd with :class:`InboundError`: a DTD or
entity declaration (no entity expansion, no external fetch), a body over
:data:`MAX_XML_BYTES`, a missing sender or time, a userid WeCom would never issue, a
location off the globe.

WeCom retries a callback that got no answer within 5 s up to 3 times, so the same
message can arrive more than once. :attr:`Inbound.dedupe_key` names it: ``msg:<MsgId>``
for messages, ``evt:<FromUserName>:<CreateTime>:<Event>[:<key>]`` for events (which
carry no MsgId; WeCom's own advice is FromUserName + CreateTime), where the key is the
menu key, or ``<TaskId>:<EventKey>`` for a card's button.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

# A decrypted callback is small (a text message is at most 2048 bytes of content); the
# bound keeps a forged or broken one from costing memory.
MAX_XML_BYTES = 64 * 1024

# WeCom's userid: 1 to 64 bytes of letters, digits and "_-@.".
_USERID = re.compile(r"[A-Za-z0-9_\-@.]{1,64}")
# "<!" opens a DTD, an entity or a comment; only CDATA sections are allowed.
_MARKUP_DECL = re.compile(rb"<!(?!\[CDATA\[)")

KINDS = (
    "text",
    "image",
    "voice",
    "location",
    "file",
    "video",
    "card_press",
    "menu_click",
    "enter_agent",
    "other",
)


class InboundError(ValueError):
    """The decrypted XML is not a callback this bot can read."""


@dataclass(frozen=True)
class Inbound:
    """One message or event, as WeCom sent it."""

    kind: str
    corp_id: str
    user_id: str
    create_time: int
    agent_id: int | None
    msg_id: str | None
    dedupe_key: str
    text: str | None = None
    media_id: str | None = None
    format: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    label: str | None = None
    event_key: str | None = None
    task_id: str | None = None
    response_code: str | None = None
    event: str | None = None  # the raw Event name for kind "other" events (LOCATION ...)


def safe_xml(data: bytes, limit: int = MAX_XML_BYTES) -> ET.Element:
    """Parse ``data`` as XML with no DTD, no entity declarations, bounded in size."""
    if not isinstance(data, bytes | bytearray):
        raise InboundError("not bytes")
    if len(data) > limit:
        raise InboundError(f"XML of {len(data)} bytes is over {limit}")
    if _MARKUP_DECL.search(data):
        raise InboundError("DTD, entity or comment in the XML")
    try:
        root = ET.fromstring(bytes(data))
    except ET.ParseError as exc:
        raise InboundError(f"not well-formed XML: {exc}") from None
    if root.tag != "xml":
        raise InboundError(f"root element <{root.tag}>, not <xml>")
    return root


def field(root: ET.Element, name: str) -> str | None:
    """The text of ``root``'s child ``name`` (CDATA included), or None when it is absent."""
    node = root.find(name)
    if node is None:
        return None
    return node.text or ""


def _required(root: ET.Element, name: str) -> str:
    value = field(root, name)
    if value is None or not value.strip():
        raise InboundError(f"<{name}> missing or empty")
    return value.strip()


def _optional(root: ET.Element, name: str) -> str | None:
    value = field(root, name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(value: str, name: str) -> int:
    if not re.fullmatch(r"[0-9]{1,19}", value):
        raise InboundError(f"<{name}> is not a number: {value[:40]!r}")
    return int(value)


def _coordinate(root: ET.Element, name: str, bound: float) -> float:
    raw = _required(root, name)
    try:
        value = float(raw)
    except ValueError:
        raise InboundError(f"<{name}> is not a number: {raw[:40]!r}") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise InboundError(f"<{name}> out of range: {raw[:40]!r}")
    return value


def parse(plain_xml: bytes) -> Inbound:
    """The callback in ``plain_xml`` (what :meth:`WeComCrypto.decrypt_post` returned)."""
    root = safe_xml(plain_xml)
    corp_id = _required(root, "ToUserName")
    user_id = _required(root, "FromUserName")
    if not _USERID.fullmatch(user_id):
        raise InboundError(f"FromUserName is not a WeCom userid: {user_id[:70]!r}")
    create_time = _int(_required(root, "CreateTime"), "CreateTime")
    msg_type = _required(root, "MsgType")
    agent_raw = _optional(root, "AgentID")
    agent_id = _int(agent_raw, "AgentID") if agent_raw is not None else None
    msg_id = _optional(root, "MsgId")
    if msg_id is not None and len(msg_id) > 128:
        raise InboundError("MsgId over 128 characters")
    head = Inbound(
        kind="other",
        corp_id=corp_id,
        user_id=user_id,
        create_time=create_time,
        agent_id=agent_id,
        msg_id=msg_id,
        dedupe_key=f"msg:{msg_id}" if msg_id else "",
    )
    if msg_type == "event":
        return _event(root, head)
    if msg_id is None:
        raise InboundError(f"a {msg_type[:40]!r} message without <MsgId>")
    if msg_type == "text":
        text = field(root, "Content")
        if text is None:
            raise InboundError("a text message without <Content>")
        return replace(head, kind="text", text=text)
    if msg_type in ("image", "voice", "video", "file"):
        return replace(
            head,
            kind=msg_type,
            media_id=_required(root, "MediaId"),
            format=_optional(root, "Format"),
            label=_optional(root, "Title") or _optional(root, "FileName"),
        )
    if msg_type == "location":
        return replace(
            head,
            kind="location",
            latitude=_coordinate(root, "Location_X", 90.0),
            longitude=_coordinate(root, "Location_Y", 180.0),
            label=_optional(root, "Label"),
        )
    return replace(head, event=msg_type[:64])


def _event(root: ET.Element, head: Inbound) -> Inbound:
    event = _required(root, "Event")
    if len(event) > 64:
        raise InboundError("<Event> over 64 characters")
    key = _optional(root, "EventKey")
    if key is not None and len(key) > 256:
        raise InboundError("<EventKey> over 256 characters")
    base = f"evt:{head.user_id}:{head.create_time}:{event}"
    own = head.dedupe_key  # "msg:<MsgId>" when WeCom gave the event one
    if event == "template_card_event":
        task_id = _required(root, "TaskId")
        if key is None:
            raise InboundError("a card event without <EventKey>")
        return replace(
            head,
            kind="card_press",
            dedupe_key=own or f"{base}:{task_id}:{key}",
            event_key=key,
            task_id=task_id,
            response_code=_optional(root, "ResponseCode"),
            event=event,
        )
    if event == "click":
        if key is None:
            raise InboundError("a menu click without <EventKey>")
        return replace(
            head, kind="menu_click", dedupe_key=own or f"{base}:{key}", event_key=key, event=event
        )
    if event == "enter_agent":
        return replace(head, kind="enter_agent", dedupe_key=own or base, event_key=key, event=event)
    return replace(
        head,
        kind="other",
        dedupe_key=own or (f"{base}:{key}" if key else base),
        event_key=key,
        event=event,
    )
