"""The queue's pure rules with plain values: pacing, quiet hours, cards, digests, back-off."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from campaign import delivery
from campaign.delivery import CardItem, DueItem
from campaign.pacing import Limits, Pacer, Window
from campaign.quiet import is_quiet, next_allowed, silent, waits_for_morning
from campaign.settings import SettingsError, load_settings, parse_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
NO_MARGIN = Limits(margin=0.0)


# --- windows and the pacer ----------------------------------------------------------------


def test_window_allows_limit_then_waits_for_the_oldest_to_expire() -> None:
    w = Window(3, 1.0)
    for t in (0.0, 0.1, 0.2):
        assert w.free(t) > 0
        w.take(t)
    assert w.free(0.3) == 0
    assert w.next_free(0.3) == pytest.approx(1.0)
    assert w.free(1.0) == 1  # the event at 0.0 left the window
    assert w.next_free(1.05) == pytest.approx(1.05)


def test_window_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Window(0, 1.0)
    with pytest.raises(ValueError):
        Window(1, 0.0)


def test_thirty_a_second_overall() -> None:
    p = Pacer(NO_MARGIN)
    for chat in range(1, 31):
        assert p.can_send(chat, 10.0)
        p.take(chat, 10.0)
    assert not p.can_send(31, 10.0)
    assert p.ready_at(31, 10.0) == pytest.approx(11.0)
    assert p.can_send(31, 11.0)


def test_one_a_second_per_chat() -> None:
    p = Pacer(NO_MARGIN)
    p.take(5, 0.0)
    assert not p.can_send(5, 0.5)
    assert p.can_send(6, 0.5)
    assert p.chat_ready_at(5, 0.5) == pytest.approx(1.0)


def test_twenty_a_minute_per_group() -> None:
    p = Pacer(NO_MARGIN)
    group = -100123
    for i in range(20):
        t = float(i)
        assert p.can_send(group, t), i
        p.take(group, t)
    assert p.group_free(group, 20.0) == 0
    assert not p.can_send(group, 20.0)
    assert p.ready_at(group, 20.0) == pytest.approx(60.0)
    assert p.group_free(group, 60.0) == 1
    # private chats have no minute window
    for i in range(25):
        p.take(7, float(i))
    assert p.can_send(7, 26.0)


def test_margin_widens_every_window() -> None:
    p = Pacer(Limits(margin=0.05))
    p.take(5, 0.0)
    assert not p.can_send(5, 1.0)
    assert p.can_send(5, 1.05)


def test_retry_after_pauses_that_chat_only() -> None:
    p = Pacer(NO_MARGIN)
    assert p.flood(5, 3.0, 0.0) is False
    assert not p.can_send(5, 2.9)
    assert p.can_send(6, 0.0)
    assert p.can_send(5, 3.0)


def test_429s_for_several_chats_at_once_pause_everything() -> None:
    p = Pacer(NO_MARGIN)
    assert p.flood(1, 2.0, 0.0) is False
    assert p.flood(2, 5.0, 0.2) is False
    assert p.flood(3, 1.0, 0.4) is True
    assert not p.can_send(99, 1.0)
    assert p.global_ready_at(1.0) == pytest.approx(5.2)  # the longest pause, from now


def test_429s_far_apart_stay_per_chat() -> None:
    p = Pacer(NO_MARGIN)
    p.flood(1, 1.0, 0.0)
    p.flood(2, 1.0, 2.0)
    assert p.flood(3, 1.0, 4.0) is False
    assert p.can_send(99, 4.0)


def test_forgetting_idle_chats_keeps_limits() -> None:
    p = Pacer(NO_MARGIN)
    p.take(5, 0.0)
    p.forget_idle(0.5)
    assert not p.can_send(5, 0.5)  # still in its window, not forgotten
    p.forget_idle(2.0)
    assert p.can_send(5, 2.0)


# --- quiet hours --------------------------------------------------------------------------

START, END = time(21, 30), time(7, 30)


def local(h: int, m: int = 0, day: int = 16) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("t", "quiet"),
    [
        (time(21, 29), False),
        (time(21, 30), True),
        (time(23, 59), True),
        (time(0, 0), True),
        (time(7, 29), True),
        (time(7, 30), False),
        (time(12, 0), False),
    ],
)
def test_quiet_window_crosses_midnight(t: time, quiet: bool) -> None:
    assert is_quiet(t, START, END) is quiet


def test_daytime_window_and_no_window() -> None:
    assert is_quiet(time(13, 0), time(12, 0), time(14, 0))
    assert not is_quiet(time(15, 0), time(12, 0), time(14, 0))
    assert not is_quiet(time(3, 0), time(0, 0), time(0, 0))


def test_next_allowed_outside_quiet_hours_is_now() -> None:
    now = local(9)
    assert next_allowed(now, SHANGHAI, START, END) == now


def test_next_allowed_in_the_evening_is_tomorrow_morning() -> None:
    assert next_allowed(local(22), SHANGHAI, START, END) == local(7, 30, day=17)


def test_next_allowed_after_midnight_is_this_morning() -> None:
    assert next_allowed(local(2), SHANGHAI, START, END) == local(7, 30)


def test_next_allowed_refuses_naive_time() -> None:
    with pytest.raises(ValueError):
        next_allowed(datetime(2026, 11, 16, 22, 0), SHANGHAI, START, END)


@pytest.mark.parametrize(
    ("key", "urgent", "waits"),
    [
        ("nudge:7:2026-11-16", False, True),
        ("bulletin:2026-W47", False, True),
        ("deadline:9:group:red:501", True, False),  # urgent rings at any hour
        ("problem:9:ev:1:card:-100", False, False),  # a card someone raised goes now
        ("problem:9:ev:2:reporter:501", False, False),
        ("digest:-100:1:9", False, False),
    ],
)
def test_only_scheduled_items_wait_for_the_morning(key: str, urgent: bool, waits: bool) -> None:
    assert waits_for_morning(key, urgent) is waits


def test_quiet_hours_silence_all_but_urgent() -> None:
    assert silent(True, False) and not silent(True, True) and not silent(False, False)


# --- back-off -----------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [delivery.backoff(n, 2.0, 30.0) for n in range(0, 7)] == [0, 2, 4, 8, 16, 30, 30]
    assert delivery.backoff(10_000, 2.0, 300.0) == 300.0
    assert delivery.should_park(8, 8) and not delivery.should_park(7, 8)


def test_only_edits_may_be_repeated() -> None:
    assert delivery.is_idempotent("editMessageText")
    assert delivery.is_idempotent("editMessageReplyMarkup")
    for m in ("sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup"):
        assert not delivery.is_idempotent(m)


# --- cards --------------------------------------------------------------------------------

KB1 = {"inline_keyboard": [[{"text": "认领", "callback_data": "prb:v1:take:1"}]]}
KB2 = {"inline_keyboard": [[{"text": "解决", "callback_data": "prb:v1:solve:1"}]]}


def test_pending_edits_fold_into_a_pending_create() -> None:
    plan = delivery.collapse_card(
        [
            CardItem(1, "sendMessage", {"text": "A", "reply_markup": KB1, "protect_content": True}),
            CardItem(2, "editMessageText", {"text": "B", "reply_markup": KB1}),
            CardItem(3, "editMessageText", {"text": "C", "reply_markup": KB2}, urgent=True),
        ]
    )
    assert plan.superseded == [2, 3]
    [rw] = plan.rewrites
    assert rw.id == 1 and rw.method == "sendMessage" and rw.urgent
    assert rw.payload == {"text": "C", "reply_markup": KB2, "protect_content": True}


def test_text_edit_without_keyboard_removes_it() -> None:
    plan = delivery.collapse_card(
        [
            CardItem(1, "sendMessage", {"text": "A", "reply_markup": KB1}),
            CardItem(2, "editMessageText", {"text": "closed"}),
        ]
    )
    assert plan.rewrites[0].payload == {"text": "closed"}


def test_edits_fold_into_a_parked_create() -> None:
    plan = delivery.collapse_card(
        [
            CardItem(1, "sendMessage", {"text": "A"}, status="parked"),
            CardItem(2, "editMessageText", {"text": "B"}),
        ]
    )
    assert plan.superseded == [2]
    assert plan.rewrites[0].id == 1 and plan.rewrites[0].payload == {"text": "B"}


def test_older_edits_are_superseded_by_the_newest() -> None:
    plan = delivery.collapse_card(
        [
            CardItem(4, "editMessageText", {"text": "B", "reply_markup": KB1}),
            CardItem(5, "editMessageText", {"text": "C", "reply_markup": KB1}),
            CardItem(6, "editMessageReplyMarkup", {"reply_markup": KB2}),
        ]
    )
    assert plan.superseded == [4, 5]
    [rw] = plan.rewrites
    assert (rw.id, rw.method) == (6, "editMessageText")
    assert rw.payload == {"text": "C", "reply_markup": KB2}


def test_markup_edits_alone_keep_the_newest() -> None:
    plan = delivery.collapse_card(
        [
            CardItem(4, "editMessageReplyMarkup", {"reply_markup": KB1}),
            CardItem(5, "editMessageReplyMarkup", {"reply_markup": KB2}),
        ]
    )
    assert plan.superseded == [4]
    assert plan.rewrites[0].method == "editMessageReplyMarkup"
    assert plan.rewrites[0].payload == {"reply_markup": KB2}


def test_a_single_edit_needs_nothing() -> None:
    assert delivery.collapse_card([CardItem(4, "editMessageText", {"text": "B"})]).empty


def test_a_newer_create_replaces_older_unsent_ones_and_their_edits() -> None:
    plan = delivery.collapse_card(
        [
            CardItem(1, "sendMessage", {"text": "old"}),
            CardItem(2, "editMessageText", {"text": "old2"}),
            CardItem(3, "sendMessage", {"text": "new"}),
        ]
    )
    assert plan.superseded == [1, 2] and not plan.rewrites


def test_parked_edits_are_left_alone() -> None:
    plan = delivery.collapse_card(
        [
            CardItem(4, "editMessageText", {"text": "B"}, status="parked"),
            CardItem(5, "editMessageText", {"text": "C"}),
        ]
    )
    assert plan.empty


def test_edit_as_create() -> None:
    assert delivery.edit_as_create({"text": "B", "reply_markup": KB1}) == {
        "text": "B",
        "reply_markup": KB1,
    }
    assert delivery.edit_as_create({"reply_markup": KB1}) is None


# --- digests ------------------------------------------------------------------------------


def due(n: int, start: int = 1) -> list[DueItem]:
    return [DueItem(i, True) for i in range(start, start + n)]


def test_nothing_folds_while_it_fits() -> None:
    assert delivery.plan_digest(due(20), 20) == (list(range(1, 21)), [])


def test_surplus_folds_into_one_digest() -> None:
    kept, folded = delivery.plan_digest(due(25), 20)
    assert kept == list(range(1, 20))  # 19 alone, the digest is the 20th
    assert folded == list(range(20, 26))


def test_nothing_folds_without_a_free_send() -> None:
    assert delivery.plan_digest(due(5), 0) == ([1, 2, 3, 4, 5], [])


def test_a_digest_of_one_is_not_worth_it() -> None:
    kept, folded = delivery.plan_digest([DueItem(1, False), DueItem(2, True)], 1)
    assert folded == [] and kept == [1, 2]
    kept, folded = delivery.plan_digest(due(3), 2)
    assert kept == [1] and folded == [2, 3]


def test_photos_and_edits_are_never_folded_and_urgent_stay() -> None:
    items = [DueItem(1, False), DueItem(2, True), DueItem(3, True), DueItem(4, True, urgent=True)]
    kept, folded = delivery.plan_digest(items + due(3, start=5), 3)
    assert 1 in kept and 4 in kept
    assert folded == [2, 3, 5, 6, 7]


def test_foldable() -> None:
    assert delivery.foldable("sendMessage", {"text": "hi"})
    assert not delivery.foldable("sendMessage", {"text": "  "})
    assert not delivery.foldable("sendPhoto", {"caption": "hi"})
    assert not delivery.foldable("editMessageText", {"text": "hi"})


def test_digest_text_shortens_and_stays_under_the_limit() -> None:
    text = delivery.digest_text("H", ["问题\n  很长" * 100, "短"], "+{count}", line_chars=20)
    lines = text.split("\n")
    assert lines[0] == "H" and lines[2] == "2. 短"
    assert len(lines[1]) <= 23 and lines[1].endswith("…")
    long = delivery.digest_text("H", ["x" * 100] * 200, "+{count}", max_chars=1000)
    assert len(long) <= 1000
    assert long.split("\n")[-1].startswith("+")


def test_shorten() -> None:
    assert delivery.shorten("  a \n b  ", 10) == "a b"
    assert delivery.shorten("abcdef", 4) == "abc…"


def test_plain_text_strips_html_for_digests() -> None:
    payload = {"text": "<b>P-45</b> 东风村 &amp; 红旗村", "parse_mode": "HTML"}
    assert delivery.plain_text(payload) == "P-45 东风村 & 红旗村"
    assert delivery.plain_text({"text": "<b>as is</b>"}) == "<b>as is</b>"


def test_outbox_settings_are_validated() -> None:
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    assert load_settings(example).outbox.max_attempts == 8
    for key, value in (("max_attempts", 0), ("chat_interval_seconds", 0.0), ("poll_seconds", -1.0)):
        with pytest.raises(SettingsError, match=key):
            parse_settings({"outbox": {key: value}}, "c.toml")
    with pytest.raises(SettingsError, match="max_send_failures"):
        parse_settings({"problems": {"max_send_failures": 8}}, "c.toml")
