"""bot/logs.py: the token and full phone numbers never reach a log line, however the
number is written and also inside an exception's traceback."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logs import RedactingFilter
from tests.crashrun import log_problems, phone_pattern
from tests.fakebot import TOKEN
from tests.scripts import phone_variants

PHONE = "+8613912345678"


@pytest.mark.parametrize("written", phone_variants(PHONE))
def test_every_way_of_writing_a_number_is_masked(written: str) -> None:
    clean = RedactingFilter([TOKEN]).redact(f"contact {{'phone_number': '{written}'}}")
    assert not phone_pattern(PHONE).search(clean), clean
    assert "5678" in clean  # the last four stay, to tell people apart


def test_timestamps_and_ids_are_left_alone() -> None:
    text = "2026-11-28 01:54:32,529 update 20000018 chat -1001234 date 1795831774"
    assert RedactingFilter([TOKEN]).redact(text) == text
    team_chat = "card sent to chat -1001234567890"  # a supergroup id is not a phone
    assert RedactingFilter([TOKEN]).redact(team_chat) == team_chat


def test_the_token_and_a_traceback_are_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([TOKEN]))
    log = logging.getLogger("test_logs")
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"GET /bot{TOKEN}/getMe for 139 1234 5678 failed")
        except RuntimeError:
            log.error("request to /bot%s failed", TOKEN, exc_info=True)
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback" in text and "<token>" in text
    assert log_problems(text, TOKEN, [PHONE], errors_too=False) == []


# --- issue 12 #12: with -v, every format of number, the webhook secret, invite codes ---

HOOK_SECRET = "k3Xq-9vT_2mPz8LwR4sNbY7cJd0FhGeA"
INVITE = "Zx9_Qm-4rT2pLk8w"


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("contact {'phone_number': '+44 7700 900123'}", "7700 900"),
        ("contact {'phone_number': '447700900123'}", "447700900"),
        ('{"contact": {"phone_number": "886912345678", "user_id": 5}}', "886912345"),
        ("text '+886 912 345 678' from 5", "912 345"),
        ("text '138.0000.0001' from 5", "138.0000"),
        ("text '(138)0000-0001' from 5", "(138)0000"),
        ("text '(138) 0000 0001' from 5", "(138) 0000"),
        ("text '+1 305 123 4567' from 5", "305 123"),
    ],
)
def test_numbers_of_any_format_are_masked(line: str, hidden: str) -> None:
    clean = RedactingFilter([TOKEN]).redact(line)
    assert hidden not in clean, clean
    assert "*" in clean


def test_the_webhook_secret_and_invite_codes_are_masked_at_every_level() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([TOKEN]))
    log = logging.getLogger("test_logs.levels")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):
            log.log(
                level,
                "Calling Bot API endpoint `setWebhook` with parameters `%s`",
                {"url": "https://bot.example.org/hook", "secret_token": HOOK_SECRET},
            )
            log.log(level, "Processing update %s", {"message": {"text": f"/start inv_{INVITE}"}})
            log.log(level, 'update {"text": "/start inv_%s"}', INVITE)
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert text.count("setWebhook") == 4 and text.count("/start inv_") == 8
    assert HOOK_SECRET not in text and INVITE not in text
    assert HOOK_SECRET[:8] not in text and INVITE[:6] not in text
