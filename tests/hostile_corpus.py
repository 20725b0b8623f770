"""Hostile input, as data: what people (and broken clients, and forgers) send a bot.

Each :class:`Case` builds one update from a :class:`Cast` (who is who in the test world)
and says how the bot must take it:

- ``answer``: a clear reply in that chat (a message, an edit or an alert with text);
- ``alert``: a button press answered with a short alert;
- ``ignore``: no call at all (nothing said, nothing answered);
- ``any``: a reply or silence, as long as nothing breaks.

Every case also must raise nothing (no error handler runs, the error text is never
shown) and change no row outside ``may_change``. The world each case meets: cadre1
joined (601), captain1 joined (602) with team chat -1001 bound, office1 joined (603), a
stranger not on the roster (699), an unbound group chat (-5005), and a language keyboard
the bot showed cadre1. The same cases run in-process (tests/test_hostile.py) and, a
sample, against the real process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakebot import BOT_USERNAME, TgUser
from tests.updates import Update, Updates

JOINED_ID, LEADER_ID, OFFICE_ID, STRANGER_ID = 601, 602, 603, 699
TEAM_CHAT, LOOSE_GROUP = -1001, -5005


@dataclass
class Cast:
    """The people, chats and things a case can use."""

    updates: Updates
    phones: dict[str, str]
    lang_keyboard: dict[str, Any]  # the message (as Telegram renders it) with lang buttons
    stranger_message: dict[str, Any]  # a message the bot sent the stranger
    joined: TgUser = field(default_factory=lambda: TgUser(JOINED_ID, "u601"))
    leader: TgUser = field(default_factory=lambda: TgUser(LEADER_ID, "u602"))
    office: TgUser = field(default_factory=lambda: TgUser(OFFICE_ID, "u603"))
    stranger: TgUser = field(default_factory=lambda: TgUser(STRANGER_ID, "u699"))


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Cast], Update]
    expect: str  # answer | alert | ignore | any
    may_change: frozenset[str] = frozenset()
    chat: int | None = None  # where the answer goes; None: the sender's private chat


CORPUS: list[Case] = []


def case(
    name: str,
    build: Callable[[Cast], Update],
    expect: str,
    may_change: tuple[str, ...] = (),
    chat: int | None = None,
) -> None:
    assert expect in {"answer", "alert", "ignore", "any"}, expect
    assert all(c.name != name for c in CORPUS), f"two cases named {name}"
    CORPUS.append(Case(name, build, expect, frozenset(may_change), chat))


# --- text, from a joined cadre and from a stranger, in their private chats -------------

TEXTS: dict[str, str] = {
    "empty": "",
    "space": " ",
    "newlines": "\n\n\n",
    "tab": "\t",
    "max_length": "字" * 4096,
    "over_limit": "字" * 4097,
    "huge": "x" * 20000,
    "nul": "\x00",
    "control_chars": "\x01\x02\x03\x07\x1b[31m",
    "zero_width": "\u200b\u200c\u200d\ufeff",
    "zero_width_command": "\u200b/start",
    "rtl_override": "\u202eevil\u202c",
    "rtl_arabic": "مرحبا بالعالم",
    "rtl_hebrew": "שלום עולם",
    "bidi_mix": "问题\u202e在村里\u202c end",
    "sql_drop": "'; DROP TABLE cadres; --",
    "sql_or": "1' OR '1'='1",
    "sql_delete": "Robert'); DELETE FROM telegram_bindings;--",
    "sql_union": "x' UNION SELECT phone FROM cadres --",
    "html_bold": "<b>bold</b>",
    "html_script": "<script>alert(1)</script>",
    "html_broken": "</code><pre>",
    "html_entity": "&lt;&amp;&gt; &#0;",
    "markdown": "*bold* _it_ `code` [link](http://example.com)",
    "markdown_fence": "```\ncode\n```",
    "markdown_v2_specials": "_*[]()~`>#+-=|{}.!",
    "backslashes": "\\\\\\",
    "format_braces": "{name} {0} {{}} {role!r}",
    "percent_format": "%s %d %(name)s",
    "emoji_only": "🔥",
    "emoji_many": "🙂" * 300,
    "emoji_family": "👨‍👩‍👧‍👦",
    "flag": "🇨🇳",
    "combining": "e\u0301\u0301\u0301\u0301",
    "surrogate_like": "\udcff".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    "json_like": '{"update_id": 1, "message": null}',
    "null_word": "null",
    "long_number": "9" * 400,
    "phone_in_text": "我的电话 13800000001",
    "fullwidth": "／ｓｔａｒｔ",
    "slash_only": "/",
    "double_slash": "//start",
    "slash_space": "/ start",
    "upper_command": "/START",
    "command_at_us": f"/start@{BOT_USERNAME}",
    "command_at_other_bot": "/start@otherbot",
    "bindteam_at_other_bot": "/bindteam@otherbot",
    "help_extra_args": "/help extra args here",
    "help_huge_args": "/help " + "x" * 4000,
    "lang_arg": "/lang fr",
    "lang_sql_arg": "/lang '; DROP TABLE user_prefs; --",
    "start_long_payload": "/start " + "a" * 64,
    "start_empty_invite": "/start inv_",
    "start_huge_invite": "/start inv_" + "x" * 300,
    "start_path_invite": "/start inv_../../etc/passwd",
    "start_sql_invite": "/start inv_' OR 1=1 --",
    "start_html_payload": "/start <script>",
    "start_emoji_payload": "/start 🙂",
    "start_rtl_payload": "/start \u202eabc",
    "start_two_payloads": "/start a b c",
    "unknown_command": "/frobnicate",
    "cancel_outside_flow": "/cancel",
    "bindoffice_in_private": "/bindoffice extra",
    "bindteam_with_id": "/bindteam -100123",
}
# Texts whose answer in a private chat is "do it elsewhere" or a menu: still an answer.
for key, text in TEXTS.items():
    case(f"text_{key}_joined", lambda c, t=text: c.updates.text(c.joined, t), "answer")
    case(f"text_{key}_stranger", lambda c, t=text: c.updates.text(c.stranger, t), "answer")


# --- group chats: one not bound, and the team chat; strangers get silence ----------------

GROUP_TEXTS = {
    "start": "/start",
    "help": "/help",
    "lang": "/lang",
    "bindoffice": "/bindoffice",
    "plain": "大家好",
    "sql": "'; DROP TABLE bound_chats; --",
    "other_bot": "/bindteam@otherbot",
}
for key, text in GROUP_TEXTS.items():
    case(
        f"group_{key}_stranger",
        lambda c, t=text: c.updates.text(c.stranger, t, chat_id=LOOSE_GROUP),
        "ignore",
    )
    case(
        f"group_{key}_joined",
        lambda c, t=text: c.updates.text(c.joined, t, chat_id=LOOSE_GROUP),
        "any",
        chat=LOOSE_GROUP,
    )
    case(
        f"teamchat_{key}_stranger",
        lambda c, t=text: c.updates.text(c.stranger, t, chat_id=TEAM_CHAT),
        "ignore",
    )
case(
    "group_bindteam_by_cadre",
    lambda c: c.updates.text(c.joined, "/bindteam", chat_id=LOOSE_GROUP),
    "answer",
    chat=LOOSE_GROUP,
)
case(
    "teamchat_bindteam_by_office",
    lambda c: c.updates.text(c.office, "/bindteam", chat_id=TEAM_CHAT),
    "answer",
    chat=TEAM_CHAT,
)
case(
    "teamchat_bindoffice_by_leader",
    lambda c: c.updates.text(c.leader, "/bindoffice", chat_id=TEAM_CHAT),
    "answer",
    chat=TEAM_CHAT,
)
case(
    "group_contact",
    lambda c: c.updates.contact(c.stranger, "+8613800000001", chat_id=LOOSE_GROUP),
    "ignore",
)
case(
    "group_photo",
    lambda c: c.updates.message(
        c.joined,
        LOOSE_GROUP,
        photo=[{"file_id": "p", "file_unique_id": "pu", "width": 1, "height": 1}],
    ),
    "ignore",
)


# --- button presses: forged, oversized, stale, foreign ---------------------------------

CALLBACKS: dict[str, str | None] = {
    "no_data": None,
    "empty": "",
    "one_char": "x",
    "max_bytes": "x" * 64,
    "over_64_bytes": "x" * 65,
    "huge": "x" * 5000,
    "cjk_64_bytes": "长" * 21,
    "cjk_over": "长" * 22,
    "lang_unknown": "lang:v1:set:fr",
    "lang_empty_arg": "lang:v1:set:",
    "lang_old_version": "lang:v0:set:en",
    "lang_future_version": "lang:v2:set:en",
    "lang_other_action": "lang:v1:get:en",
    "lang_no_action": "lang:v1",
    "lang_bare": "lang",
    "menu_unknown": "menu:v1:nope",
    "menu_extra": "menu:v1:help:extra",
    "menu_old_version": "menu:v0:help",
    "menu_empty_action": "menu:v1:",
    "colons": ":::",
    "newline": "menu:v1:help\n",
    "zero_width": "menu:v1:\u200bhelp",
    "rtl": "\u202emenu:v1:help",
    "problem_forged": "prb:v1:ack:1",
    "problem_negative": "prb:v1:ack:-1",
    "problem_overflow": "prb:v1:ack:99999999999999999999",
    "visit_forged": "vis:v1:submit:1",
    "sql": "'; DROP TABLE cadres; --",
    "html": "<b>x</b>",
    "emoji": "🙂",
    "json": '{"a":1}',
}
# Forged data goes on a real message of the presser's chat, as a modified client sends it.
for key, data in CALLBACKS.items():
    case(
        f"button_{key}_joined",
        lambda c, d=data: c.updates.callback(c.joined, d, message=c.lang_keyboard),
        "alert",
    )
    case(
        f"button_{key}_stranger",
        lambda c, d=data: c.updates.callback(c.stranger, d, message=c.stranger_message),
        "alert",
    )
# A message the bot no longer knows (deleted, or never there): nothing to edit.
case(
    "button_on_unknown_message",
    lambda c: c.updates.callback(c.joined, "menu:v1:nope"),
    "alert",
)

case(
    "button_in_group_forged",
    lambda c: c.updates.callback(c.joined, "prb:v1:take:7", chat_id=TEAM_CHAT),
    "alert",
)
case(
    "button_in_group_by_stranger",
    lambda c: c.updates.callback(c.stranger, "menu:v1:help", chat_id=TEAM_CHAT),
    "any",
    chat=TEAM_CHAT,
)
case(
    "button_inline_message",
    lambda c: {
        "callback_query": {
            "id": "inl1",
            "from": c.joined.as_dict(),
            "chat_instance": "x",
            "inline_message_id": "AAAA",
            "data": "menu:v1:help",
        }
    },
    "any",
)
case(
    "button_game",
    lambda c: {
        "callback_query": {
            "id": "game1",
            "from": c.stranger.as_dict(),
            "chat_instance": "x",
            "game_short_name": "snake",
        }
    },
    "alert",
)
# Someone else's keyboard: the language buttons the bot showed cadre1, pressed by others
# with cadre1's message (a forged update: Telegram shows a private chat to its owner only).
for who in ("stranger", "leader"):
    case(
        f"foreign_lang_button_{who}",
        lambda c, w=who: c.updates.callback(
            getattr(c, w), "lang:v1:set:en", message=c.lang_keyboard
        ),
        "any",
        may_change=("user_prefs", "cache_generations"),
        chat=JOINED_ID,
    )
# The codec does not check how many arguments an action has; the language handler reads
# the first one and takes the choice (noted in the report, harmless).
case(
    "button_lang_extra_arg",
    lambda c: c.updates.callback(c.joined, "lang:v1:set:en:extra", message=c.lang_keyboard),
    "any",
    may_change=("user_prefs", "cache_generations"),
)
case(
    "own_lang_button_twice_after_edit",
    lambda c: c.updates.callback(c.joined, "lang:v1:set:zh-CN", message=c.lang_keyboard),
    "answer",
    may_change=("user_prefs", "cache_generations"),
)


# --- contacts ---------------------------------------------------------------------------


def _contact(sender: str, phone: str, owner: str | int | None) -> Callable[[Cast], Update]:
    def build(c: Cast) -> Update:
        user: TgUser = getattr(c, sender)
        owner_id = getattr(c, owner).id if isinstance(owner, str) else owner
        if owner_id is None:
            return c.updates.message(user, contact={"phone_number": phone, "first_name": "某人"})
        return c.updates.contact(user, phone, owner_id=owner_id)

    return build


CADRE2 = "+8613800000002"
CONTACTS: list[tuple[str, str, str, str | int | None, str]] = [
    # name, sender, phone, owner of the contact, expect
    ("someone_elses_by_stranger", "stranger", CADRE2, 12345, "answer"),
    ("someone_elses_by_joined", "joined", CADRE2, 12345, "answer"),
    ("vcard_without_user", "stranger", CADRE2, None, "answer"),
    ("joined_cadres_number_by_stranger", "stranger", "+8613800000001", "stranger", "answer"),
    ("joined_shares_other_cadres_number", "joined", CADRE2, "joined", "answer"),
    ("stranger_not_on_roster", "stranger", "+8613999999999", "stranger", "answer"),
    ("garbage_letters", "stranger", "call me", "stranger", "answer"),
    ("empty_phone", "stranger", "", "stranger", "answer"),
    ("plus_only", "stranger", "+", "stranger", "answer"),
    ("thirty_zeros", "stranger", "0" * 30, "stranger", "answer"),
    ("sql_phone", "stranger", "'; DELETE FROM cadres; --", "stranger", "answer"),
    ("rtl_phone", "stranger", "\u202e13800000003", "stranger", "answer"),
    ("foreign_number", "stranger", "+14155550100", "stranger", "answer"),
    ("leader_number_by_office", "office", "+8613800000021", "office", "answer"),
]
for name, sender, phone, owner, expect in CONTACTS:
    case(f"contact_{name}", _contact(sender, phone, owner), expect)


# --- update shapes the bot has no business with ----------------------------------------


def _raw(kind: str, payload: Callable[[Cast], dict[str, Any]]) -> Callable[[Cast], Update]:
    return lambda c: {kind: payload(c)}


def _chat_member(c: Cast, status: str) -> dict[str, Any]:
    bot_user = {"id": 7000001, "is_bot": True, "first_name": "Fieldbot"}
    return {
        "chat": {"id": LOOSE_GROUP, "type": "supergroup", "title": "g"},
        "from": c.stranger.as_dict(),
        "date": 1,
        "old_chat_member": {"user": bot_user, "status": "left"},
        "new_chat_member": {"user": bot_user, "status": status, "until_date": 0},
    }


# An edit is never new input (issue 12 #4): in private a hint to send it again, in a group
# silence; nothing changes either way.
case("edited_text", lambda c: c.updates.edited(c.joined, "改过的话"), "answer")
case("edited_command", lambda c: c.updates.edited(c.joined, "/help"), "answer")
case("edited_by_stranger", lambda c: c.updates.edited(c.stranger, "/start"), "answer")
case("edited_mute", lambda c: c.updates.edited(c.joined, "/mute 3d"), "answer")
case("edited_bindteam", lambda c: c.updates.edited(c.leader, "/bindteam", TEAM_CHAT), "ignore")
case(
    "edited_bindteam_elsewhere",
    lambda c: c.updates.edited(c.leader, "/bindteam", LOOSE_GROUP),
    "ignore",
)
case("edited_bindoffice", lambda c: c.updates.edited(c.office, "/bindoffice", TEAM_CHAT), "ignore")
case(
    "edited_summary_in_group", lambda c: c.updates.edited(c.office, "/summary", TEAM_CHAT), "ignore"
)
case("channel_post", lambda c: c.updates.channel_post(-100777, "频道消息"), "ignore")
case("channel_post_command", lambda c: c.updates.channel_post(-100777, "/start"), "ignore")
case("channel_post_bindteam", lambda c: c.updates.channel_post(-100777, "/bindteam"), "ignore")
case("update_with_nothing", lambda c: {}, "ignore")
case(
    "anonymous_admin_in_group",
    lambda c: {
        "message": {
            "message_id": 5,
            "date": 1,
            "chat": {"id": TEAM_CHAT, "type": "supergroup", "title": "t"},
            "sender_chat": {"id": TEAM_CHAT, "type": "supergroup", "title": "t"},
            "text": "/bindteam",
            "entities": [{"type": "bot_command", "offset": 0, "length": 9}],
        }
    },
    "ignore",
)
case("bot_added_to_group", _raw("my_chat_member", lambda c: _chat_member(c, "member")), "ignore")
case("bot_kicked", _raw("my_chat_member", lambda c: _chat_member(c, "kicked")), "ignore")
case(
    "new_members_message",
    lambda c: c.updates.message(c.stranger, LOOSE_GROUP, new_chat_members=[c.stranger.as_dict()]),
    "ignore",
)
case(
    "left_member_message",
    lambda c: c.updates.message(c.joined, LOOSE_GROUP, left_chat_member=c.joined.as_dict()),
    "ignore",
)
case(
    "inline_query",
    _raw(
        "inline_query",
        lambda c: {"id": "iq", "from": c.stranger.as_dict(), "query": "' OR 1=1", "offset": ""},
    ),
    "ignore",
)
case(
    "poll_answer",
    _raw(
        "poll_answer",
        lambda c: {
            "poll_id": "p",
            "user": c.joined.as_dict(),
            "option_ids": [],
            "option_persistent_ids": [],
        },
    ),
    "ignore",
)
case(
    "chat_join_request",
    _raw(
        "chat_join_request",
        lambda c: {
            "chat": {"id": TEAM_CHAT, "type": "supergroup", "title": "t"},
            "from": c.stranger.as_dict(),
            "user_chat_id": STRANGER_ID,
            "date": 1,
        },
    ),
    "ignore",
)
MEDIA: dict[str, dict[str, Any]] = {
    "photo": {"photo": [{"file_id": "p", "file_unique_id": "pu", "width": 1, "height": 1}]},
    "voice": {"voice": {"file_id": "v", "file_unique_id": "vu", "duration": 3}},
    "location": {"location": {"latitude": 30.0, "longitude": 114.0}},
    "document": {"document": {"file_id": "d", "file_unique_id": "du", "file_name": "x.exe"}},
    "sticker": {
        "sticker": {
            "file_id": "s",
            "file_unique_id": "su",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
    },
    "dice": {"dice": {"emoji": "🎲", "value": 6}},
    "caption_only_photo": {
        "photo": [{"file_id": "p", "file_unique_id": "pu", "width": 1, "height": 1}],
        "caption": "<b>' OR 1=1</b>" + "字" * 1100,
    },
}
for key, fields in MEDIA.items():
    case(f"media_{key}_joined", lambda c, f=fields: c.updates.message(c.joined, **f), "answer")
    case(f"media_{key}_stranger", lambda c, f=fields: c.updates.message(c.stranger, **f), "answer")
case(
    "message_from_a_bot",
    lambda c: c.updates.text(TgUser(777, "otherbot", None), "/start"),
    "any",
)


# --- odd profiles ------------------------------------------------------------------------

PROFILES: dict[str, TgUser] = {
    "no_language": TgUser(710, "无语言", None),
    "unknown_language": TgUser(711, "x", "xx"),
    "empty_language": TgUser(712, "x", ""),
    "traditional_chinese": TgUser(713, "x", "zh-TW"),
    "british_english": TgUser(714, "x", "en-GB"),
    "rtl_name": TgUser(715, "\u202eevil", "ar"),
    "zero_width_name": TgUser(716, "\u200b", "en"),
    "huge_name": TgUser(717, "名" * 64, "zh-hans"),
    "huge_id": TgUser(2**52, "x", "en"),
    "sql_name": TgUser(718, "'; DROP TABLE cadres; --", "en"),
}
for key, profile in PROFILES.items():
    case(f"profile_{key}_start", lambda c, p=profile: c.updates.text(p, "/start"), "answer")
    case(f"profile_{key}_help", lambda c, p=profile: c.updates.text(p, "/help"), "answer")
